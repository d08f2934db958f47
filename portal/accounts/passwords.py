"""Password hashing behind one adapter (argon2id via argon2-cffi)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@cache
def _hasher_for(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


@cache
def _dummy_hash(time_cost: int, memory_cost: int) -> str:
    """A hash to verify against when the account does not exist (made once, not per request)."""
    return _hasher_for(time_cost, memory_cost).hash("not-a-real-password-0b7f")


def _parameters() -> tuple[int, int]:
    config = current_app.config
    return config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"]


def hash_password(password: str) -> str:
    return _hasher_for(*_parameters()).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; an unknown account costs one verification too, and fails.

    Exactly one argon2 verification either way, so timing does not tell which mobile
    numbers have accounts.
    """
    parameters = _parameters()
    try:
        matches = _hasher_for(*parameters).verify(password_hash or _dummy_hash(*parameters), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


MIN_LENGTH = 8
MIN_STAFF_LENGTH = 10  # staff passwords open every student record of a unit


@cache
def _common_passwords() -> frozenset[str]:
    lines = (Path(__file__).with_name("common_passwords.txt")).read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def weakness(password: str, *, is_staff: bool, personal: tuple[str, ...] = ()) -> str | None:
    """Why `password` is too weak ("short", "common", "personal"), or None if it will do.

    Checked locally: the common-password list ships with the portal, nothing is sent anywhere.
    """
    if len(password) < (MIN_STAFF_LENGTH if is_staff else MIN_LENGTH):
        return "short"
    lowered = password.lower()
    # "Password2026!" is "password" with decorations: strip trailing digits and symbols too.
    core = re.sub(r"[\d\W_]+$", "", lowered)
    if lowered in _common_passwords() or core in _common_passwords() or len(set(lowered)) <= 2:
        return "common"
    if any(part and part.lower() in lowered for part in personal if len(part) >= 4):
        return "personal"
    return None
