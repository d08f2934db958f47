"""Synthetic upload files for the evidence tests: photos with location metadata, PDFs, fakes."""

from __future__ import annotations

import io

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

# A made-up position (somewhere in a lake), in EXIF's degrees/minutes/seconds.
GPS_LATITUDE = (30.0, 14.0, 5.0)


def _exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = "SyntheticPhone"
    exif[Base.Orientation] = 1
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = GPS_LATITUDE
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = (120.0, 9.0, 2.0)
    return exif


def _scene(size=(320, 240)) -> Image.Image:
    image = Image.new("RGB", size, (235, 225, 200))
    for x in range(0, size[0], 16):  # some structure, so the encoders have work to do
        image.paste((40, 40, 120), (x, 0, x + 4, size[1]))
    return image


def jpeg_with_gps(size=(320, 240), quality=90) -> bytes:
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    _scene(size).save(out, format="JPEG", exif=_exif_with_gps(), quality=quality, xmp=xmp, comment=b"secret")
    return out.getvalue()


def portrait_with_gps(size=(413, 531)) -> bytes:
    """An ID-photo-shaped JPEG (a plain drawing, no person) that carries a GPS position."""
    return jpeg_with_gps(size=size)


def avatar_with_gps(size=(600, 780), seed: int = 1) -> bytes:
    """A drawn head and shoulders (the demo's avatar, never a person) carrying a GPS position."""
    import random

    from portal.demo.photos import draw_avatar

    image = Image.open(io.BytesIO(draw_avatar(random.Random(seed), size)))
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=_exif_with_gps(), quality=90)
    return out.getvalue()


def portrait_png_with_alpha(size=(400, 520)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste((200, 60, 60, 255), (50, 50, size[0] - 50, size[1] - 50))
    image.save(out, format="PNG")
    return out.getvalue()


def png_with_metadata() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "someone")
    out = io.BytesIO()
    _scene().save(out, format="PNG", pnginfo=info, exif=_exif_with_gps())
    return out.getvalue()


def heic_with_gps() -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    _scene().save(out, format="HEIF", exif=_exif_with_gps())
    return out.getvalue()


def pdf(pages: int = 1, *, password: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bomb_png(side: int = 12_000) -> bytes:
    """A tiny PNG that would decode to side × side pixels."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG", optimize=True)
    return out.getvalue()


# Files that lie or are broken, each with the code it must be refused with.
def lying_files() -> dict[str, tuple[str, bytes, str]]:
    """name → (declared filename, bytes, expected code)."""
    jpeg = jpeg_with_gps()
    unsupported = "evidence.unsupported_type"
    return {
        "html named .jpg": ("photo.jpg", b"<html><script>alert(1)</script></html>", unsupported),
        "exe named .pdf": ("scan.pdf", b"MZ\x90\x00" + b"\x00" * 200, unsupported),
        "svg named .png": ("scan.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', unsupported),
        "gif": ("scan.gif", b"GIF89a" + b"\x00" * 40, unsupported),
        "truncated jpeg": ("photo.jpg", jpeg[: len(jpeg) // 2], "evidence.unreadable"),
        "jpeg magic then junk": ("photo.jpg", b"\xff\xd8\xff\xe0" + b"junk" * 100, "evidence.unreadable"),
        "png magic then junk": ("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "evidence.unreadable"),
        "heic magic then junk": ("a.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "evidence.unreadable"),
        "pdf magic then junk": ("a.pdf", b"%PDF-1.7\n" + b"garbage " * 50, "evidence.unreadable"),
        "encrypted pdf": ("a.pdf", pdf(password="secret"), "evidence.unreadable"),
        "empty": ("a.jpg", b"", "evidence.unreadable"),
        "decompression bomb": ("a.png", bomb_png(), "evidence.too_large"),
    }
