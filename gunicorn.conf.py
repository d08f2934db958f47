"""gunicorn settings read by every `gunicorn wsgi:app` started from this folder."""

from gunicorn.glogging import Logger

from portal.logging_filters import ScrubSensitiveNumbers

# Access lines carry the path but never the query string: searches may hold a child's name
# or student number.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


class ScrubbedLogger(Logger):
    """gunicorn's own error and access logs through the portal's scrubber.

    gunicorn writes a malformed request line verbatim ("Invalid request from ip=...:
    Invalid Request Line 'GET /x/<ID number> ...'"), outside the application's logging.
    """

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, ScrubSensitiveNumbers) for f in handler.filters):
                    handler.addFilter(ScrubSensitiveNumbers())


logger_class = ScrubbedLogger
