"""The OpenAPI document, generated from the resources' docstrings and the schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app

from api import (
    corrections_schemas,
    identity_schemas,
    inbox_schemas,
    oversight_schemas,
    request_schemas,
    schemas,
    transfer_schemas,
)

DOCUMENTED_SCHEMAS = (
    schemas.ChildSummarySchema,
    schemas.ChildDetailSchema,
    schemas.StaffStudentSchema,
    schemas.StudentSearchSchema,
    schemas.ProblemSchema,
    inbox_schemas.InboxMessageSchema,
    inbox_schemas.InboxPageSchema,
    identity_schemas.VerifyRequestSchema,
    identity_schemas.VerdictSchema,
    *oversight_schemas.DOCUMENTED,
    request_schemas.CaseListSchema,
    request_schemas.CaseDetailSchema,
    request_schemas.QueuePageSchema,
    request_schemas.StepDetailSchema,
    request_schemas.AlertSchema,
    request_schemas.EarlyWarningSchema,
    request_schemas.EvidenceSchema,
    request_schemas.OpenCaseBody,
    request_schemas.ResubmitBody,
    request_schemas.WithdrawBody,
    request_schemas.DecisionBody,
    transfer_schemas.TransferApplySchema,
    transfer_schemas.TransferAcceptSchema,
    transfer_schemas.TransferDecisionSchema,
    transfer_schemas.PaperTransferSchema,
    transfer_schemas.SchoolSchema,
    transfer_schemas.TransferSchema,
    transfer_schemas.TransferStepSchema,
    transfer_schemas.TransferArchiveSchema,
    corrections_schemas.CorrectionRequestSchema,
    corrections_schemas.ResubmissionSchema,
    corrections_schemas.CorrectionDecisionSchema,
    corrections_schemas.CorrectionSchema,
)


def build_spec() -> dict:
    spec = APISpec(
        title="Xueji Portal API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Registry records for guardians and staff. Errors are "
            "application/problem+json with a stable `code`. No string may contain U+0000 "
            "(answered 400, `request.nul_character`)."
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
        _with_path_parameters(operations, rule.rule)
        spec.path(path=path, operations=_with_common_answers(operations, has_path_ids="{" in path))
    return spec.to_dict()


# Answers any operation may give (portal/web.py HTTP_ERRORS), documented once for all of them.
COMMON_ANSWERS = {
    401: "Not signed in",
    403: "Signed in, but this role may not do this",
    405: "Method not allowed; the `Allow` header lists those that are",
    413: "Request body too large",
    414: "Request line too long",
    429: "Too many requests",
}


# Answers that depend on the operation: any may refuse malformed input; one that names a
# thing by id may not find it (or not for this person); one that changes something may be
# refused by a rule of the registry (DomainError: 409 conflict, 422 refused).
BAD_INPUT = {400: "Malformed input (a stable `code` says which)"}
NOT_FOUND = {404: "No such thing, or not visible to this person"}
REFUSED = {
    409: "Refused: the request collides with the current state",
    422: "Refused by a rule of the registry (the `code` names it)",
}


def _with_common_answers(operations: dict, *, has_path_ids: bool) -> dict:
    problem = {"application/problem+json": {"schema": "ProblemSchema"}}
    for method, operation in operations.items():
        responses = operation.setdefault("responses", {})
        answers = {**BAD_INPUT, **COMMON_ANSWERS}
        if has_path_ids:
            answers.update(NOT_FOUND)
        if method.lower() not in ("get", "head"):
            answers.update(REFUSED)
        for status, description in answers.items():
            answer = {"description": f"{description} (problem+json)", "content": problem}
            if status == 405:
                answer["headers"] = {"Allow": {"schema": {"type": "string"}, "required": True}}
            responses.setdefault(status, answer)
        for status, response in responses.items():
            if int(status) >= 400:  # a refusal a docstring names is problem+json too
                response.setdefault("content", problem)
    return operations


def _with_path_parameters(operations: dict, flask_rule: str) -> None:
    """Declare each `<int:name>` of the rule as a required path parameter, unless the
    docstring declares it already (docstrings then say only what the rule cannot)."""
    names = re.findall(r"<(?:(\w+):)?(\w+)>", flask_rule)
    for operation in operations.values():
        parameters = operation.setdefault("parameters", [])
        declared = {p.get("name") for p in parameters if isinstance(p, dict) and p.get("in") == "path"}
        for converter, name in names:
            if name not in declared:
                schema = {"type": "integer" if converter == "int" else "string"}
                parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
        if not parameters:
            del operation["parameters"]


def _openapi_path(flask_rule: str) -> str:
    """'/students/<int:student_id>' -> '/students/{student_id}'."""
    parts = []
    for part in flask_rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            part = "{" + part[1:-1].split(":")[-1] + "}"
        parts.append(part)
    return "/".join(parts)
