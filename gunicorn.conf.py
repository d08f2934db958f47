"""gunicorn settings read by every `gunicorn wsgi:app` started from this folder."""

# Access lines carry the path but never the query string: searches may hold a child's name
# or student number, and gunicorn's access logger does not pass through the portal's
# log scrubber (portal/logging_filters.py).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
