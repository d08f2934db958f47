"""Import every model so that metadata (and Alembic) sees all tables."""

from portal.accounts.models import OneTimeCode, Passkey, User, UserSession, WebAuthnChallenge  # noqa: F401
from portal.approvals.models import Alert, Case, Step  # noqa: F401
from portal.audit.models import AuditEvent  # noqa: F401
from portal.evidence.models import Evidence  # noqa: F401
from portal.guardians.models import BindingCode, GuardianLink  # noqa: F401
from portal.identity.models import (  # noqa: F401
    Certificate,
    ClaimApproval,
    IssuedToken,
    RelyingParty,
    SigningKey,
    TokenUse,
    Verification,
)
from portal.notifications.models import InboxMessage, OutboxMessage  # noqa: F401
from portal.orgs.models import OrgUnit  # noqa: F401
from portal.oversight.models import DataExport, FamilyCopy, SecurityWarning, WarningThresholds  # noqa: F401
from portal.provinces.models import (  # noqa: F401
    CorrectionSetting,
    OfficialCalendarDay,
    ProvinceAccountRule,
    ProvinceRule,
    PublishedCalendarYear,
    TransferPeriod,
    TransferSetting,
)
from portal.registry.models import (  # noqa: F401
    DuplicateReview,
    FormerStudentNumber,
    Student,
    StudentHistory,
)
from portal.transfers.models import TransferArchive  # noqa: F401
