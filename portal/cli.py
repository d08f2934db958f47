"""Command-line verbs: `flask portal setup|serve`, `flask demo load`, `flask approvals timeouts`,
`flask outbox list|retry`, `flask audit chain|verify|expire`."""

from __future__ import annotations

import time
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup
from flask_migrate import upgrade

from portal.extensions import db

portal_cli = AppGroup("portal", help="Set up and run the portal.")
demo_cli = AppGroup("demo", help="Synthetic demo data.")
approvals_cli = AppGroup("approvals", help="The approvals engine's scheduled work.")
outbox_cli = AppGroup("outbox", help="E-mail and SMS waiting to leave, or that could not.")
audit_cli = AppGroup("audit", help="The tamper-evident audit trail (docs/audit.md).")


@portal_cli.command("setup")
@click.option("--students", default=5000, show_default=True, help="Demo size when empty.")
@click.option("--address", default="http://localhost:5000", show_default=True)
def setup(students: int, address: str) -> None:
    """Migrate the database, load demo data if it is empty, print how to sign in."""
    from portal.demo.generator import DEMO_SIGN_INS, generate, is_empty
    from portal.identity.keys import ensure_key

    upgrade()
    if ensure_key():
        db.session.commit()
        click.echo("Created the first identity signing key.")
    if is_empty():
        click.echo(f"Empty database: loading a demo province with {students} students …")
        summary = generate(students=students)
        db.session.commit()
        code = summary.binding_code
        click.echo(
            f"Demo binding code for the guardian: {code['code']} (child's birth date {code['birth_date']})"
        )
    click.echo(
        f"\n  Xueji Portal: {address}\n\n  Demo sign-ins (password for all: {DEMO_SIGN_INS[0].password}):"
    )
    for sign_in in DEMO_SIGN_INS:
        click.echo(f"    {sign_in.who:<26} {sign_in.login}")
    click.echo("")


@portal_cli.command("serve")
@click.option("--port", default=5000, show_default=True)
def serve(port: int) -> None:
    """Serve the portal with gunicorn and run the background job consumer beside it."""
    from portal.jobs.serve import serve as serve_both

    raise SystemExit(serve_both(port))


@demo_cli.command("load")
@click.option("--students", default=5000, show_default=True)
@click.option("--seed", default=2025, show_default=True)
def load(students: int, seed: int) -> None:
    """Fill an empty database with a synthetic province."""
    from portal.demo.generator import generate, is_empty

    if not is_empty():
        raise click.ClickException("The database already holds data; use an empty one.")
    started = time.perf_counter()
    summary = generate(students=students, seed=seed)
    db.session.commit()
    click.echo(
        f"{summary.schools} schools, {summary.students} students, "
        f"{summary.guardians} guardians, {summary.staff} staff accounts "
        f"in {time.perf_counter() - started:.1f} s"
    )


@approvals_cli.command("timeouts")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None)
def timeouts(today) -> None:
    """Apply each province's timeout policy to overdue steps (run daily)."""
    from portal.approvals.engine import process_timeouts

    day: date | None = today.date() if today else None
    report = process_timeouts(day, after_each=db.session.commit)
    db.session.commit()
    click.echo(
        f"auto-approved: {len(report.auto_approved)}, flagged overdue: {len(report.flagged_overdue)}, "
        f"refused: {len(report.refused)}"
    )


@outbox_cli.command("list")
@click.option("--state", default="failed", show_default=True, help="pending, sending, sent or failed")
@click.option("--limit", default=50, show_default=True)
def outbox_list(state: str, limit: int) -> None:
    """List outbox messages in one state (recipients masked)."""
    from sqlalchemy import select

    from portal.notifications.models import OutboxMessage
    from portal.registry.masking import mask_mobile

    query = select(OutboxMessage).where(OutboxMessage.state == state).order_by(OutboxMessage.id.desc())
    for message in db.session.scalars(query.limit(limit)):
        recipient = mask_mobile(message.recipient) if message.channel == "sms" else message.recipient
        click.echo(
            f"{message.id}\t{message.channel}\t{recipient}\tattempts={message.attempts}"
            f"\tcreated={message.created_at:%Y-%m-%d %H:%M}\t{message.last_error}"
        )


@outbox_cli.command("retry")
@click.argument("message_id", type=int)
def outbox_retry(message_id: int) -> None:
    """Send a failed (or stuck 'sending') message again, once you know it did not leave."""
    from portal.notifications.worker import requeue

    if requeue(message_id) is None:
        raise click.ClickException(f"No unsent outbox message {message_id}.")
    db.session.commit()
    click.echo(f"Message {message_id} queued again.")


@audit_cli.command("chain")
def audit_chain() -> None:
    """Link committed audit entries into the hash chain now (the job does it every minute)."""
    from portal.audit.jobs import chain_settled_entries

    run = chain_settled_entries()
    if run.was_locked_out:
        click.echo("another chain run holds the lock; it will link the rest")
    click.echo(f"chained {run.chained} entries in {run.batches} batches")
    if run.late_ids:
        click.echo(f"ALARM: entries committed after later ones were chained: {run.late_ids}", err=True)


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the whole chain; name the first broken entry (exit status 1 if any)."""
    from portal.audit.chain import verify_chain

    started = time.perf_counter()
    verdict = verify_chain()
    click.echo(f"{verdict.describe()} ({time.perf_counter() - started:.1f} s)")
    if not verdict.is_intact:
        raise SystemExit(1)


@audit_cli.command("expire")
def audit_expire() -> None:
    """Delete entries past AUDIT_RETENTION_DAYS, leaving a signed checkpoint."""
    from portal.audit.retention import expire_entries

    checkpoint = expire_entries()
    db.session.commit()
    if checkpoint is None:
        click.echo("nothing expired")
    else:
        click.echo(f"deleted {checkpoint.deleted_count} entries up to seq {checkpoint.upto_seq}")


def register_cli(app: Flask) -> None:
    from portal.identity.cli import identity_cli

    for group in (portal_cli, demo_cli, approvals_cli, outbox_cli, identity_cli, audit_cli):
        app.cli.add_command(group)
