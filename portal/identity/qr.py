"""QR codes behind one adapter: `qrcode` draws them, `zxing-cpp` reads photos of them."""

from __future__ import annotations

import io

import qrcode
import zxingcpp
from PIL import Image, UnidentifiedImageError
from qrcode.image.svg import SvgPathImage

MAX_PHOTO_PIXELS = 40_000_000  # a 48-megapixel phone photo is refused, not decoded for a minute


def _code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code


def svg(text: str) -> str:
    """An inline SVG of `text` at error-correction level M (scales with its container)."""
    image = _code(text).make_image(image_factory=SvgPathImage)
    markup = image.to_string(encoding="unicode")
    return markup[markup.index("<svg") :]


def modules(text: str) -> list[list[bool]]:
    """The module matrix, quiet zone included (for drawing into a PDF)."""
    return _code(text).get_matrix()


def version(text: str) -> tuple[int, int]:
    """The QR version `text` needs at level M, and its width in modules."""
    number = _code(text).version
    return number, 17 + 4 * number


def read(image_bytes: bytes) -> list[str]:
    """The texts of the QR codes in a photo or screenshot (empty when none, or not an image)."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            if image.width * image.height > MAX_PHOTO_PIXELS:
                return []
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return []
    return [result.text for result in results if result.valid]
