"""Images sent as files lose every piece of metadata before an officer can see them."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from bot.services.photo_privacy import MAX_SIDE, UnreadableImage, strip_metadata


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    """A JPEG as a phone writes it: GPS position, make and model, time, and a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.putpixel((0, 0), (0, 0, 255))  # a marker to check the turn
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone X"
    exif[ExifTags.Base.DateTime] = "2026:12:01 08:15:00"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (21.0, 1.0, 5.16)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (105.0, 49.0, 45.12)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def test_the_test_image_does_carry_gps() -> None:
    exif = Image.open(io.BytesIO(jpeg_with_gps())).getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == (21.0, 1.0, 5.16)
    assert exif[ExifTags.Base.Model] == "Phone X"


def test_gps_device_time_and_comments_are_gone() -> None:
    clean = strip_metadata(jpeg_with_gps())
    image = Image.open(io.BytesIO(clean))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(image.info)
    for trace in (b"Exif", b"Phone X", b"PhoneMaker", b"2026:12:01", b"taken at home"):
        assert trace not in clean


def test_a_turned_photo_is_turned_upright_since_its_orientation_tag_goes() -> None:
    clean = Image.open(io.BytesIO(strip_metadata(jpeg_with_gps((64, 48), orientation=6))))
    assert clean.size == (48, 64)  # orientation 6: rotate 90° clockwise to view


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_other_image_formats_become_a_plain_jpeg(fmt: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(out, fmt)
    image = Image.open(io.BytesIO(strip_metadata(out.getvalue())))
    assert (image.format, image.size, image.mode) == ("JPEG", (30, 20), "RGB")


def test_a_large_image_is_made_no_larger_than_telegram_shows() -> None:
    out = io.BytesIO()
    Image.new("RGB", (MAX_SIDE * 2, MAX_SIDE), (1, 2, 3)).save(out, "PNG")
    image = Image.open(io.BytesIO(strip_metadata(out.getvalue())))
    assert image.size == (MAX_SIDE, MAX_SIDE // 2)


@pytest.mark.parametrize(
    "data", [b"", b"%PDF-1.4 not an image", jpeg_with_gps()[:40]], ids=["empty", "pdf", "cut"]
)
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(UnreadableImage):
        strip_metadata(data)


def test_too_many_pixels_are_refused_before_decoding() -> None:
    with pytest.raises(UnreadableImage):
        strip_metadata(jpeg_with_gps((64, 48)), max_pixels=64 * 48 - 1)
