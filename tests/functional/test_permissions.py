"""Every endpoint declares a permission; protected ones refuse the signed-out visitor."""

import pytest

from portal.security.permissions import Permission


def _endpoints(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def test_every_endpoint_declares_a_permission(app):
    undeclared = [
        rule.endpoint
        for rule in _endpoints(app)
        if not hasattr(app.view_functions[rule.endpoint], "required_permission")
    ]
    assert undeclared == []


def test_protected_endpoints_refuse_signed_out_visitors(app, client):
    for rule in _endpoints(app):
        view = app.view_functions[rule.endpoint]
        if view.required_permission is Permission.PUBLIC:
            continue
        url = rule.rule.replace("<int:", "<").split("<")[0].rstrip("/") or "/"
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "1")
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(path, method=method)
        assert response.status_code in (302, 400, 401), (url, response.status_code)
        if response.status_code == 302:
            assert "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("path", ["/sign-in", "/healthz", "/api/v1/openapi.json"])
def test_public_pages_answer_without_sign_in(client, path):
    assert client.get(path).status_code == 200
