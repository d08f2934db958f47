"""Every audit event tag, named once (`subject:action`)."""

import enum


class AuditTag(enum.StrEnum):
    ACCOUNT_SIGNED_IN = "account:signed_in"
    ACCOUNT_SIGN_IN_FAILED = "account:sign_in_failed"
    ACCOUNT_SIGN_IN_REFUSED = "account:sign_in_refused"  # right password, sealed account
    ACCOUNT_SEALED = "account:sealed"
    ACCOUNT_SIGNED_OUT = "account:signed_out"
    STUDENT_CREATED = "student:created"
    STUDENT_VIEWED = "student:viewed"
    STUDENT_SEARCHED = "student:searched"
    STUDENT_DOCUMENT_REVEALED = "student:document_revealed"
    STUDENT_STATUS_CHANGED = "student:status_changed"
    STUDENT_FIELDS_CHANGED = "student:fields_changed"
    STUDENT_DUPLICATE_FLAGGED = "student:duplicate_flagged"
    BINDING_CODE_ISSUED = "binding_code:issued"
    BINDING_CODE_REVOKED = "binding_code:revoked"
    BINDING_CODE_FAILED = "binding_code:failed"
    GUARDIAN_LINKED = "guardian_link:created"
    GUARDIAN_LINK_REVOKED = "guardian_link:revoked"
    CASE_OPENED = "case:opened"
    STEP_APPROVED = "step:approved"
    STEP_REJECTED = "step:rejected"
    STEP_TIMED_OUT = "step:timed_out"
    STEP_OVERDUE = "step:overdue"
    CASE_APPROVED = "case:approved"
    CASE_REJECTED = "case:rejected"
    PROVINCE_SETTINGS_CHANGED = "province:settings_changed"
    CALENDAR_DAY_SET = "province:calendar_day_set"
    CALENDAR_YEAR_PUBLISHED = "province:calendar_year_published"
