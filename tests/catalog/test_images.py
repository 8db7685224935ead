"""Photo uploads: honest photos are cleaned and resized; hostile files are refused
and leave nothing on disk or in the database."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlmodel import select

from accounts.models import Role
from catalog import images, media
from catalog.models import ProductImage
from catalog.queries import main_images, product_image
from catalog.services import InvalidProduct
from tests.catalog import images_made
from tests.factories import make_product, make_user, make_workshop


def test_photo_is_rotated_stripped_and_resized():
    processed = images.process_upload(images_made.jpeg_with_gps_rotated(), "photo.JPG")
    # EXIF said "rotate 90": the 1600x900 photo is shown 900 wide, 1600 high.
    assert (processed.width, processed.height) == (900, 1600)
    assert processed.widths == (320, 640, 900)
    assert len(processed.files) == 6
    for name, data in processed.files.items():
        assert name.startswith(processed.content_hash)
        shown = Image.open(io.BytesIO(data))
        assert shown.format == ("WEBP" if name.endswith(".webp") else "JPEG")
        assert not shown.getexif(), name          # no EXIF, so no GPS and no camera
        assert "exif" not in shown.info and "icc_profile" not in shown.info
        assert b"SpyCam" not in data
        width = int(name.rsplit("-", 1)[1].split(".")[0])
        assert shown.width == width
    top = Image.open(io.BytesIO(processed.files[f"{processed.content_hash}-320.jpg"]))
    # After rotating, the blue left half is on top.
    r, g, b = top.convert("RGB").getpixel((160, 20))
    assert b > r


def test_transparent_png_gets_a_white_jpeg_fallback():
    processed = images.process_upload(images_made.png(400, 300, mode="RGBA"), "cut-out.png")
    jpeg = Image.open(io.BytesIO(processed.files[f"{processed.content_hash}-320.jpg"]))
    assert jpeg.mode == "RGB"


HOSTILE = {
    "svg": (images_made.SVG_WITH_SCRIPT, "logo.svg", "SVG"),
    "svg named png": (images_made.SVG_WITH_SCRIPT, "logo.png", "SVG"),
    "html named jpg": (images_made.HTML_AS_JPEG, "photo.jpg", "SVG"),
    "text": (b"just some words, not a picture at all" * 3, "photo.jpg", "not a photo"),
    "gif": (images_made.GIF, "photo.gif", "not a photo"),
    "truncated jpeg": (images_made.jpeg_with_gps_rotated()[:5000], "photo.jpg", "not a photo"),
    "bomb": (images_made.png_bomb(), "big.png", "too many pixels"),
    "animated webp": (images_made.animated_webp(), "moving.webp", "animation"),
    "animated png": (images_made.animated_png(), "moving.png", "animation"),
    "png named jpg": (images_made.png(), "photo.jpg", "says JPG"),
    "too small": (images_made.png(50, 50), "dot.png", "at least 100"),
    "empty": (b"", "photo.jpg", "empty"),
    "too large": (b"\xff\xd8\xff" + os.urandom(10 * 1024 * 1024), "big.jpg", "10 MB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused(case):
    data, name, words = HOSTILE[case]
    with pytest.raises(images.ImageRefused) as refused:
        images.process_upload(data, name)
    assert words in str(refused.value)


@pytest.fixture
def owned(db_session):
    with db_session() as session:
        coordinator = make_user(session, roles=(Role.MAKER,))
        workshop = make_workshop(session, coordinator=coordinator)
        product = make_product(session, workshop=workshop)
        stranger = make_user(session, roles=(Role.MAKER,))
        other = make_workshop(session, coordinator=stranger)
    return coordinator, product, stranger, other


def _files(app):
    folder = images.image_dir(app.config["MEDIA_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_stored_photo_has_renditions_and_image_urls(app, db_session, owned):
    coordinator, product, _, _ = owned
    with db_session() as session:
        media.add_image(session=session, user=coordinator, product=product,
                        data=images_made.png(2000, 1000), filename="a.png",
                        alt="红色盘扣", alt_en="Red knot buttons",
                        media_dir=app.config["MEDIA_DIR"])
    assert len(_files(app)) == 6 and not any(n.startswith(".") for n in _files(app))
    with app.test_request_context(), db_session(write=False) as session:
        info = product_image(session=session, product_id=product.id)
    assert info["alt"] == "红色盘扣" and info["widths"] == [320, 640, 1280]
    assert info["webp_srcset"].count("w,") == 2 and "-1280.webp 1280w" in info["webp_srcset"]
    # Many products' main photos at once (the income page, product cards): the same.
    with app.test_request_context(), db_session(write=False) as session:
        assert main_images(session=session, product_ids=[product.id, None]) == {
            product.id: info}
        assert main_images(session=session, product_ids=[]) == {}


@pytest.mark.parametrize("case", ["bomb", "svg", "truncated jpeg", "animated png"])
def test_refused_upload_leaves_nothing(app, db_session, owned, case):
    coordinator, product, _, _ = owned
    data, name, _ = HOSTILE[case]
    with pytest.raises(InvalidProduct), db_session() as session:
        media.add_image(session=session, user=coordinator, product=product, data=data,
                        filename=name, alt="图", alt_en=None, media_dir=app.config["MEDIA_DIR"])
    assert _files(app) == []
    with db_session(write=False) as session:
        assert session.exec(select(ProductImage)).all() == []


def test_rolled_back_upload_removes_its_files(app, db_session, owned):
    coordinator, product, _, _ = owned
    with pytest.raises(RuntimeError), db_session() as session:
        media.add_image(session=session, user=coordinator, product=product,
                        data=images_made.png(), filename="a.png", alt="图", alt_en=None,
                        media_dir=app.config["MEDIA_DIR"])
        raise RuntimeError("the request failed after the upload")
    assert _files(app) == []


def test_alt_text_is_required_and_strangers_are_refused(app, db_session, owned):
    from core.errors import NotAllowed

    coordinator, product, stranger, _ = owned
    with pytest.raises(InvalidProduct) as missing, db_session() as session:
        media.add_image(session=session, user=coordinator, product=product,
                        data=images_made.png(), filename="a.png", alt="  ", alt_en=None,
                        media_dir=app.config["MEDIA_DIR"])
    assert missing.value.field == "alt"
    with pytest.raises(NotAllowed), db_session() as session:
        media.add_image(session=session, user=stranger, product=product,
                        data=images_made.png(), filename="a.png", alt="图", alt_en=None,
                        media_dir=app.config["MEDIA_DIR"])
    assert _files(app) == []


def test_reorder_and_delete(app, db_session, owned):
    coordinator, product, _, _ = owned
    ids = []
    with db_session() as session:
        for colour_width in (400, 500, 600):
            ids.append(media.add_image(
                session=session, user=coordinator, product=product,
                data=images_made.png(colour_width, 300), filename="a.png", alt=f"图{colour_width}",
                alt_en=None, media_dir=app.config["MEDIA_DIR"]).id)
    with db_session() as session:
        media.move_image(session=session, user=coordinator, product=product,
                         image_id=ids[2], offset=-1)
    with db_session(write=False) as session:
        order = session.exec(select(ProductImage.id).order_by(ProductImage.position)).all()
    assert order == [ids[0], ids[2], ids[1]]
    with db_session() as session:
        media.delete_image(session=session, user=coordinator, product=product,
                           image_id=ids[0], media_dir=app.config["MEDIA_DIR"])
    with db_session(write=False) as session:
        rows = session.exec(select(ProductImage).order_by(ProductImage.position)).all()
    assert [(r.id, r.position) for r in rows] == [(ids[2], 0), (ids[1], 1)]
    assert len(_files(app)) == 8  # 2 photos x 2 widths x 2 formats (each under 640)
