"""Verify a Xueji identity token: the one module relying parties also run offline.

It needs only PyJWT and `cryptography` (plus `transport.py` for QR texts): no portal, no
database. Keys and status lists are parsed once, when a `Verifier` is built; verifying a token
is then a signature check and a few comparisons. The portal uses the same class online, with
its own revocation and replay checks plugged in.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal.identity.transport import PREFIX, TransportError, unpack_parts

ALGORITHMS = ["EdDSA"]  # the only algorithm ever accepted: never taken from the token
MAX_TOKEN_LENGTH = 2048
CLOCK_LEEWAY_SECONDS = 5
PUBLIC_AUDIENCE = "public"


class TokenType(enum.StrEnum):
    """Every token has one purpose, named in its `typ` header (STYLE habit 6)."""

    CARD = "xj-card+jwt"  # the live card, for any verifier: random subject per token
    RELYING_PARTY = "xj-rp+jwt"  # the live card addressed to a registered relying party
    CERTIFICATE = "xj-cert+jwt"  # the registry certificate (学籍证明)
    STATUS_LIST = "statuslist+jwt"  # IETF OAuth Token Status List


PRESENTED_TYPES = frozenset({TokenType.CARD, TokenType.RELYING_PARTY, TokenType.CERTIFICATE})


class Check(enum.StrEnum):
    """The verifier's checklist, in the order it is shown."""

    SIGNATURE = "signature"
    KEY = "key"
    VALIDITY = "validity"
    REVOCATION = "revocation"
    AUDIENCE = "audience"


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


class Reason(enum.StrEnum):
    """Why a token was refused (stable codes: API clients and tests match on them)."""

    MALFORMED = "malformed"
    OVERSIZED = "oversized"
    WRONG_TYPE = "wrong_type"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ISSUER = "wrong_issuer"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_AUDIENCE = "wrong_audience"
    REVOKED = "revoked"
    STATUS_UNAVAILABLE = "status_unavailable"
    ALREADY_USED = "already_used"


# Which checklist line a refusal turns red.
_REASON_CHECK = {
    Reason.MALFORMED: Check.SIGNATURE,
    Reason.OVERSIZED: Check.SIGNATURE,
    Reason.WRONG_TYPE: Check.SIGNATURE,
    Reason.UNSUPPORTED_ALGORITHM: Check.SIGNATURE,
    Reason.UNKNOWN_KEY: Check.KEY,
    Reason.BAD_SIGNATURE: Check.SIGNATURE,
    Reason.WRONG_ISSUER: Check.SIGNATURE,
    Reason.NOT_YET_VALID: Check.VALIDITY,
    Reason.EXPIRED: Check.VALIDITY,
    Reason.REVOKED: Check.REVOCATION,
    Reason.STATUS_UNAVAILABLE: Check.REVOCATION,
    Reason.WRONG_AUDIENCE: Check.AUDIENCE,
    Reason.ALREADY_USED: Check.VALIDITY,
}
REQUIRED_CLAIMS = {
    TokenType.CARD: frozenset({"iss", "aud", "iat", "exp", "jti"}),
    TokenType.RELYING_PARTY: frozenset({"iss", "aud", "iat", "exp", "jti"}),
    TokenType.CERTIFICATE: frozenset({"iss", "aud", "iat", "exp", "jti", "status"}),
    TokenType.STATUS_LIST: frozenset({"iss", "sub", "iat", "exp", "status_list"}),
}


_NOT_CHECKED = dict.fromkeys(Check, Outcome.NOT_CHECKED)


@dataclass
class Verdict:
    """The checklist, the overall answer, and what the token disclosed when it is valid."""

    checks: dict[Check, Outcome] = field(default_factory=lambda: _NOT_CHECKED.copy())
    reason: Reason | None = None
    header: dict = field(default_factory=dict)
    claims: dict = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return self.reason is None

    def passed(self, check: Check) -> None:
        self.checks[check] = Outcome.PASSED

    def refuse(self, reason: Reason) -> Verdict:
        self.reason = reason
        self.checks[_REASON_CHECK[reason]] = Outcome.FAILED
        return self

    def as_dict(self) -> dict:
        return {
            "valid": self.is_valid,
            "reason": self.reason and str(self.reason),
            "checks": {str(check): str(outcome) for check, outcome in self.checks.items()},
            "type": self.header.get("typ"),
            "claims": self.claims if self.is_valid else {},
        }


def thumbprint(x: str) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an Ed25519 public key given as its `x`."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeySet:
    """Public keys by `kid`, parsed once from a JWKS document."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]):
        self.keys = dict(keys)

    @classmethod
    def from_jwks(cls, document: Mapping) -> KeySet:
        """Keep the Ed25519 keys whose `kid` is their RFC 7638 thumbprint; ignore the rest."""
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
                continue
            if jwk.get("kid") != thumbprint(jwk["x"]):
                continue
            keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        return cls(keys)


class StatusList:
    """A decoded status list (one bit per index: 1 = revoked), as the draft's `statuslist+jwt`."""

    def __init__(self, uri: str, issuer: str, bits: bytes, issued_at: int, expires_at: int | None):
        self.uri, self.issuer, self.bits = uri, issuer, bits
        self.issued_at, self.expires_at = issued_at, expires_at

    @classmethod
    def from_token(cls, token: str, keys: KeySet, *, now: float | None = None) -> StatusList:
        """Verify a status list token with `keys`; ValueError if it is not a valid one."""
        verdict = Verifier(keys, issuer=None, accepted_types={TokenType.STATUS_LIST}).verify(
            token, audience=None, now=now
        )
        if not verdict.is_valid:
            raise ValueError(f"status list refused: {verdict.reason}")
        claims = verdict.claims
        listing = claims.get("status_list") or {}
        if listing.get("bits") != 1 or not isinstance(listing.get("lst"), str):
            raise ValueError("status list refused: only 1-bit lists are understood")
        try:
            bits = zlib.decompress(b64url_decode(listing["lst"]))
        except (zlib.error, binascii.Error, ValueError) as error:
            raise ValueError("status list refused: damaged bit string") from error
        return cls(claims["sub"], claims["iss"], bits, claims["iat"], claims.get("exp"))

    def is_revoked(self, index: int) -> bool:
        """Bit `index` (least significant bit of byte 0 is index 0, as the draft says)."""
        byte, bit = divmod(index, 8)
        if not 0 <= byte < len(self.bits):
            raise IndexError(index)
        return bool(self.bits[byte] >> bit & 1)


def status_lists_checker(lists: Iterable[StatusList]) -> Callable[[dict], bool | None]:
    """A revocation check over saved status lists: None when the token names an unknown list."""
    by_uri = {status_list.uri: status_list for status_list in lists}

    def is_revoked(claims: dict) -> bool | None:
        reference = (claims.get("status") or {}).get("status_list") or {}
        status_list = by_uri.get(reference.get("uri"))
        index = reference.get("idx")
        if status_list is None or not isinstance(index, int):
            return None
        try:
            return status_list.is_revoked(index)
        except IndexError:
            return None

    return is_revoked


class Verifier:
    """Checks tokens against one key set, for one issuer; build once, verify many."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str | None,
        accepted_types: Iterable[str] = PRESENTED_TYPES,
        is_revoked: Callable[[dict], bool | None] | None = None,
        leeway: int = CLOCK_LEEWAY_SECONDS,
    ):
        self.keys = keys
        self.issuer = issuer
        self.accepted_types = frozenset(accepted_types)
        self.is_revoked = is_revoked
        self.leeway = leeway
        self._eddsa = jwt.PyJWS().get_algorithm_by_name(ALGORITHMS[0])
        self._headers: dict[bytes, dict] = {}

    def verify(self, token: str, *, audience: str | None, now: float | None = None) -> Verdict:
        """The verdict on `token` (compact JWS or XJ1 QR text) addressed to `audience`."""
        verdict = Verdict()
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            return verdict.refuse(Reason.OVERSIZED)
        token = token.strip()
        try:
            parsed = _parse_packed(token) if token.startswith(PREFIX) else _parse(token, self._headers)
        except TransportError:
            parsed = None
        if parsed is None:
            return verdict.refuse(Reason.MALFORMED)
        verdict.header = header = parsed.header
        typ, alg, kid = header.get("typ"), header.get("alg"), header.get("kid")
        if type(typ) is not str or type(alg) is not str or type(kid) is not str:
            return verdict.refuse(Reason.MALFORMED)
        if typ not in self.accepted_types:
            return verdict.refuse(Reason.WRONG_TYPE)
        if alg not in ALGORITHMS:
            return verdict.refuse(Reason.UNSUPPORTED_ALGORITHM)
        key = self.keys.keys.get(kid)
        if key is None:
            return verdict.refuse(Reason.UNKNOWN_KEY)
        verdict.passed(Check.KEY)
        # PyJWT's EdDSA algorithm, chosen by our list, never by the token's header.
        if not self._eddsa.verify(parsed.signing_input, key, parsed.signature):
            return verdict.refuse(Reason.BAD_SIGNATURE)
        payload = parsed.payload
        claims = _json_object(payload)
        if claims is None or not _has_required_claims(claims, REQUIRED_CLAIMS[typ]):
            return verdict.refuse(Reason.MALFORMED)
        if self.issuer is not None and claims["iss"] != self.issuer:
            return verdict.refuse(Reason.WRONG_ISSUER)
        verdict.passed(Check.SIGNATURE)
        verdict.claims = claims
        return self._check_claims(verdict, claims, audience, time.time() if now is None else now)

    def _check_claims(self, verdict: Verdict, claims: dict, audience: str | None, now: float) -> Verdict:
        if claims["iat"] > now + self.leeway or claims.get("nbf", 0) > now + self.leeway:
            return verdict.refuse(Reason.NOT_YET_VALID)
        if claims["exp"] <= now - self.leeway:
            return verdict.refuse(Reason.EXPIRED)
        verdict.passed(Check.VALIDITY)
        if "status" in claims or self.is_revoked is not None:
            revoked = self.is_revoked(claims) if self.is_revoked else None
            if revoked is None and "status" in claims:
                return verdict.refuse(Reason.STATUS_UNAVAILABLE)
            if revoked:
                return verdict.refuse(Reason.REVOKED)
            if revoked is False:
                verdict.passed(Check.REVOCATION)
        if audience is not None:
            if claims["aud"] != audience:
                return verdict.refuse(Reason.WRONG_AUDIENCE)
            verdict.passed(Check.AUDIENCE)
        return verdict


@dataclass(frozen=True)
class _Parsed:
    header: dict
    payload: bytes
    signing_input: bytes
    signature: bytes


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


# Every token one key signs for one purpose has the same header: decode each spelling once.
_HEADER_CACHE_SIZE = 64


def _parse(token: str, headers: dict[bytes, dict]) -> _Parsed | None:
    """Split a compact JWS strictly: three base64url segments, a JSON object header."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        return None
    segments = raw.split(b".")
    if len(segments) != 3:
        return None
    try:
        header = headers.get(segments[0])
        if header is None:
            header = _json_object(_b64decode(segments[0]))
            if header is None:
                return None
            if len(headers) < _HEADER_CACHE_SIZE:
                headers[segments[0]] = header
        payload, signature = _b64decode(segments[1]), _b64decode(segments[2])
    except binascii.Error:
        return None
    return _Parsed(header, payload, raw[: len(segments[0]) + len(segments[1]) + 1], signature)


def _parse_packed(text: str) -> _Parsed | None:
    """An XJ1 QR text: the same parts, without rebuilding and re-splitting the compact form."""
    header_bytes, payload, signature = unpack_parts(text)
    header = _json_object(header_bytes)
    if header is None:
        return None
    signing_input = base64.urlsafe_b64encode(header_bytes).rstrip(b"=") + b"."
    signing_input += base64.urlsafe_b64encode(payload).rstrip(b"=")
    return _Parsed(header, payload, signing_input, signature)


def _b64decode(segment: bytes) -> bytes:
    """Strict base64url: any character outside the alphabet is an error, not skipped."""
    standard = segment.translate(_URLSAFE_TO_STANDARD) + b"=" * (-len(segment) % 4)
    if b"+" in segment or b"/" in segment:
        raise binascii.Error("not base64url")
    return binascii.a2b_base64(standard, strict_mode=True)


def _json_object(payload: bytes) -> dict | None:
    try:
        claims = json.loads(payload)
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _has_required_claims(claims: dict, required: frozenset[str]) -> bool:
    return (
        required <= claims.keys()
        and type(claims["iat"]) is int
        and type(claims["exp"]) is int
        and type(claims.get("nbf", 0)) is int
        and isinstance(claims["iss"], str)
        and isinstance(claims.get("aud", ""), str)
    )
