"""The XJ1 QR text carries the compact JWS losslessly and refuses damage."""

from __future__ import annotations

import pytest

from portal.identity import tokens, transport


def test_base45_matches_rfc_9285_examples():
    assert transport.b45encode(b"AB") == "BB8"
    assert transport.b45encode(b"Hello!!") == "%69 VD92EX0"
    assert transport.b45encode(b"base-45") == "UJCLQE7W581"
    assert transport.b45decode("QED8WEX0") == b"ietf!"
    with pytest.raises(transport.TransportError):
        transport.b45decode("GGW")  # 65535 + 1 does not fit two bytes


def test_packing_round_trips_and_uses_the_alphanumeric_set(family):
    token = tokens.issue_card(family["child"]).token
    packed = transport.pack(token)
    assert packed.startswith("XJ1:") and set(packed[4:]) <= set(transport._BASE45)
    assert transport.unpack(packed) == token
    assert transport.unpack(token) == token  # a plain compact JWS passes through
    assert len(packed) < len(token)


def test_damaged_texts_are_refused():
    for damaged in ("XJ1:", "XJ1:abc", "XJ1:" + transport.b45encode(b"\x00" * 64 + b"junk")):
        with pytest.raises(transport.TransportError):
            transport.unpack(damaged)


def test_a_zip_bomb_is_refused():
    import zlib

    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, transport.DICTIONARY)
    bomb = deflate.compress(b"{}\n" + b"0" * 100_000) + deflate.flush()
    with pytest.raises(transport.TransportError):
        transport.unpack(transport.PREFIX + transport.b45encode(b"\x00" * 64 + bomb))
