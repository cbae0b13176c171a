"""Photos sent as files keep what Telegram strips from photos: EXIF with the GPS position, the
phone's make and model, the time. Before such an image reaches an officer it is re-encoded from
its pixels alone."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

MAX_PIXELS = 50_000_000  # larger images are refused before their pixels are decoded
MAX_SIDE = 2560  # Telegram shows photos at most this large anyway
JPEG_QUALITY = 88


class UnreadableImage(ValueError):
    """The file is not an image Pillow can read, or is too large to decode safely."""


def strip_metadata(data: bytes, max_pixels: int = MAX_PIXELS) -> bytes:
    """The image as a JPEG made from its pixels only: no EXIF (GPS, device, time), XMP, ICC
    profile or comments; turned upright first, since its orientation tag goes too."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise UnreadableImage("too many pixels")
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(str(exc)) from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    # A new image from the bare pixels: `info` (exif, icc_profile, comments) is not carried over.
    bare = Image.frombytes("RGB", upright.size, upright.tobytes())
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
