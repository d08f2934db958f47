"""Import every model so that metadata (and Alembic) sees all tables."""

from portal.accounts.models import User  # noqa: F401
from portal.approvals.models import Alert, Case, Step  # noqa: F401
from portal.audit.models import AuditEvent  # noqa: F401
from portal.guardians.models import BindingCode, GuardianLink  # noqa: F401
from portal.orgs.models import OrgUnit  # noqa: F401
from portal.provinces.models import (  # noqa: F401
    OfficialCalendarDay,
    ProvinceRule,
    PublishedCalendarYear,
)
from portal.registry.models import DuplicateReview, Student, StudentHistory  # noqa: F401
