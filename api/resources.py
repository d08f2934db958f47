"""Thin resources: parse, call the same services as the pages, dump with a schema."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from api import blueprint
from api.errors import problem_response
from api.schemas import (
    ChildDetailSchema,
    ChildSummarySchema,
    StaffStudentSchema,
    StudentSearchSchema,
)
from portal import forms
from portal.extensions import csrf
from portal.guardians.overview import child_overview, children_of
from portal.registry.service import history_of, read_student, search_students
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student

# Read-only JSON today; writes will authenticate with purpose-bound tokens, not forms.
csrf.exempt(blueprint)


@blueprint.before_request
def answer_unauthenticated_as_problem():
    """Unsigned calls get 401 problem+json instead of a redirect to the sign-in page."""
    view = current_app.view_functions.get(request.endpoint or "")
    permission = getattr(view, "required_permission", None)
    needs_sign_in = permission not in (None, Permission.PUBLIC)
    if needs_sign_in and not current_user.is_authenticated:
        return problem_response(401, "request.unauthenticated", str(_l("Please sign in first.")))
    return None


@blueprint.get("/me/children")
@requires(Permission.CHILDREN_READ)
def my_children():
    """List the signed-in guardian's linked children.
    ---
    get:
      summary: My linked children
      responses:
        200:
          description: OK
          content:
            application/json:
              schema:
                type: object
                properties:
                  children: {type: array, items: ChildSummarySchema}
        401:
          description: Not signed in (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    return jsonify(children=ChildSummarySchema(many=True).dump(children_of(current_user)))


@blueprint.get("/me/children/<int:student_id>")
@requires(Permission.CHILDREN_READ)
def my_child(student_id: int):
    """One linked child's record, cases and history.
    ---
    get:
      summary: One of my children
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: ChildDetailSchema}}
        404:
          description: Not found or not visible to you (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    overview = child_overview(get_visible_student(current_user, student_id))
    return jsonify(
        ChildDetailSchema().dump(
            {
                "child": overview["student"],
                "cases": overview["open_cases"] + overview["closed_cases"],
                "history": overview["history"],
            }
        )
    )


@blueprint.get("/students")
@requires(Permission.STUDENTS_READ)
def students():
    """Search the students under the staff member's unit.
    ---
    get:
      summary: Search students by exact student number or name prefix
      parameters:
        - {in: query, name: q, schema: {type: string}}
        - in: query
          name: cursor
          description: >-
            Keyset pagination: pass the previous page's `next_cursor` to get the next page
            (every page costs the same, however deep). Omit it for the first page.
          schema: {type: string, pattern: '^[1-9][0-9]{0,8}$'}
      responses:
        200:
          description: OK
          content: {application/json: {schema: StudentSearchSchema}}
        400:
          description: Bad input (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    query = request.args.get("q", "").strip()[:40]
    cursor = forms.query_int("cursor", default=None, minimum=1, maximum=forms.MAX_CURSOR)
    page = search_students(current_user, query, after=cursor)
    return jsonify(StudentSearchSchema().dump(page))


@blueprint.get("/students/<int:student_id>")
@requires(Permission.STUDENTS_READ)
def student(student_id: int):
    """One student's record and history (audited).
    ---
    get:
      summary: One student
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: StaffStudentSchema}}
        404:
          description: Not found or not visible to you (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    record = read_student(current_user, student_id)
    return jsonify(StaffStudentSchema().dump({"student": record, "history": history_of(record)}))


@blueprint.get("/openapi.json")
@requires(Permission.PUBLIC)
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    from api.openapi import build_spec

    return jsonify(build_spec())
