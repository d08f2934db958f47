"""RFC 9457 problem+json bodies with the domain error's stable code."""

from __future__ import annotations

from flask import jsonify


def problem_response(status: int, code: str, detail: str, incident: str | None = None):
    body = {
        "type": f"https://xueji.example/problems/{code}",
        "title": code,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if incident:
        body["incident"] = incident
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response
