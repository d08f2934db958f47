"""The student registry photo (学籍照片): checked like any evidence, then held to the shape of
a registry photo, kept content-addressed beside the evidence, shown only to those who may see
the child.

- `store_photo(file_storage, *, uploader) -> Evidence`: the upload is checked and cleaned as
  evidence is (type from the bytes, size and pixel caps, re-encoded without EXIF/GPS), must
  then be a portrait photo of at least `MIN_WIDTH` × `MIN_HEIGHT` pixels, and is kept as a
  JPEG of at most `MAX_HEIGHT` pixels high. Refused: nothing stored.
- `check_photo_reference(ref, uploader) -> Evidence`: a reference a proposal names as the new
  photo (the API uploads through `POST /api/v1/evidence` first) must be the proposer's own
  upload and fit the same rules.
- `visible_photo(user, student_id) -> Student`: the student whose current photo `user` may see
  (a linked guardian, or staff in scope); NotFound otherwise, also when there is no photo.
"""

from __future__ import annotations

import io

from flask_babel import lazy_gettext as _l
from PIL import Image

from portal.errors import NotFound, ValidationFailed
from portal.evidence import checks, storage
from portal.evidence.models import Evidence
from portal.evidence.service import keep, max_pixels, megabytes, read_upload
from portal.extensions import db

# The usual registry photo is 358 × 441 px (a 26 × 32 mm print at 350 dpi): a smaller one
# cannot be printed on a student card without looking blocky.
MIN_WIDTH, MIN_HEIGHT = 358, 441
# Height over width: 1.23 for 358 × 441, 1.4 for the "one inch" and "two inch" prints.
MIN_RATIO, MAX_RATIO = 1.15, 1.6
MAX_HEIGHT = 1200  # plenty for a card; keeps the record page light
PHOTO_QUALITY = 90


def not_a_photo() -> ValidationFailed:
    return ValidationFailed(
        "photo.not_a_photo",
        _l("The registry photo must be a photo (JPEG, PNG or HEIC), not a PDF document."),
    )


def too_small() -> ValidationFailed:
    return ValidationFailed(
        "photo.too_small",
        _l("The photo is too small: it needs at least %(width)s × %(height)s pixels."),
        width=MIN_WIDTH,
        height=MIN_HEIGHT,
    )


def not_portrait() -> ValidationFailed:
    return ValidationFailed(
        "photo.not_portrait",
        _l(
            "The registry photo must be upright (portrait), about 1.2 to 1.5 times as high as "
            "it is wide, like an ID photo of 358 × 441 pixels."
        ),
    )


def check_shape(width: int, height: int) -> None:
    """Refuse what cannot be a registry photo: landscape, square, a strip, or too small."""
    if not MIN_RATIO <= height / width <= MAX_RATIO:
        raise not_portrait()
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise too_small()


def clean_photo(data: bytes) -> checks.Checked:
    """The uploaded bytes as a clean registry photo (JPEG), or a ValidationFailed."""
    checked = checks.check_and_clean(data, max_pixels=max_pixels(), max_megabytes=megabytes())
    if checked.content_type == checks.PDF:
        raise not_a_photo()
    image = Image.open(io.BytesIO(checked.data))  # ours, just re-encoded: no metadata left
    check_shape(*image.size)
    if checked.content_type == checks.JPEG and image.height <= MAX_HEIGHT:
        return checked
    image.thumbnail((MAX_HEIGHT, MAX_HEIGHT))
    flat = Image.new("RGB", image.size, (255, 255, 255))  # transparency becomes white
    flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=PHOTO_QUALITY)
    return checks.Checked(checks.JPEG, out.getvalue())


def store_photo(file_storage, *, uploader) -> Evidence:
    """Check, clean and keep an uploaded registry photo (kept as evidence of its own change)."""
    return keep(clean_photo(read_upload(file_storage)), uploader=uploader)


def check_photo_reference(ref, uploader) -> Evidence:
    """The evidence `ref` names, if `uploader` uploaded it and it fits a registry photo."""
    evidence = db.session.get(Evidence, ref) if isinstance(ref, str) else None
    if evidence is None or evidence.uploader_id != uploader.id:
        raise ValidationFailed("case.bad_evidence", _l("The attached documents could not be read."))
    if not evidence.content_type.startswith("image/"):
        raise not_a_photo()
    with Image.open(storage.path_for(evidence.sha256)) as image:  # reads the header only
        check_shape(*image.size)
    return evidence


def visible_photo(user, student_id: int):
    """The student whose current photo `user` may see; NotFound for anyone else, or no photo."""
    from portal.security.scope import get_visible_student

    if not user.is_authenticated:
        raise _no_photo()
    try:
        student = get_visible_student(user, student_id)
    except NotFound:
        raise _no_photo() from None
    if not student.photo_sha256:
        raise _no_photo()
    return student


def _no_photo() -> NotFound:
    return NotFound("photo.not_found", _l("No such photo."))


def read_photo(student) -> tuple[bytes, str]:
    """The bytes of the student's current photo and their checked type."""
    data = storage.read_bytes(student.photo_sha256)
    return data, checks.JPEG if checks.sniff(data[:32]) == "jpeg" else checks.PNG
