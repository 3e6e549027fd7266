"""Signatures as the signature pad sends them: a PNG data URL, checked before it is kept.

A drawn signature is a PNG of at most MAX_BYTES and MAX_SIDE pixels a side (read with Pillow,
so a file that is not a PNG, or a truncated one, is refused) that is not blank. The keyboard
alternative is the signer's typed name and a confirmation: no image is stored for it and the PDF
prints the typed name.
"""

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from .exceptions import SignatureInvalid

PREFIX = "data:image/png;base64,"
MAX_BYTES = 200_000
MAX_SIDE = 2000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_from_data_url(value: str, *, field: str = "signature") -> bytes:
    """The PNG bytes of a signature pad's data URL; SignatureInvalid (with ``field``) if not one."""

    def refuse(message: str):
        return SignatureInvalid(message, fields={field: [message]})

    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise refuse("Draw a signature, or type your name instead.")
    encoded = value[len(PREFIX) :]
    if len(encoded) > MAX_BYTES * 4 // 3 + 4:
        raise refuse("The signature image is too large.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("The signature image could not be read.") from None
    if not data.startswith(PNG_MAGIC):
        raise refuse("The signature must be a PNG image.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE:
                raise refuse("The signature image is too large.")
            image.load()
            if image.mode not in ("RGBA", "LA"):
                image = image.convert("RGBA")
            alpha = image.getchannel("A")
            inked = alpha.getbbox() is not None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise refuse("The signature image could not be read.") from None
    if not inked:
        raise refuse("The signature is empty: draw it, or type your name instead.")
    return data


def data_url(png: bytes | memoryview | None) -> str:
    return PREFIX + base64.b64encode(bytes(png)).decode("ascii") if png else ""
