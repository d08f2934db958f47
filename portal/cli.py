"""Command-line verbs: `flask portal setup`, `flask demo load`, `flask approvals timeouts`."""

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


@portal_cli.command("setup")
@click.option("--students", default=5000, show_default=True, help="Demo size when empty.")
@click.option("--address", default="http://localhost:5000", show_default=True)
def setup(students: int, address: str) -> None:
    """Migrate the database, load demo data if it is empty, print how to sign in."""
    from portal.demo.generator import DEMO_SIGN_INS, generate, is_empty

    upgrade()
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


def register_cli(app: Flask) -> None:
    for group in (portal_cli, demo_cli, approvals_cli):
        app.cli.add_command(group)
