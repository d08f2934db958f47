"""Dump schemas per audience: explicit fields, no database work, no rights checks."""

from __future__ import annotations

from marshmallow import Schema, fields

from portal import clock
from portal.registry.masking import mask_document_number, mask_record_values, mask_student_number


class AwareDateTime(fields.DateTime):
    """A moment with its time zone always written out (SQLite hands back naive UTC values)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else clock.aware(value).isoformat()


class SchoolSchema(Schema):
    code = fields.String()
    name = fields.String()
    stage = fields.String()


class StatusSchema(Schema):
    code = fields.Function(lambda s: s.status, metadata={"description": "registry status code"})
    label = fields.Function(lambda s: s.status_enum.label)


class StepSchema(Schema):
    position = fields.Integer()
    role = fields.String()
    unit = fields.Function(lambda step: step.org_unit.name)
    state = fields.String()
    due_on = fields.Date(allow_none=True)
    due_awaits_calendar_year = fields.Integer(
        allow_none=True,
        metadata={"description": "set when the deadline lies beyond the published calendar"},
    )
    reason = fields.String()


class CaseSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    opened_at = AwareDateTime()
    steps = fields.List(fields.Nested(StepSchema))


class HistoryEntrySchema(Schema):
    kind = fields.String()
    at = AwareDateTime()
    before = fields.Function(
        lambda entry: mask_record_values(entry.before),
        metadata={"type": "object", "description": "numbers masked"},
    )
    after = fields.Function(
        lambda entry: mask_record_values(entry.after),
        metadata={"type": "object", "description": "numbers masked"},
    )
    reason = fields.String()


class ChildSummarySchema(Schema):
    """What a guardian's home shows about each linked child."""

    id = fields.Integer()
    name = fields.String()
    student_number = fields.Function(lambda s: mask_student_number(s.student_number))
    school = fields.Nested(SchoolSchema)
    grade = fields.Integer()
    grade_label = fields.String()
    status = fields.Function(lambda s: StatusSchema().dump(s))


class ChildRecordSchema(ChildSummarySchema):
    class_name = fields.String()
    enrolled_on = fields.Date()
    document_type = fields.String()
    document_number = fields.Function(lambda s: mask_document_number(s.document_number))


class ChildDetailSchema(Schema):
    """One child: the record, every case about it, and its history."""

    child = fields.Nested(ChildRecordSchema)
    cases = fields.List(fields.Nested(CaseSchema))
    history = fields.List(fields.Nested(HistoryEntrySchema))


class StaffStudentSummarySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    # A G number embeds the ID number: masked like it, revealed only on the audited page.
    student_number = fields.Function(lambda s: mask_student_number(s.student_number))
    school = fields.Nested(SchoolSchema)
    grade = fields.Integer()
    class_name = fields.String()
    status = fields.String()
    needs_review = fields.Boolean()


class StaffStudentRecordSchema(StaffStudentSummarySchema):
    gender = fields.String()
    birth_date = fields.Date()
    ethnicity = fields.String()
    hukou_region_code = fields.String()
    enrolled_on = fields.Date()
    document_type = fields.String()
    document_number = fields.Function(
        lambda s: mask_document_number(s.document_number),
        metadata={"description": "masked; the full number is shown only on the audited page"},
    )


class StaffStudentSchema(Schema):
    student = fields.Nested(StaffStudentRecordSchema)
    history = fields.List(fields.Nested(HistoryEntrySchema))


class StudentSearchSchema(Schema):
    has_next = fields.Boolean()
    next_cursor = fields.Function(
        lambda page: None if page.next_cursor is None else str(page.next_cursor),
        allow_none=True,
        metadata={"description": "pass as `cursor` for the next page; null on the last page"},
    )
    students = fields.List(fields.Nested(StaffStudentSummarySchema))


class ProblemSchema(Schema):
    incident = fields.String(metadata={"description": "set on unexpected errors: quote it to the help desk"})
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String(metadata={"description": "stable error code"})
    detail = fields.String(metadata={"description": "message in the user's language"})
