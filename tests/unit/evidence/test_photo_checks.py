"""The registry photo's own checks on top of the evidence checks: a photo, upright, big enough;
kept as a JPEG without metadata."""

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal.errors import ValidationFailed
from portal.evidence import checks
from portal.evidence.models import Evidence
from portal.evidence.photo import MAX_HEIGHT, MIN_HEIGHT, MIN_WIDTH, check_shape, clean_photo, store_photo
from portal.extensions import db
from tests import evidence_files
from tests.factories import make_guardian


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_portrait_jpeg_is_kept_upright_without_any_metadata(app):
    original = evidence_files.portrait_with_gps()
    assert 0x8825 in dict(_image(original).getexif()), "the sample must carry a GPS block"
    checked = clean_photo(original)
    assert checked.content_type == checks.JPEG
    assert dict(_image(checked.data).getexif()) == {}
    assert b"SyntheticPhone" not in checked.data and b"secret" not in checked.data
    assert _image(checked.data).size == (413, 531)


def test_a_large_photo_is_scaled_down_and_a_png_becomes_a_jpeg_on_white(app):
    big = clean_photo(evidence_files.portrait_with_gps(size=(2400, 3200)))
    assert _image(big.data).size == (900, MAX_HEIGHT)
    png = clean_photo(evidence_files.portrait_png_with_alpha())
    assert png.content_type == checks.JPEG and _image(png.data).format == "JPEG"
    assert _image(png.data).getpixel((5, 5))[0] > 240  # the transparent corner is white


def test_a_heic_photo_becomes_a_jpeg(app):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (400, 520), (90, 120, 200)).save(out, format="HEIF")
    checked = clean_photo(out.getvalue())
    assert checked.content_type == checks.JPEG and _image(checked.data).size == (400, 520)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (evidence_files.jpeg_with_gps(size=(640, 480)), "photo.not_portrait"),  # landscape
        (evidence_files.jpeg_with_gps(size=(500, 500)), "photo.not_portrait"),  # square
        (evidence_files.jpeg_with_gps(size=(400, 1000)), "photo.not_portrait"),  # a strip
        (evidence_files.jpeg_with_gps(size=(200, 250)), "photo.too_small"),
        (evidence_files.pdf(), "photo.not_a_photo"),
    ],
    ids=["landscape", "square", "strip", "too small", "pdf"],
)
def test_what_cannot_be_a_registry_photo_is_refused_with_its_code(app, data, code):
    with pytest.raises(ValidationFailed) as refused:
        clean_photo(data)
    assert refused.value.code == code


@pytest.mark.parametrize("name", [*evidence_files.lying_files(), "oversized"])
def test_lying_broken_and_oversized_files_are_refused_and_nothing_is_stored(app, tmp_path, monkeypatch, name):
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    if name == "oversized":
        monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 20_000)
        filename, data, code = (
            "big.jpg",
            evidence_files.portrait_with_gps(size=(900, 1200)),
            "evidence.too_large",
        )
        assert len(data) > 20_000
    else:
        filename, data, code = evidence_files.lying_files()[name]
    uploader = make_guardian()
    with pytest.raises(ValidationFailed) as refused:
        store_photo(FileStorage(io.BytesIO(data), filename=filename), uploader=uploader)
    assert refused.value.code == code
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").rglob("*"))


def test_an_accepted_photo_is_stored_once_by_its_content(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    uploader = make_guardian()
    data = evidence_files.portrait_with_gps()
    first = store_photo(FileStorage(io.BytesIO(data), filename="a.jpg"), uploader=uploader)
    second = store_photo(FileStorage(io.BytesIO(data), filename="b.jpg"), uploader=uploader)
    assert first.id != second.id and first.sha256 == second.sha256
    stored = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [first.sha256]
    assert hashlib.sha256(stored[0].read_bytes()).hexdigest() == first.sha256


def test_the_smallest_accepted_photo_is_the_usual_registry_size():
    check_shape(MIN_WIDTH, MIN_HEIGHT)
    with pytest.raises(ValidationFailed):
        check_shape(MIN_WIDTH - 1, MIN_HEIGHT)
