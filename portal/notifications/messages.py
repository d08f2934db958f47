"""Message kinds: registered once, with lazily translated subject and body templates.

Features register their own kinds from their own packages, at import time::

    register_message("transfer.approved", subject=_l("Transfer approved"),
                     body=_l("The transfer to %(school)s was approved."))

Templates use %(name)s placeholders filled from `notify(**params)`. They never name a
student or carry a number: say "your child" and link to the page instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class MessageKind:
    code: str
    subject: object  # a lazy string
    body: object
    # Turns stored params into display params in the reader's language (e.g. a code into
    # its label); params are stored as codes so each reader gets their own language.
    prepare: object = None

    def render(self, params: dict) -> tuple[str, str]:
        """Subject and body in the current language."""
        if self.prepare is not None:
            params = self.prepare(params)
        return str(self.subject) % params, str(self.body) % params


_KINDS: dict[str, MessageKind] = {}


def register_message(kind: str, *, subject, body, prepare=None) -> MessageKind:
    """Declare a message kind; registering the same code twice with other texts is a bug."""
    message = MessageKind(kind, subject, body, prepare)
    known = _KINDS.setdefault(kind, message)
    if known != message:
        raise ValueError(f"message kind {kind!r} is already registered with other texts")
    return known


def message_kind(kind: str) -> MessageKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise LookupError(f"unknown message kind {kind!r}: register_message() it first") from None


WEEKLY_DIGEST = register_message(
    "approvals.weekly_digest",
    subject=_l("Requests waiting for your unit"),
    body=_l("%(count)s requests are waiting for a decision by your unit. Please review them in the portal."),
)
