"""Product photos and audio files: store, reorder, delete. They flush, never commit.

Files reach the disk before the database row is flushed; if the transaction then
rolls back, the files this transaction created are removed again, so a refused or
failed upload leaves nothing behind.
"""

from __future__ import annotations

import errno
import hashlib
import logging
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func
from sqlmodel import Session, select

from catalog import images
from catalog.models import DigitalFileKind, Product, ProductFile, ProductImage
from catalog.services import InvalidProduct, can_edit
from core.errors import NotAllowed, NotFound

logger = logging.getLogger(__name__)

MAX_IMAGES = 12
MAX_SAMPLE_BYTES = 5 * 1024 * 1024
MAX_FULL_BYTES = 12 * 1024 * 1024 - 64 * 1024  # under the request limit (MAX_CONTENT_LENGTH)
# (extension, content type, test on the first bytes)
AUDIO_KINDS = (
    ("mp3", "audio/mpeg", lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0)),
    ("m4a", "audio/mp4", lambda b: b[4:8] == b"ftyp" and b[8:11] in (b"M4A", b"M4B", b"iso",
                                                                    b"mp4", b"mp4")),
    ("ogg", "audio/ogg", lambda b: b[:4] == b"OggS"),
    ("wav", "audio/wav", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
)


def _forget_on_rollback(session: Session, paths: list[Path]) -> None:
    session.info.setdefault("catalog_new_files", []).extend(paths)


@event.listens_for(Session, "after_soft_rollback")
def _remove_files_of_rolled_back_transaction(session, previous_transaction):
    if previous_transaction.parent is None:
        images.remove_files(session.info.pop("catalog_new_files", []))


@event.listens_for(Session, "after_commit")
def _keep_files_of_committed_transaction(session):
    session.info.pop("catalog_new_files", None)


def _write_files(directory: Path, files: dict[str, bytes], *, field: str) -> list[Path]:
    """Write the files, or raise InvalidProduct for the form when the disk says no
    (full, or not writable); write_files has already removed what it wrote."""
    try:
        return images.write_files(directory, files)
    except OSError as exc:
        # The operator's line: which folder and why, once per refused upload.
        logger.error("media: could not store an upload in %s: %s", directory,
                     exc.strerror or exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            message = _l("There is no room left to store files just now, so nothing was "
                         "saved. Please try again later; the shop's staff have been told.")
        else:
            message = _l("The file could not be stored just now, so nothing was saved. "
                         "Please try again later; the shop's staff have been told.")
        raise InvalidProduct(message, field=field) from exc


def _check_edit(session: Session, user, product: Product) -> None:
    if not can_edit(session=session, user=user, product=product):
        raise NotAllowed(_l("You can only change your own workshop's goods."))


def add_image(*, session: Session, user, product: Product, data: bytes, filename: str,
              alt: str, alt_en: str | None, media_dir: str) -> ProductImage:
    """Check, clean and store a photo with its alt text; raise InvalidProduct if refused."""
    _check_edit(session, user, product)
    alt = (alt or "").strip()
    if not alt:
        raise InvalidProduct(_l("Describe the photo for people who cannot see it"),
                             field="alt")
    if len(alt) > 200 or len((alt_en or "").strip()) > 200:
        raise InvalidProduct(_l("The description must be 200 characters or fewer"),
                             field="alt")
    count = session.exec(select(func.count()).select_from(ProductImage).where(
        ProductImage.product_id == product.id)).one()
    if count >= MAX_IMAGES:
        raise InvalidProduct(_l("A product can have at most %(count)d photos",
                                count=MAX_IMAGES), field="photo")
    try:
        processed = images.process_upload(data, filename)
    except images.ImageRefused as refused:
        raise InvalidProduct(str(refused), field="photo") from refused
    created = _write_files(images.image_dir(media_dir), processed.files, field="photo")
    _forget_on_rollback(session, created)
    image = ProductImage(product_id=product.id, content_hash=processed.content_hash,
                         width=processed.width, height=processed.height,
                         rendition_widths=",".join(str(w) for w in processed.widths),
                         alt=alt, alt_en=(alt_en or "").strip() or None, position=count)
    session.add(image)
    session.flush()
    return image


def _image_of(session: Session, product: Product, image_id: int) -> ProductImage:
    image = session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        raise NotFound()
    return image


def delete_image(*, session: Session, user, product: Product, image_id: int,
                 media_dir: str) -> None:
    """Remove a photo; its files go once no other photo uses the same upload."""
    _check_edit(session, user, product)
    image = _image_of(session, product, image_id)
    content_hash, widths = image.content_hash, image.widths
    session.delete(image)
    session.flush()
    _renumber(session, product)
    still_used = session.exec(select(ProductImage.id).where(
        ProductImage.content_hash == content_hash)).first()
    if still_used is None:
        directory = images.image_dir(media_dir)
        names = [images.rendition_name(content_hash, w, ext) for w in widths
                 for ext in ("webp", "jpg")]
        from core.db import after_commit

        after_commit(session, lambda: images.remove_files(directory / n for n in names))


def move_image(*, session: Session, user, product: Product, image_id: int,
               offset: int) -> None:
    """Move a photo earlier (-1) or later (+1); the first photo is the main one."""
    _check_edit(session, user, product)
    image = _image_of(session, product, image_id)
    ordered = _ordered(session, product)
    index = ordered.index(image)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    for position, item in enumerate(ordered):
        item.position = position
        session.add(item)
    session.flush()


def _ordered(session: Session, product: Product) -> list[ProductImage]:
    return list(session.exec(select(ProductImage).where(ProductImage.product_id == product.id)
                             .order_by(ProductImage.position, ProductImage.id)))


def _renumber(session: Session, product: Product) -> None:
    for position, item in enumerate(_ordered(session, product)):
        item.position = position
        session.add(item)
    session.flush()


def audio_kind(data: bytes, filename: str) -> tuple[str, str]:
    """(extension, content type) of an audio file, or InvalidProduct."""
    if len(data) >= 16:
        for extension, content_type, looks_like in AUDIO_KINDS:
            if looks_like(data[:16]):
                return extension, content_type
    raise InvalidProduct(_l("The file must be an MP3, M4A, OGG or WAV audio file"),
                         field="audio")


def file_path(media_dir: str, stored: ProductFile) -> Path:
    """Where a digital file lives: samples are public, full files private."""
    folder = "samples" if stored.kind == DigitalFileKind.SAMPLE else "private"
    return Path(media_dir) / folder / stored.stored_name


def set_digital_file(*, session: Session, user, product: Product, kind: DigitalFileKind,
                     data: bytes, filename: str, media_dir: str) -> ProductFile:
    """Store the sample or the full file of a digital good, replacing the old one."""
    _check_edit(session, user, product)
    if not product.is_digital:
        raise InvalidProduct(_l("Only digital goods have audio files"), field="audio")
    limit = MAX_SAMPLE_BYTES if kind == DigitalFileKind.SAMPLE else MAX_FULL_BYTES
    if not data:
        raise InvalidProduct(_l("The selected file is empty"), field="audio")
    if len(data) > limit:
        raise InvalidProduct(_l("The file must be smaller than %(size)d MB",
                                size=limit // (1024 * 1024)), field="audio")
    extension, content_type = audio_kind(data, filename)
    stored = session.exec(select(ProductFile).where(ProductFile.product_id == product.id,
                                                    ProductFile.kind == kind)).first()
    stored = stored or ProductFile(product_id=product.id, kind=kind, content_hash="",
                                   extension="", content_type="", size_bytes=0,
                                   original_name="")
    stored.content_hash = hashlib.sha256(data).hexdigest()[:32]
    stored.extension = extension
    stored.content_type = content_type
    stored.size_bytes = len(data)
    stored.original_name = (filename or "audio")[-200:]
    path = file_path(media_dir, stored)
    created = _write_files(path.parent, {path.name: data}, field="audio")
    _forget_on_rollback(session, created)
    session.add(stored)
    session.flush()
    return stored


def digital_file(*, session: Session, product_id: int, kind: DigitalFileKind
                 ) -> ProductFile | None:
    """The stored sample or full file of a product (the shop delivers the full one)."""
    return session.exec(select(ProductFile).where(ProductFile.product_id == product_id,
                                                  ProductFile.kind == kind)).first()
