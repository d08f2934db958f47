"""Xueji Portal (学籍服务门户)."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import ROOT, Config


def create_app(overrides: dict | None = None) -> Flask:
    """Build the portal: configuration, extensions, blueprints, request hooks."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    # Before anything creates the Jinja environment (portal/templating.py).
    from portal.templating import LanguageEnvironment, TranslatedLiterals

    app.jinja_environment = LanguageEnvironment
    app.jinja_options = {**app.jinja_options, "extensions": [TranslatedLiterals]}
    app.config.from_object(Config(overrides))
    app.config.update(overrides or {})
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from portal import web

    web.init_extensions(app)
    web.register_blueprints(app)
    web.register_request_hooks(app)
    web.register_error_handlers(app)
    web.register_template_helpers(app)

    from portal.cli import register_cli
    from portal.requests import register_request_kinds

    register_cli(app)
    register_request_kinds()
    return app
