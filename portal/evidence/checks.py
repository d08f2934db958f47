"""What an uploaded file really is, judged from its bytes, and a clean copy of it.

Pure functions of the bytes: no database, no disk. The name and the type the browser
declared are never consulted. An image is decoded in full and re-encoded, which drops
every metadata block (EXIF with its GPS position, XMP, IPTC, comments); HEIC becomes
JPEG. A PDF is parsed with pypdf and kept as sent; an encrypted or broken one is refused.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.errors import ValidationFailed

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
# A photo is kept at most this long on its longer side: a document stays legible, the
# stored copy and the page showing it stay small.
MAX_SIDE = 4096
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Checked:
    content_type: str
    data: bytes


def unsupported_type() -> ValidationFailed:
    return ValidationFailed(
        "evidence.unsupported_type",
        _l("This file is not a photo (JPEG, PNG, HEIC) or a PDF document. Please choose another file."),
    )


def too_large(max_megabytes) -> ValidationFailed:
    return ValidationFailed(
        "evidence.too_large",
        _l("This file is too large (at most %(max)s MB). Please send a smaller photo or document."),
        status=413,
        max=max_megabytes,
    )


def unreadable() -> ValidationFailed:
    return ValidationFailed(
        "evidence.unreadable",
        _l(
            "This file could not be read: it may be damaged, incomplete or password-protected. "
            "Please take the photo again or send another copy."
        ),
    )


def sniff(head: bytes) -> str | None:
    """The format the first bytes announce ("jpeg", "png", "heif", "pdf"), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heif"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


def check_and_clean(data: bytes, *, max_pixels: int, max_megabytes) -> Checked:
    """The checked type and the bytes to store, or a ValidationFailed with a stable code."""
    found = sniff(data[:32])
    if found is None:
        raise unsupported_type()
    if found == "pdf":
        _check_pdf(data)
        return Checked(PDF, data)
    return _clean_image(data, found, max_pixels=max_pixels, max_megabytes=max_megabytes)


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about repairable oddities
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted or len(reader.pages) == 0:
                raise unreadable()
            for page in reader.pages:
                page.mediabox  # noqa: B018  (every page must resolve)
    except ValidationFailed:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as error:
        raise unreadable() from error


def _clean_image(data: bytes, found: str, *, max_pixels: int, max_megabytes) -> Checked:
    formats = {"jpeg": ("JPEG",), "png": ("PNG",), "heif": ("HEIF",)}[found]
    if found == "heif":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
            width, height = image.size
            if width * height > max_pixels:  # a decompression bomb, or an absurd scan
                raise too_large(max_megabytes)
            image.load()  # decode everything: a truncated or corrupt file fails here
            image = ImageOps.exif_transpose(image, in_place=True) or image  # upright once EXIF is gone
        except ValidationFailed:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise too_large(max_megabytes) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise unreadable() from error
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    # Written from the pixels alone: the metadata the decoder read (EXIF, XMP, ICC, comments,
    # text chunks) is dropped first, and nothing is passed to the encoder. No copy of the
    # pixels is made unless the mode must change (a 12 MP photo is 36 MB decoded).
    if found == "png":
        mode = image.mode if image.mode in ("1", "L", "LA", "RGB", "RGBA") else "RGBA"
        kind, options = PNG, {"format": "PNG", "optimize": False}
    else:
        mode = "RGB"
        kind, options = JPEG, {"format": "JPEG", "quality": JPEG_QUALITY, "optimize": False}
    clean = image if image.mode == mode else image.convert(mode)
    clean.info = {}
    clean._exif = None  # the parsed EXIF Pillow caches beside `info`
    out = io.BytesIO()
    clean.save(out, **options)
    return Checked(kind, out.getvalue())
