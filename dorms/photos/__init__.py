"""Photos attached to repair tickets, violations and condition reports.

The files live under ``<instance>/photos/`` (not in the database); a row in
``photos`` keeps what was checked about each one. A file is accepted only if
Pillow can decode it as JPEG (MPO, as many phones write, counts as JPEG), PNG,
WebP or GIF, it is at most ``PHOTO_MAX_BYTES`` (``DORMS_PHOTO_MAX_MB``, default
8) and at most ``PHOTO_MAX_PIXELS`` (``DORMS_PHOTO_MAX_MEGAPIXELS``, default 40):
the pixel count is read from the header and checked before anything is decoded,
since a few kilobytes can declare an image that takes gigabytes to decode. JPEG,
PNG and WebP photos are re-encoded from their pixels alone, which drops EXIF
and XMP (GPS position, device), comments and anything after the image. Whoever owns the photo
(the ticket, the violation…) decides who may see it; :func:`photo_response`
only sends it.
"""
from __future__ import annotations

import hashlib
import io
import time
import uuid
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import FileStorage

from ..core.clock import utcnow
from ..core.errors import ServiceError
from ..core.types import UTCDateTime
from ..extensions import db

# Pillow's format name → what the browser is told and the file's extension.
ACCEPTED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
                    "WEBP": ("image/webp", "webp"), "GIF": ("image/gif", "gif")}
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
# What a re-encoded photo keeps of the original besides its pixels: how to show
# its colours. Everything else (EXIF, XMP, comments, text chunks) is left behind.
KEPT_INFO = ("icc_profile", "transparency")
# At most this many photos in one upload (one ticket, one violation, one report).
MAX_PHOTOS = 4


def init_app(app: Flask) -> None:
    """Every form that takes photos says how many it takes."""
    app.context_processor(lambda: {"max_photos": MAX_PHOTOS})
    refuse_decompression_bombs()


def refuse_decompression_bombs() -> None:
    """Past Pillow's own pixel limit an image is an error, not a warning after which it decodes anyway.

    Our own limit (:func:`max_pixels`) is checked first; this holds wherever Pillow opens a file.
    A truncated image is never half-decoded either.
    """
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    ImageFile.LOAD_TRUNCATED_IMAGES = False


class Photo(db.Model):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Name of the file under <instance>/photos/, never taken from the upload.
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def photo_folder() -> Path:
    folder = Path(current_app.instance_path) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def max_bytes() -> int:
    return int(current_app.config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_pixels() -> int:
    """The setting, or Pillow's own limit if lower: past that, Pillow refuses to open the file."""
    configured = int(current_app.config.get("PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS))
    return min(configured, Image.MAX_IMAGE_PIXELS or configured)


def uploaded_files(files) -> list[FileStorage]:
    """The non-empty files of a form field (browsers send an empty part when none is chosen)."""
    return [f for f in (files or []) if f and f.filename]


class NotAPhoto(Exception):
    """Pillow could not read the file as an image it accepts."""


def checked_photo(name: str, data: bytes) -> tuple[str, bytes]:
    """The format (Pillow's name: JPEG, PNG…) and the bytes to keep of an acceptable image.

    Else a ServiceError naming the file. The bytes kept are the photo turned
    upright as its EXIF said and re-encoded without any metadata; GIFs
    (animations, no EXIF in practice) are kept as they came.
    """
    limit = max_bytes()
    if len(data) > limit:
        raise ServiceError(_("Photo %(name)s is larger than the limit of %(limit).1f MB.",
                             name=name, limit=limit / 2**20))
    if not data:
        raise ServiceError(_("Photo %(name)s is empty.", name=name))
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only: nothing is decoded yet
            kind = "JPEG" if image.format == "MPO" else image.format
            if kind not in ACCEPTED_FORMATS:
                raise NotAPhoto
            if image.width * image.height > max_pixels():
                raise Image.DecompressionBombError  # refused as past Pillow's own limit
            if kind == "GIF":
                image.load()  # its first frame decoded whole: a cut-off file is refused (verify() checks no GIF)
                return kind, data
            return kind, _pixels_only(image, kind)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ServiceError(_("Photo %(name)s has more pixels than the limit of %(limit)g megapixels.",
                             name=name, limit=max_pixels() / 1e6)) from None
    except (NotAPhoto, UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # Unreadable, forged, or truncated (decoding fails).
        raise ServiceError(_("%(name)s is not a photo (JPEG, PNG, WebP or GIF).", name=name)) from None


def _pixels_only(image: Image.Image, kind: str) -> bytes:
    """The image upright, re-encoded from its pixels with nothing else of the original but its colours.

    Phone photos carry where they were taken (GPS, in EXIF and XMP) and the
    device; the people a photo is shown to (roommates, counselors) need neither.
    Of an MPO (a phone's JPEG with extra images after it) only the photo is kept.
    """
    # Decodes the whole image (a truncated one fails here), turned in place: one copy in memory.
    ImageOps.exif_transpose(image, in_place=True)
    image.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    buffer = io.BytesIO()
    options = {"quality": 90} if kind in ("JPEG", "WEBP") else {}
    if kind in ("JPEG", "WEBP") and "icc_profile" in image.info:
        options["icc_profile"] = image.info["icc_profile"]  # PNG carries it over from info itself
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def store_photos(files, *, actor=None) -> list[Photo]:
    """Check every file first, then write them all: one bad file refuses the whole upload.

    Files are written before the transaction commits: if it rolls back, a file
    is left without its row (``dorms photos prune`` removes those), never a
    row without its file.
    """
    files = uploaded_files(files)
    if len(files) > MAX_PHOTOS:
        raise ServiceError(_("At most %(count)d photos at a time.", count=MAX_PHOTOS))
    checked = []
    for file in files:
        name = Path(file.filename or "photo").name[:200]
        data = file.read(max_bytes() + 1)
        kind, kept = checked_photo(name, data)
        content_type, extension = ACCEPTED_FORMATS[kind]
        checked.append((name, kept, content_type, extension))
    photos = []
    folder = photo_folder()
    for name, data, content_type, extension in checked:
        stored_name = f"{uuid.uuid4().hex}.{extension}"
        (folder / stored_name).write_bytes(data)
        photo = Photo(stored_name=stored_name, content_type=content_type, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), original_name=name,
                      uploaded_by_id=actor.id if actor else None)
        db.session.add(photo)
        photos.append(photo)
    db.session.flush()
    return photos


def photo_response(photo: Photo):
    """Send the file; the caller has already checked that the asker may see it."""
    response = send_file(photo_folder() / photo.stored_name, mimetype=photo.content_type,
                         max_age=3600, conditional=True, etag=photo.sha256)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def prune(older_than: timedelta = timedelta(hours=1)) -> list[Path]:
    """Delete files under the photo folder that no row names (uploads whose transaction rolled back).

    Files younger than ``older_than`` are left alone: their upload may still be committing.
    """
    cutoff = time.time() - older_than.total_seconds()
    known = set(db.session.scalars(sa.select(Photo.stored_name)))
    orphans = [path for path in photo_folder().iterdir()
               if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff]
    for path in orphans:
        path.unlink()
    return orphans
