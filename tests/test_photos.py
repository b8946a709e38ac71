"""Photo uploads are bounded and keep nothing of the original but its pixels (issue 14)."""
import io
import os
import struct
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image, ImageFile
from PIL.PngImagePlugin import PngInfo
from werkzeug.datastructures import FileStorage

from dorms import create_app, photos
from dorms.core.enums import Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.photos import Photo
from dorms.residence import services as residence

pytestmark = pytest.mark.backends("sqlite", "postgresql")

# Where the photo was taken, as a phone writes it into XMP; no stored file may contain it.
GPS = b"<exif:GPSLatitude>31,14.0N</exif:GPSLatitude>"


def image_bytes(kind="JPEG", size=(40, 30), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, kind, **options)
    return buffer.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) says it is width × height: decoding it would need it all."""
    data = bytearray(image_bytes("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose IHDR says it is width × height (with the chunk's CRC made right)."""
    data = bytearray(image_bytes("PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return bytes(data)


def store(data: bytes, name: str) -> Photo:
    (photo,) = photos.store_photos([FileStorage(io.BytesIO(data), name)])
    return photo


def stored_bytes(app, photo: Photo) -> bytes:
    with open(os.path.join(app.instance_path, "photos", photo.stored_name), "rb") as file:
        return file.read()


@pytest.fixture
def nothing_is_decoded(monkeypatch):
    def refuse(image):
        raise AssertionError(f"{image.size} was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_a_photo_over_the_pixel_limit_is_refused_from_its_header_before_it_is_decoded(app, nothing_is_decoded):
    for data, name in ((jpeg_declaring(13000, 13000), "huge.jpg"), (png_declaring(13000, 13000), "huge.png")):
        with pytest.raises(ServiceError, match=f"Photo {name} has more pixels than the limit of 40 "
                                               "megapixels."):
            store(data, name)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0


def test_the_pixel_limit_is_a_setting(app, monkeypatch, tmp_path):
    monkeypatch.setenv("DORMS_PHOTO_MAX_MEGAPIXELS", "12.5")
    assert create_app(instance_path=str(tmp_path)).config["PHOTO_MAX_PIXELS"] == 12_500_000
    app.config["PHOTO_MAX_PIXELS"] = 1000
    with pytest.raises(ServiceError, match="Photo small.png has more pixels than the limit of 0.001 megapixels."):
        store(image_bytes("PNG"), "small.png")


def test_past_pillows_own_limit_an_image_is_refused_not_decoded_after_a_warning(app, nothing_is_decoded):
    photos.refuse_decompression_bombs()  # as init_app does (pytest resets warning filters for each test)
    app.config["PHOTO_MAX_PIXELS"] = 10**12
    with pytest.raises(ServiceError, match="bomb.png has more pixels than the limit of 89.4785 megapixels"):
        store(png_declaring(10000, 10000), "bomb.png")  # between Pillow's warning and its error
    with pytest.raises(Image.DecompressionBombWarning):  # anywhere Pillow opens a file
        Image.open(io.BytesIO(png_declaring(10000, 10000)))


def test_a_truncated_jpeg_is_refused_with_a_message_naming_it(app, client, login, create_building, create_room,
                                                                create_student, create_user):
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: the upright copy decodes the whole image
    plain, with_exif = image_bytes("JPEG", size=(400, 300)), image_bytes("JPEG", size=(400, 300), exif=exif)
    for data in (plain, with_exif):
        with pytest.raises(ServiceError, match="cut.jpg is not a photo"):
            store(data[:len(data) // 2], "cut.jpg")
    noise = Image.effect_noise((200, 150), 64).convert("P")  # noise: the pixel data is most of the file
    gif = io.BytesIO()
    noise.save(gif, "GIF")
    with pytest.raises(ServiceError, match="cut.gif is not a photo"):
        store(gif.getvalue()[:gif.tell() // 3], "cut.gif")

    room = create_room(create_building("A1"), "101")
    student = create_student(name="张三")
    residence.assign(student, room.beds[0], reason="test")
    db.session.commit()
    login(create_user(role=Role.STUDENT, student=student))
    page = client.post("/repairs/mine", data={"item": "", "description": "门锁坏了，关不上",
                                              "photos": [(io.BytesIO(with_exif[:len(with_exif) // 2]), "门锁.jpg")]},
                       content_type="multipart/form-data", follow_redirects=True)
    assert page.status_code == 200
    assert "门锁.jpg is not a photo (JPEG, PNG, WebP or GIF)." in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0


def test_an_mpo_from_a_phone_is_kept_as_its_jpeg_photo(app):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(
        buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (40, 30), (0, 0, 0))])
    with Image.open(io.BytesIO(buffer.getvalue())) as written:
        assert (written.format, written.n_frames) == ("MPO", 2)
    photo = store(buffer.getvalue(), "IMG_0001.jpg")
    assert photo.content_type == "image/jpeg" and photo.stored_name.endswith(".jpg")
    with Image.open(io.BytesIO(stored_bytes(app, photo))) as kept:
        assert (kept.format, kept.size, getattr(kept, "n_frames", 1)) == ("JPEG", (40, 30), 1)


def test_xmp_and_comments_are_stripped_as_well_as_exif(app):
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + GPS + b"</x:xmpmeta>"
    exif = Image.Exif()
    exif[0x0110] = "Student's phone"
    comment_png = PngInfo()
    comment_png.add_text("Comment", "宿舍 A1-101")
    comment_png.add_itxt("XML:com.adobe.xmp", xmp.decode())
    uploads = {
        "xmp.jpg": image_bytes("JPEG", xmp=xmp, comment=b"dorm A1-101"),
        "exif-xmp.jpg": image_bytes("JPEG", exif=exif, xmp=xmp),
        "xmp.png": image_bytes("PNG", pnginfo=comment_png),
        "xmp.webp": image_bytes("WEBP", xmp=xmp, exif=exif),
    }
    for name, data in uploads.items():
        assert GPS in data or b"A1-101" in data.replace("宿舍 ".encode(), b"")
        kept = stored_bytes(app, store(data, name))
        assert GPS not in kept and b"A1-101" not in kept and b"phone" not in kept, name
        with Image.open(io.BytesIO(kept)) as image:
            assert not {"xmp", "XML:com.adobe.xmp", "comment", "Comment", "exif"} & set(image.info), name
            assert not image.getexif(), name
            assert image.size == (40, 30)


def test_a_re_encoded_photo_keeps_its_colour_profile_and_transparency(app):
    icc = b"\x00\x00\x02\x0cfake profile standing in for Display P3"
    photo = store(image_bytes("JPEG", icc_profile=icc, xmp=b"<x:xmpmeta>" + GPS + b"</x:xmpmeta>"), "p3.jpg")
    with Image.open(io.BytesIO(stored_bytes(app, photo))) as kept:
        assert kept.info.get("icc_profile") == icc and "xmp" not in kept.info
    buffer = io.BytesIO()
    Image.new("P", (20, 10), 0).save(buffer, "PNG", transparency=0)
    with Image.open(io.BytesIO(stored_bytes(app, store(buffer.getvalue(), "sticker.png")))) as kept:
        assert kept.mode == "P" and kept.info.get("transparency") == 0
