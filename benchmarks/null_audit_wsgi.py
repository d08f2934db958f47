"""The portal with a null audit writer: for benchmarks/audit.py only, never a deployment.

The comparison needs the same code path minus the audit write, and `record_event` is
imported by name where it is used, so each user module's reference is replaced here.
"""

from __future__ import annotations

import portal.registry.service as registry_service
from wsgi import app


class NullAuditWriter:
    """Accepts an event and writes nothing."""

    def __call__(self, tag, *, actor=None, student=None, case=None, **data):
        return None


registry_service.record_event = NullAuditWriter()

__all__ = ["app"]
