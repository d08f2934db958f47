"""Domain errors with stable codes.

Every rule a service refuses is a ``DomainError`` subclass instance carrying a
stable ``code`` (what tests and API clients match on) and a lazily translated
message (what people read). Pages flash the message; the API renders
problem+json with the code.
"""

from __future__ import annotations

from flask_babel import lazy_gettext


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    status = 422

    def __init__(
        self,
        code: str,
        message,
        *,
        status: int | None = None,
        keep_bookkeeping: bool = False,
        **params,
    ):
        super().__init__(code)
        self.code = code
        # True when the service counted the refusal (failed attempts, audit) and that count
        # must be committed although the request itself changed nothing.
        self.keep_bookkeeping = keep_bookkeeping
        self._message = message
        self.params = params
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        text = str(self._message)
        return text % self.params if self.params else text

    def __repr__(self) -> str:
        return f"<DomainError {self.code}>"


class ValidationFailed(DomainError):
    """Input has the wrong shape (bad check digit, impossible date...)."""

    status = 400


class NotFound(DomainError):
    """The thing does not exist or lies outside the viewer's scope."""

    status = 404

    def __init__(self, code: str = "not_found", message=None):
        super().__init__(code, lazy_gettext("Not found.") if message is None else message)


class Conflict(DomainError):
    """The request collides with the current state (duplicate, already decided)."""

    status = 409
