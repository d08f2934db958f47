"""Carry a compact JWS in a small QR code, losslessly (the offline verifier ships with this file).

A compact JWS is `b64(header).b64(payload).b64(signature)`: base64 text, which a QR code can
only hold in byte mode (8 bits a character). The QR text here is `XJ1:` followed by base45
(RFC 9285, QR alphanumeric mode, 5.5 bits a character) of the 64-byte signature and the header
and payload JSON, raw-deflated against a fixed dictionary of the JSON both always share — the
EU Digital COVID Certificate packs its CWT the same way (zlib + base45). Unpacking rebuilds the
very same compact JWS, so the signature is checked over exactly the bytes the issuer signed.

`DICTIONARY` is part of the `XJ1` format: never edit it; a new dictionary is a new prefix.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib

PREFIX = "XJ1:"
SIGNATURE_BYTES = 64  # Ed25519
MAX_JSON_BYTES = 4096  # a packed token never inflates beyond this (no zip bombs)
DICTIONARY = (
    b'"stg":"special""stg":"correctional""stg":"senior""stg":"junior"'
    b'{"alg":"EdDSA","kid":"","typ":"xj-cert+jwt"}{"alg":"EdDSA","kid":"","typ":"xj-rp+jwt"}'
    b'"status":{"status_list":{"idx":,"uri":"https://"}}'
    b'{"iss":"https://","aud":"public","iat":17,"exp":17,"jti":"","sub":"","enr":true,"sch":"'
    b'","stg":"primary","grd":}\n{"alg":"EdDSA","kid":"","typ":"xj-card+jwt"}\n{"iss":"https://'
)
_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
# Byte -> base45 value (0xFF for anything outside the alphabet), for bytes.translate.
_BASE45_TABLE = bytes(
    _BASE45.find(chr(byte)) % 256 if chr(byte) in _BASE45 else _INVALID for byte in range(256)
)


class TransportError(ValueError):
    """The text is neither a compact JWS nor a well-formed XJ1 QR text."""


def pack(compact_jws: str) -> str:
    """The QR text for a compact JWS."""
    try:
        header, payload, signature = (_b64decode(part) for part in compact_jws.split("."))
    except ValueError as error:
        raise TransportError("not a compact JWS") from error
    if len(signature) != SIGNATURE_BYTES or b"\n" in header:
        raise TransportError("not an Ed25519 compact JWS")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    body = deflate.compress(header + b"\n" + payload) + deflate.flush()
    return PREFIX + b45encode(signature + body)


def unpack(text: str) -> str:
    """The compact JWS a QR text carries (a compact JWS given as such is returned unchanged)."""
    text = text.strip()
    if not text.startswith(PREFIX):
        return text
    header, payload, signature = unpack_parts(text)
    return ".".join(_b64encode(part) for part in (header, payload, signature))


def unpack_parts(text: str) -> tuple[bytes, bytes, bytes]:
    """Header JSON, payload JSON and signature of an XJ1 QR text."""
    data = b45decode(text.strip()[len(PREFIX) :])
    signature, body = data[:SIGNATURE_BYTES], data[SIGNATURE_BYTES:]
    inflate = zlib.decompressobj(-15, zdict=DICTIONARY)
    try:
        joined = inflate.decompress(body, MAX_JSON_BYTES)
    except zlib.error as error:
        raise TransportError("damaged QR text") from error
    if len(signature) != SIGNATURE_BYTES or inflate.unconsumed_tail or not inflate.eof:
        raise TransportError("damaged or oversized QR text")
    header, separator, payload = joined.partition(b"\n")
    if not separator:
        raise TransportError("damaged QR text")
    return header, payload, signature


def b45encode(data: bytes) -> str:
    """RFC 9285 base45."""
    out = []
    for start in range(0, len(data) - 1, 2):
        value = data[start] * 256 + data[start + 1]
        value, c = divmod(value, 45)
        e, d = divmod(value, 45)
        out += (_BASE45[c], _BASE45[d], _BASE45[e])
    if len(data) % 2:
        e, c = divmod(data[-1], 45)
        out += (_BASE45[c], _BASE45[e])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285 base45; TransportError on anything else."""
    try:
        values = text.encode("ascii").translate(_BASE45_TABLE)
    except UnicodeEncodeError as error:
        raise TransportError("not base45") from error
    if _INVALID in values or len(values) % 3 == 1:
        raise TransportError("not base45")
    whole = len(values) - len(values) % 3
    numbers = [
        a + b * 45 + c * 2025
        for a, b, c in zip(values[0:whole:3], values[1:whole:3], values[2:whole:3], strict=True)
    ]
    if numbers and max(numbers) > 0xFFFF:
        raise TransportError("not base45")
    out = bytearray(struct.pack(f">{len(numbers)}H", *numbers))
    if whole < len(values):
        last = values[whole] + values[whole + 1] * 45
        if last > 0xFF:
            raise TransportError("not base45")
        out.append(last)
    return bytes(out)


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as error:
        raise TransportError("not base64url") from error


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
