"""`flask identity keys create|list|retire` and `flask identity parties add|approve`."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal import clock
from portal.accounts.models import User
from portal.errors import DomainError
from portal.extensions import db

identity_cli = AppGroup("identity", help="Signing keys and relying parties of the digital identity.")
keys_cli = AppGroup("keys", help="Ed25519 signing keys (docs/identity.md: rotation).")
parties_cli = AppGroup("parties", help="Registered relying parties.")
identity_cli.add_command(keys_cli)
identity_cli.add_command(parties_cli)


def _commit_or_fail(action):
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.code}: {error.message}") from None
    db.session.commit()
    return result


@keys_cli.command("create")
@click.option("--now", "activate_now", is_flag=True, help="Sign at once (only for a first key).")
def create(activate_now: bool) -> None:
    """Publish a new key; it signs after IDENTITY_KEY_PUBLISH_SECONDS."""
    from portal.identity.keys import create_key

    key = _commit_or_fail(lambda: create_key(activate_now=activate_now))
    click.echo(f"{key.kid} published; signs from {key.activates_at.isoformat(timespec='seconds')}")


@keys_cli.command("list")
def list_keys() -> None:
    """Every key with its state (never the private half)."""
    from portal.identity.models import SigningKey

    now = clock.now()
    for key in db.session.scalars(select(SigningKey).order_by(SigningKey.created_at)):
        if key.retired_at:
            state = "retired"
        elif clock.aware(key.activates_at) > now:
            state = "published, not signing yet"
        else:
            state = "published, may sign"
        until = key.last_expiry_at and clock.aware(key.last_expiry_at).isoformat(timespec="seconds")
        click.echo(f"{key.kid}  {state}  last token expires {until or '-'}")


@keys_cli.command("retire")
@click.argument("kid")
def retire(kid: str) -> None:
    """Remove a key from the JWKS (refused while a token it signed is still valid)."""
    from portal.identity.keys import retire_key

    _commit_or_fail(lambda: retire_key(kid))
    click.echo(f"{kid} retired")


@parties_cli.command("add")
@click.argument("audience")
@click.argument("name")
def add_party(audience: str, name: str) -> None:
    """Register a relying party under its own audience."""
    from portal.identity.relying_parties import register

    _commit_or_fail(lambda: register(audience, name, None))
    click.echo(f"{audience} registered")


@parties_cli.command("approve")
@click.argument("audience")
@click.option("--registrar", required=True, help="user name of the approving county registrar")
@click.option("--claim", "claims", multiple=True, required=True, type=click.Choice(["name", "class"]))
@click.option("--purpose", required=True)
@click.option("--days", default=90, show_default=True)
def approve(audience: str, registrar: str, claims: tuple[str, ...], purpose: str, days: int) -> None:
    """Record a county registrar's approval of extra claims for a relying party."""
    from portal.identity.relying_parties import approve_claims, find

    party = find(audience)
    approver = db.session.scalar(select(User).where(User.username == registrar))
    if party is None or approver is None:
        raise click.ClickException("unknown relying party or registrar")
    until = clock.now() + timedelta(days=days)
    _commit_or_fail(
        lambda: approve_claims(party, list(claims), purpose=purpose, valid_until=until, approver=approver)
    )
    click.echo(f"{audience}: {', '.join(claims)} approved until {until.date()}")
