import pytest

from tests.smtp import SmtpServer


@pytest.fixture
def smtp(app):
    """A real SMTP server the app is configured to use; not started (call `.start()`)."""
    server = SmtpServer()
    saved = {key: app.config[key] for key in server.config()}
    app.config.update(server.config())
    yield server
    server.stop()
    app.config.update(saved)
