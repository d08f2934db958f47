"""Password verification: one argon2 run whether or not the account exists."""

from unittest import mock

from portal.accounts import passwords


def test_a_matching_password_verifies(app):
    stored = passwords.hash_password("correct horse")
    assert passwords.verify_password(stored, "correct horse")
    assert not passwords.verify_password(stored, "wrong horse")


def test_an_unknown_account_costs_exactly_one_verification_and_no_hashing(app):
    passwords.verify_password(None, "warm the cache")
    hasher = passwords._hasher_for(*passwords._parameters())
    with (
        mock.patch.object(type(hasher), "hash", wraps=hasher.hash) as hashing,
        mock.patch.object(type(hasher), "verify", wraps=hasher.verify) as verifying,
    ):
        assert passwords.verify_password(None, "not-a-real-password-0b7f") is False
        stored = passwords.hash_password("x" * 10)
        hashing.reset_mock()
        verifying.reset_mock()
        assert passwords.verify_password(None, "anything") is False
        unknown = (hashing.call_count, verifying.call_count)
        verifying.reset_mock()
        assert passwords.verify_password(stored, "anything") is False
        known = (hashing.call_count, verifying.call_count)
    assert unknown == (0, 1)
    assert known == (0, 1)
