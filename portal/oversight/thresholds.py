"""A province's early-warning thresholds (province settings, M-23), changed by its administrator."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.oversight.models import WarningThresholds
from portal.oversight.warnings import thresholds_for


@dataclass(frozen=True)
class Field:
    name: str
    label: object
    minimum: float
    maximum: float


FIELDS = (
    Field("reads_window_days", _l("Days of reading compared between peers"), 1, 90),
    Field("reads_mad_factor", _l("How many deviations above the peers' median is unusual"), 1, 50),
    Field("reads_minimum", _l("Records read before an account can be unusual"), 1, 100_000),
    Field(
        "walk_records",
        _l("Different records within the short time that count as walking through"),
        5,
        100_000,
    ),
    Field("walk_minutes", _l("The short time, in minutes"), 1, 1440),
    Field("failures_count", _l("Failed sign-ins that raise a warning"), 2, 1000),
    Field("failures_minutes", _l("…within this many minutes"), 1, 1440),
    Field("unusual_hour_history", _l("Sign-ins an account needs before its usual hours are known"), 1, 1000),
    Field("idle_days", _l("Days without use before a registrar with waiting requests is flagged"), 1, 60),
    Field("seal_notice_days", _l("Days of notice before an unused account is sealed"), 1, 90),
)


def set_thresholds(province, values: dict, actor) -> WarningThresholds:
    """Store the province's thresholds (every field, within its bounds); audited."""
    row = db.session.get(WarningThresholds, province.id) or thresholds_for(province.id)
    before = {field.name: getattr(row, field.name) for field in FIELDS}
    for field in FIELDS:
        value = values.get(field.name)
        if not isinstance(value, int | float) or not field.minimum <= value <= field.maximum:
            raise ValidationFailed(
                "warning.bad_threshold",
                _l("%(label)s: between %(minimum)s and %(maximum)s."),
                label=field.label,
                minimum=field.minimum,
                maximum=field.maximum,
            )
        setattr(row, field.name, value if field.name == "reads_mad_factor" else int(value))
    row.updated_by_id = actor.id
    db.session.add(row)
    after = {field.name: getattr(row, field.name) for field in FIELDS}
    record_event(AuditTag.PROVINCE_SETTINGS_CHANGED, actor=actor, kind="warnings", before=before, after=after)
    db.session.flush()
    return row
