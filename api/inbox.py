"""The inbox as JSON: list (newest first, keyset-paginated) and mark one message read."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from api import blueprint
from api.inbox_schemas import InboxMessageSchema, InboxPageSchema
from portal import forms
from portal.notifications.service import inbox_page, read_message, render, unread_count
from portal.security.permissions import Permission, requires


def _rendered(message) -> dict:
    subject, body = render(message)
    return {"message": message, "subject": subject, "body": body}


@blueprint.get("/inbox")
@requires(Permission.SIGNED_IN)
def inbox():
    """The signed-in person's messages, in their language.
    ---
    get:
      summary: My messages, newest first
      parameters:
        - {in: query, name: before, description: "cursor: next_before of the previous page",
           schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: InboxPageSchema}}
        401:
          description: Not signed in (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    before = forms.int_field("before", default=0, minimum=0) or None
    messages, next_before = inbox_page(current_user, before)
    return jsonify(
        InboxPageSchema().dump(
            {
                "messages": [_rendered(message) for message in messages],
                "next_before": next_before,
                "unread": unread_count(current_user),
            }
        )
    )


@blueprint.post("/inbox/<int:message_id>/read")
@requires(Permission.SIGNED_IN)
def inbox_read(message_id: int):
    """Mark one of my messages read.
    ---
    post:
      summary: Mark a message read
      parameters:
        - {in: path, name: message_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: InboxMessageSchema}}
        404:
          description: Not found or not yours (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    return jsonify(InboxMessageSchema().dump(_rendered(read_message(current_user, message_id))))
