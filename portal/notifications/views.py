"""The inbox pages: the list (newest first), opening a message, marking all read."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from portal import forms
from portal.notifications.service import inbox_page, mark_all_read, read_message, render
from portal.security.permissions import Permission, requires

blueprint = Blueprint("inbox", __name__, url_prefix="/inbox")


@blueprint.get("/")
@requires(Permission.SIGNED_IN)
def index():
    before = forms.int_field("before", default=0, minimum=0) or None
    messages, next_before = inbox_page(current_user, before)
    return render_template(
        "notifications/inbox.html",
        messages=[(message, *render(message)) for message in messages],
        next_before=next_before,
        is_first_page=before is None,
    )


@blueprint.get("/<int:message_id>")
@requires(Permission.SIGNED_IN)
def open_message(message_id: int):
    """Opening a message marks it read and follows its link (or shows it on its own)."""
    message = read_message(current_user, message_id)
    if message.url and message.url.startswith("/") and not message.url.startswith("//"):
        return redirect(message.url)
    subject, body = render(message)
    return render_template("notifications/message.html", message=message, subject=subject, body=body)


@blueprint.post("/read-all")
@requires(Permission.SIGNED_IN)
def read_all():
    mark_all_read(current_user)
    return redirect(url_for("inbox.index"))


def unread_badge() -> int:
    """For the header of every signed-in page.

    The session check counted the unread messages in its own statement; a request that
    added or read a message since counts again, so the badge never lags.
    """
    from portal.extensions import db
    from portal.notifications.service import INBOX_CHANGED, unread_count

    if not current_user.is_authenticated:
        return 0
    counted = getattr(current_user, "unread_at_sign_in", None)
    if counted is not None and not db.session.info.get(INBOX_CHANGED):
        return counted
    return unread_count(current_user)
