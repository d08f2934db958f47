"""Keep ID numbers and mobile numbers out of logs, whatever code tries to log them."""

from __future__ import annotations

import logging
import re

# 18-character ID-like numbers (a G/J/L student-number prefix is just a letter before them),
# 15-character permanent-residence numbers, travel permits and passports (one or two letters
# then 7–10 digits), and mobile numbers as people write them (+86, spaces, dashes).
# Digit runs are bounded by digits only: a number glued to letters ("id110101...X&", "tel13800138000")
# is still a number; an X right after 17 digits is the check character, whatever follows.
_SENSITIVE = re.compile(
    r"(?<!\d)(?:"
    r"[GJL]?\d{17}[\dXx]"
    r"|(?:\+?86[\s-]?)?1\d{2}[\s-]?\d{4}[\s-]?\d{4}"
    r")(?!\d)"
    r"|(?<![0-9A-Za-z])(?:[A-Z]{3}\d{12}|[A-Z]{1,2}\d{7,10})(?!\d)"
)


# Search terms in access-log request lines may be a child's name.
_QUERY_VALUES = re.compile(r"([?&](?:q|name)=)[^&\s\"]*")


def contains_sensitive_number(text: str) -> bool:
    """Whether `text` holds anything shaped like an ID, student, document or mobile number."""
    return _SENSITIVE.search(text) is not None


def scrub(text: str) -> str:
    return _QUERY_VALUES.sub(r"\1[redacted]", _SENSITIVE.sub("[redacted]", text))


class ScrubSensitiveNumbers(logging.Filter):
    """Redact numbers in the message and any traceback; drop SQLAlchemy's row dumps."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("sqlalchemy.engine") and record.levelno < logging.INFO:
            return False  # result rows are personal data: never written, whatever the level
        record.msg = scrub(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install_log_scrubber(logger: logging.Logger) -> None:
    """Attach the scrubber to `logger`'s handlers (filters on loggers skip propagated records)."""
    if not logger.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in logger.handlers:
        if not any(isinstance(f, ScrubSensitiveNumbers) for f in handler.filters):
            handler.addFilter(ScrubSensitiveNumbers())
