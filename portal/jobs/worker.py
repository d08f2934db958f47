"""The consumer's entry point: `huey_consumer portal.jobs.worker.huey`.

Importing this module registers every task; a feature with tasks adds its module here.
"""

from portal.audit import jobs as audit_jobs  # noqa: F401
from portal.identity import jobs as identity_jobs  # noqa: F401
from portal.jobs import huey, schedule  # noqa: F401
from portal.notifications import worker  # noqa: F401
from portal.oversight import jobs as oversight_jobs  # noqa: F401
from portal.requests import reminders  # noqa: F401

__all__ = ["huey"]
