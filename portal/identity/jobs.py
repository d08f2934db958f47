"""Identity housekeeping: forget expired token bookkeeping (share receipts stay)."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from sqlalchemy import delete

from portal import clock
from portal.extensions import db
from portal.identity.models import IssuedToken, TokenUse
from portal.jobs import periodic_task

# Kept a day past expiry: a verifier with a slow clock still gets "expired", not "unknown".
GRACE = timedelta(days=1)


@periodic_task(crontab(minute="20", hour="18"))  # 02:20 in China
def purge_expired_tokens() -> None:
    purge_expired()
    db.session.commit()


def purge_expired() -> int:
    """Delete the jti→child rows and replay-guard rows of tokens expired for over a day."""
    cutoff = clock.now() - GRACE
    issued = db.session.execute(delete(IssuedToken).where(IssuedToken.expires_at < cutoff)).rowcount
    db.session.execute(delete(TokenUse).where(TokenUse.expires_at < cutoff))
    return issued
