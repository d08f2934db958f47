"""`flask audit chain|verify|expire`: the operator's view of the chain."""

from __future__ import annotations

from sqlalchemy import select, text, update

from portal.audit.models import AuditEvent
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.extensions import db


def test_chain_then_verify_names_the_edited_entry(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHAIN_SETTLE_SECONDS", -3600)  # chain what was just written
    for n in range(3):
        record_event(AuditTag.STUDENT_SEARCHED, shown=[n], page=1)
    db.session.commit()
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    runner = app.test_cli_runner()
    chained = runner.invoke(args=["audit", "chain"])
    assert "chained 3 entries" in chained.output
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0 and "chain intact: 3 entries verified" in intact.output

    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    db.session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(tag="student:viewed"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"BROKEN at entry id={events[1].id}" in broken.output
