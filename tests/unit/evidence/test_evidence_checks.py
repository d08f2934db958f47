"""The content checks: the type comes from the bytes, images come out without metadata."""

import io

import pytest
from PIL import Image

from portal.errors import ValidationFailed
from portal.evidence.checks import JPEG, PDF, PNG, check_and_clean, sniff
from tests import evidence_files

LIMITS = {"max_pixels": 50_000_000, "max_megabytes": "10"}


def _metadata(data: bytes) -> dict:
    image = Image.open(io.BytesIO(data))
    return {"exif": dict(image.getexif()), "info": dict(image.info)}


def test_jpeg_with_gps_comes_out_without_any_metadata():
    original = evidence_files.jpeg_with_gps()
    assert 0x8825 in _metadata(original)["exif"], "the sample must carry a GPS block to prove anything"
    assert b"SyntheticPhone" in original and b"xmpmeta" in original
    checked = check_and_clean(original, **LIMITS)
    assert checked.content_type == JPEG
    assert _metadata(checked.data)["exif"] == {}
    assert b"SyntheticPhone" not in checked.data
    assert b"xmpmeta" not in checked.data and b"secret" not in checked.data
    assert Image.open(io.BytesIO(checked.data)).size == (320, 240)


def test_png_keeps_its_type_and_loses_text_and_exif():
    original = evidence_files.png_with_metadata()
    assert b"Author" in original
    checked = check_and_clean(original, **LIMITS)
    assert checked.content_type == PNG
    assert b"Author" not in checked.data and b"eXIf" not in checked.data
    assert _metadata(checked.data)["exif"] == {}


def test_heic_from_a_phone_becomes_a_jpeg_without_location():
    original = evidence_files.heic_with_gps()
    assert sniff(original[:32]) == "heif"
    checked = check_and_clean(original, **LIMITS)
    assert checked.content_type == JPEG
    assert sniff(checked.data[:32]) == "jpeg"
    assert _metadata(checked.data)["exif"] == {}


def test_pdf_is_kept_byte_for_byte():
    original = evidence_files.pdf(pages=2)
    checked = check_and_clean(original, **LIMITS)
    assert (checked.content_type, checked.data) == (PDF, original)


def test_a_huge_photo_is_scaled_to_the_longest_side_limit():
    checked = check_and_clean(evidence_files.jpeg_with_gps(size=(5000, 1000)), **LIMITS)
    assert Image.open(io.BytesIO(checked.data)).size == (4096, 819)


@pytest.mark.parametrize("name", sorted(set(evidence_files.lying_files()) - {"empty"}))
def test_lying_and_broken_files_are_refused_with_their_code(name):
    _filename, data, code = evidence_files.lying_files()[name]
    with pytest.raises(ValidationFailed) as refused:
        check_and_clean(data, **LIMITS)
    assert refused.value.code == code


def test_sniff_ignores_everything_but_the_bytes():
    assert sniff(b"%PDF-1.4") == "pdf"
    assert sniff(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff(b"\xff\xd8\xff\xdb") == "jpeg"
    assert sniff(b"\x00\x00\x00\x18ftypmp42") is None  # a video, not a HEIF image
    assert sniff(b"GIF89a") is None


def test_a_photo_taken_sideways_comes_out_upright_without_its_orientation_tag():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    checked = check_and_clean(out.getvalue(), **LIMITS)
    cleaned = Image.open(io.BytesIO(checked.data))
    assert cleaned.size == (240, 320) and dict(cleaned.getexif()) == {}
