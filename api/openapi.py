"""The OpenAPI document, generated from the resources' docstrings and the schemas."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app

from api import schemas

DOCUMENTED_SCHEMAS = (
    schemas.ChildSummarySchema,
    schemas.ChildDetailSchema,
    schemas.StaffStudentSchema,
    schemas.StudentSearchSchema,
    schemas.ProblemSchema,
)


def build_spec() -> dict:
    spec = APISpec(
        title="Xueji Portal API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Registry records for guardians and staff. Errors are "
            "application/problem+json with a stable `code`."
        },
        servers=[{"url": "/api/v1"}],
    )
    for schema in DOCUMENTED_SCHEMAS:
        spec.components.schema(schema.__name__.removesuffix("Schema") + "Schema", schema=schema)
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi_document":
            continue
        view = current_app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        path = _openapi_path(rule.rule.removeprefix("/api/v1"))
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _openapi_path(flask_rule: str) -> str:
    """'/students/<int:student_id>' -> '/students/{student_id}'."""
    parts = []
    for part in flask_rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            part = "{" + part[1:-1].split(":")[-1] + "}"
        parts.append(part)
    return "/".join(parts)
