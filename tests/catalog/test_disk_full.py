"""The media disk full when a maker uploads a photo: a clear form error in their language,
no photo row and no file left half-written, and the same upload works once there is room.
The full disk is real: a 256 KB tmpfs mounted over MEDIA_DIR and filled up."""

from __future__ import annotations

import errno
import io
import os
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select

from accounts.models import Role
from catalog.models import ProductImage, ProductStatus
from tests.accounts.pages import error_summary, field_error
from tests.catalog import images_made
from tests.factories import login, make_product, make_user, make_workshop

FULL_ZH = "现在没有空间保存文件"
FULL_EN = "There is no room left to store files just now, so nothing was saved."


@pytest.fixture
def full_media_dir(app):
    """MEDIA_DIR on a tmpfs of its own, filled to the last byte by one file."""
    media = Path(app.config["MEDIA_DIR"])
    media.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(media)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs to fill up: {mounted.stderr.strip()}"
        # CI runs the tests as root, where this must work: there, fail rather than skip.
        if os.geteuid() == 0 or os.environ.get("REQUIRE_TMPFS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    filler = media / "filler"
    try:
        with filler.open("wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        yield media, filler
    finally:
        subprocess.run(["umount", "-l", str(media)], check=True)


def _files(media: Path) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*")
                  if p.is_file() and p.name != "filler")


def _upload(client, product_id):
    return client.post(f"/my/products/{product_id}/images", data={
        "alt": "红色梅花盘扣", "photo": (io.BytesIO(images_made.png(800, 600)), "a.png")},
        content_type="multipart/form-data")


def test_a_full_disk_refuses_the_photo_clearly_and_keeps_nothing(app, client, db_session,
                                                               full_media_dir, caplog):
    media, filler = full_media_dir
    with db_session() as session:
        maker = make_user(session, roles=(Role.MAKER,))
        product = make_product(session, workshop=make_workshop(session, coordinator=maker),
                               status=ProductStatus.DRAFT)
        email, product_id = maker.email, product.id
    login(client, email)

    refused = _upload(client, product_id)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert FULL_ZH in (error_summary(page) or "")
    assert FULL_ZH in (field_error(page, "photo") or "")
    client.set_cookie("lang", "en")  # the reader's choice, over their account's language
    english = _upload(client, product_id).get_data(as_text=True)
    client.delete_cookie("lang")
    assert FULL_EN in (error_summary(english) or "")
    assert FULL_EN in (field_error(english, "photo") or "")
    logged = [r for r in caplog.records if r.name == "catalog.media"]
    assert logged and "No space left on device" in logged[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)

    assert _files(media) == []  # not a rendition, not a temporary file
    with db_session(write=False) as session:
        assert session.exec(select(ProductImage)).all() == []

    filler.unlink()
    assert _upload(client, product_id).status_code == 302
    with db_session(write=False) as session:
        assert len(session.exec(select(ProductImage)).all()) == 1
    assert len(_files(media)) == 6
