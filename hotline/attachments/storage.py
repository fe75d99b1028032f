"""Where attachments are kept: files under ``ATTACHMENTS_DIR`` (the instance folder's ``attachments/`` by
default, never under ``static/``), each under a random name, with a thumbnail for an image.

A file is written before its row is flushed.  The files a transaction wrote are remembered on the session
and deleted if it rolls back, so a refused or failed upload leaves nothing behind; a process killed between
the write and the commit leaves an orphan, which ``flask attachments sweep`` deletes (files without a row,
older than an hour).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import warnings
from pathlib import Path
from typing import Any

from flask import current_app
from PIL import Image, ImageOps
from sqlalchemy import event
from sqlalchemy.orm import Session

THUMBNAIL_SIZE = (320, 320)
IMAGE_PIXELS_MAX = 50_000_000  # a photo of a phone's camera is 12-50 megapixels; more is a decompression bomb
# A picture that is not a JPEG (whose decoder scales down as it reads, Image.draft) is decoded whole: above
# this, a small PNG of vast blank pixels would cost the worker hundreds of megabytes to make its thumbnail.
FULL_DECODE_PIXELS_MAX = 16_000_000
_OURS = re.compile(r"[0-9a-f]{32}(?:\.thumb\.jpg)?")  # the names new_name() makes, and their thumbnails
_PENDING = "hotline_attachment_files"  # in Session.info: the files this transaction wrote


class BadImage(Exception):
    """The content is said to be an image by its magic number but does not decode as one."""


def directory() -> Path:
    configured = current_app.config.get("ATTACHMENTS_DIR")
    return Path(configured) if configured else Path(current_app.config["INSTANCE_DIR"]) / "attachments"


def path_of(stored_name: str) -> Path:
    """Where a stored file is (reading one never creates the folder)."""
    return directory() / stored_name


def new_name() -> str:
    return secrets.token_hex(16)


def thumbnail(content: bytes) -> bytes:
    """A JPEG at most :data:`THUMBNAIL_SIZE` of the image ``content``, turned as its camera held it;
    :class:`BadImage` if it does not decode (or is too many pixels to decode safely)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > IMAGE_PIXELS_MAX:
                    raise BadImage("too many pixels")
                if image.format == "JPEG":
                    image.draft("RGB", THUMBNAIL_SIZE)  # decoded at a fraction of its size
                elif width * height > FULL_DECODE_PIXELS_MAX:
                    raise BadImage("too many pixels to decode whole")
                image.thumbnail(THUMBNAIL_SIZE)  # small before it is copied to be turned or converted
                try:
                    small = ImageOps.exif_transpose(image) or image
                except Exception:  # a corrupt EXIF block: the picture as it is stored
                    small = image
                small = small.convert("RGB")
                out = io.BytesIO()
                small.save(out, "JPEG", quality=80)
                return out.getvalue()
    except BadImage:
        raise
    except Exception:  # Pillow raises many kinds on hostile content: all mean "not a picture"
        raise BadImage("does not decode") from None


def write(session: Session, name: str, content: bytes) -> None:
    """Write ``content`` as ``name``, to be deleted if ``session``'s transaction rolls back."""
    directory().mkdir(parents=True, exist_ok=True)
    path = path_of(name)
    with open(path, "xb") as out:  # "x": a name is never reused
        out.write(content)
    session.info.setdefault(_PENDING, []).append(str(path))


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _delete_written(session: Session) -> None:
    for path in session.info.pop(_PENDING, []):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def sweep(rows: set[str], older_than_seconds: float, now_timestamp: float) -> list[str]:
    """Delete the files of the folder that no row names (``rows``) and older than the given age: what a
    process killed between a file's write and its commit left; the names deleted."""
    removed: list[str] = []
    if not directory().is_dir():
        return removed
    for entry in os.scandir(directory()):
        # only names this feature makes (random hex): a folder shared by mistake loses nothing else
        if not entry.is_file() or entry.name in rows or not _OURS.fullmatch(entry.name):
            continue
        if now_timestamp - entry.stat().st_mtime >= older_than_seconds:
            os.remove(entry.path)
            removed.append(entry.name)
    return removed


def _after_commit(session: Session) -> None:
    _forget(session)


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested:  # a savepoint rolled back: the transaction (and its files) goes on
        return
    _delete_written(session)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", _after_rollback)
