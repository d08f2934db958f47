"""Password hashing behind one adapter (argon2id via argon2-cffi)."""

from __future__ import annotations

from functools import cache

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
