"""Makers list and edit their own goods; operators review; nobody edits another
workshop's goods. Bad input gets a clear message and changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts.models import Role
from catalog.models import Category, Product, ProductMaker, ProductStatus, ProductVariant
from tests.catalog import images_made
from tests.factories import login, make_product, make_user, make_workshop


@pytest.fixture
def tx(app):
    """Like tx, but the app context closes with each block: a context held open
    for the whole test would keep `g` (signed-in roles, the chosen language) across the
    client's requests."""
    from contextlib import contextmanager

    from core.db import db

    @contextmanager
    def open_session(write: bool = True):
        with app.app_context(), db.transaction(write=write) as session:
            yield session

    return open_session


@pytest.fixture
def people(tx):
    with tx() as session:
        coordinator = make_user(session, roles=(Role.MAKER,))
        member = make_user(session, roles=(Role.MAKER,))
        workshop = make_workshop(session, coordinator=coordinator, makers=[member])
        rival = make_user(session, roles=(Role.MAKER,))
        rival_workshop = make_workshop(session, coordinator=rival)
        operator = make_user(session, roles=(Role.OPERATOR,))
        shopper = make_user(session)
        category = Category(slug="pankou", name="盘扣", name_en="Knot buttons")
        session.add(category)
        session.flush()
        product = make_product(session, workshop=workshop, makers=[member],
                               status=ProductStatus.DRAFT, title="原来的名字")
        return dict(coordinator=coordinator.email, member=member.email, member_id=member.id,
                    rival=rival.email, operator=operator.email, shopper=shopper.email,
                    workshop_id=workshop.id, rival_workshop_id=rival_workshop.id,
                    coordinator_id=coordinator.id, category_id=category.id,
                    product_id=product.id)


def _form(people, **overrides):
    data = {
        "title": "梅花盘扣", "title_en": "Plum knot buttons", "category_id": people["category_id"],
        "description": "手工编的", "maker_story": "",
        "variants-0-sku": "PK-NEW-1", "variants-0-name": "红", "variants-0-price": "68.50",
        "variants-0-stock": "5",
        "makers-0-maker_id": people["member_id"], "makers-0-share": "60",
        "makers-1-maker_id": people["coordinator_id"], "makers-1-share": "40",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _add_photo(client, product_id, alt="红色梅花盘扣"):
    import io

    response = client.post(f"/my/products/{product_id}/images", data={
        "alt": alt, "photo": (io.BytesIO(images_made.png()), "a.png")},
        content_type="multipart/form-data")
    assert response.status_code == 302


def _count(tx, model):
    with tx(write=False) as session:
        return len(session.exec(select(model)).all())


def test_coordinator_creates_submits_and_operator_publishes(app, client, people, tx):
    login(client, people["coordinator"])
    response = client.post(f"/my/products/new/{people['workshop_id']}", data=_form(people))
    assert response.status_code == 302
    with tx(write=False) as session:
        product = session.exec(select(Product).where(Product.title == "梅花盘扣")).one()
        variant = session.exec(select(ProductVariant).where(
            ProductVariant.product_id == product.id)).one()
        shares = sorted(m.share_basis_points for m in session.exec(
            select(ProductMaker).where(ProductMaker.product_id == product.id)))
    assert (variant.price_amount, variant.stock, shares) == (6850, 5, [4000, 6000])
    assert product.status == ProductStatus.DRAFT and product.min_price_amount == 6850
    assert client.get("/products?q=梅花盘扣").data.count(b"/products/" + product.slug.encode()) == 0
    _add_photo(client, product.id)
    assert client.post(f"/my/products/{product.id}/submit").status_code == 302

    client = app.test_client()
    login(client, people["operator"])
    assert "梅花盘扣" in client.get("/operator/products").get_data(as_text=True)
    review = client.get(f"/operator/products/{product.id}").get_data(as_text=True)
    # What the reviewer checks: category, makers and their shares, photo, description.
    assert "<dt>分类</dt><dd>盘扣</dd>" in review.replace("\n", "")
    assert "分得收入的 60%" in review and "分得收入的 40%" in review
    assert "读屏文字：红色梅花盘扣" in review and "<img" in review
    assert "手工编的" in review
    missing_reason = client.post(f"/operator/products/{product.id}",
                                 data={"decision": "send_back", "reason": ""})
    assert missing_reason.status_code == 400
    assert "Enter the reason" in missing_reason.get_data(as_text=True) or \
        "原因" in missing_reason.get_data(as_text=True)
    assert client.post(f"/operator/products/{product.id}",
                       data={"decision": "publish"}).status_code == 302
    page = client.get("/products?q=梅花盘扣").get_data(as_text=True)
    assert f"/products/{product.slug}" in page
    assert client.get(f"/products/{product.slug}").status_code == 200


@pytest.mark.parametrize("who", ["rival", "member", "shopper"])
def test_others_cannot_edit_the_workshops_goods(client, people, tx, who):
    login(client, people[who])
    before = _count(tx, Product)
    assert client.get(f"/my/products/{people['product_id']}").status_code == 403 \
        if who != "shopper" else True
    response = client.post(f"/my/products/{people['product_id']}",
                           data=_form(people, title="被人改了"))
    assert response.status_code == 403
    assert client.post(f"/my/products/new/{people['workshop_id']}",
                       data=_form(people)).status_code == 403
    assert client.post(f"/my/products/{people['product_id']}/submit").status_code == 403
    assert client.post(f"/my/products/{people['product_id']}/images", data={
        "alt": "图", "photo": (__import__("io").BytesIO(images_made.png()), "a.png")},
        content_type="multipart/form-data").status_code == 403
    assert _count(tx, Product) == before
    with tx(write=False) as session:
        assert session.get(Product, people["product_id"]).title == "原来的名字"


def test_maker_cannot_review(client, people):
    login(client, people["coordinator"])
    assert client.get("/operator/products").status_code == 403
    assert client.post(f"/operator/products/{people['product_id']}",
                       data={"decision": "publish"}).status_code == 403


def test_signed_out_is_sent_to_sign_in(client, people):
    response = client.get("/my/products")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_operator_edits_any_product(client, people, tx):
    login(client, people["operator"])
    response = client.post(f"/my/products/{people['product_id']}",
                           data=_form(people, title="运营改的名字"))
    assert response.status_code == 302
    with tx(write=False) as session:
        assert session.get(Product, people["product_id"]).title == "运营改的名字"


BAD = {
    "negative price": ({"variants-0-price": "-5"}, "more than ¥0"),
    "non-numeric price": ({"variants-0-price": "abc"}, "as a number"),
    "absurd price": ({"variants-0-price": "1000000.01"}, "¥1,000,000 or less"),
    "negative stock": ({"variants-0-stock": "-1"}, "from 0 to 1,000,000"),
    "empty title": ({"title": ""}, "Enter the product"),
    "huge title": ({"title": "长" * 10000}, "120 characters"),
    "shares not 100": ({"makers-1-share": "30"}, "add up to 100%"),
    "no versions": ({"variants-0-sku": "", "variants-0-price": "", "variants-0-name": ""},
                    "at least one version"),
    "bad sku": ({"variants-0-sku": "<script>"}, "letters, numbers"),
    "outsider maker": ({"makers-0-maker_id": "999999"}, "members of the product"),
    "no category": ({"category_id": "0"}, "Choose a category"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_with_a_message(client, people, tx, case):
    overrides, message = BAD[case]
    login(client, people["coordinator"])
    client.get("/language/en")
    before = _count(tx, Product), _count(tx, ProductVariant)
    response = client.post(f"/my/products/new/{people['workshop_id']}",
                           data=_form(people, **overrides))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert "<title>Error: " in text
    assert (_count(tx, Product), _count(tx, ProductVariant)) == before


def test_hostile_html_is_shown_escaped(client, people, tx):
    login(client, people["operator"])
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(f"/my/products/{people['product_id']}",
                data=_form(people, title=hostile[:120], description=hostile))
    with tx() as session:
        product = session.get(Product, people["product_id"])
        product.status = ProductStatus.PUBLISHED
        session.add(product)
        slug = product.slug
    text = client.get(f"/products/{slug}").get_data(as_text=True)
    assert "<script>alert" not in text and "&lt;script&gt;" in text
    assert "<img src=x" not in text


def test_photo_form_refuses_missing_alt_and_bad_files(client, people, tx, app):
    import io

    login(client, people["coordinator"])
    client.get("/language/en")
    url = f"/my/products/{people['product_id']}/images"
    no_alt = client.post(url, data={"alt": "", "photo": (io.BytesIO(images_made.png()), "a.png")},
                         content_type="multipart/form-data")
    assert no_alt.status_code == 400 and "Describe the photo" in no_alt.get_data(as_text=True)
    bomb = client.post(url, data={"alt": "炸弹", "photo": (io.BytesIO(images_made.png_bomb()),
                                                            "a.png")},
                       content_type="multipart/form-data")
    assert bomb.status_code == 400 and "too many pixels" in bomb.get_data(as_text=True)
    from pathlib import Path

    folder = Path(app.config["MEDIA_DIR"]) / "products"
    assert not folder.exists() or list(folder.iterdir()) == []
    ok = client.post(url, data={"alt": "红色盘扣", "photo": (
        io.BytesIO(images_made.jpeg_with_gps_rotated()), "a.jpg")},
        content_type="multipart/form-data")
    assert ok.status_code == 302
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 6
    served = client.get(f"/media/products/{names[0]}")
    assert served.status_code == 200 and "immutable" in served.headers["Cache-Control"]
    assert "max-age=31536000" in served.headers["Cache-Control"]
    served.close()
    assert client.get("/media/products/..%2Fsecret_key").status_code == 404


def test_forged_csrf_is_refused(app, client, people, tx):
    login(client, people["coordinator"])
    app.config["WTF_CSRF_ENABLED"] = True  # signed in; from now on tokens are checked
    response = client.post(f"/my/products/new/{people['workshop_id']}",
                           data=_form(people, csrf_token="forged"))
    assert response.status_code == 400
    assert _count(tx, Product) == 1
    response = client.post(f"/my/products/{people['product_id']}/submit",
                           data={"csrf_token": "forged"})
    assert response.status_code == 400
    with tx(write=False) as session:
        assert session.get(Product, people["product_id"]).status == ProductStatus.DRAFT


def test_a_draft_without_a_photo_or_makers_cannot_be_sent_for_review(client, people, tx):
    from accounts.models import Workshop
    from catalog.services import refresh_listing

    with tx() as session:
        bare = make_product(session, workshop=session.get(Workshop, people["workshop_id"]),
                            status=ProductStatus.DRAFT, title="空空的草稿")
        bare_id = bare.id
        refresh_listing(session=session, product=session.get(Product, people["product_id"]))
    login(client, people["coordinator"])
    response = client.post(f"/my/products/{bare_id}/submit")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<title>错误：" in page or "<title>错误:" in page
    assert '<a href="#makers">写明是谁做的：至少选一位手艺人</a>' in page
    assert '<a href="#photos">请至少添加一张商品照片</a>' in page
    with tx(write=False) as session:
        assert session.get(Product, bare_id).status == ProductStatus.DRAFT
    # The draft with makers still needs its photo; with one, it goes.
    response = client.post(f"/my/products/{people['product_id']}/submit")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "#photos" in page and "#makers" not in page.split("</h1>")[0]
    _add_photo(client, people["product_id"])
    assert client.post(f"/my/products/{people['product_id']}/submit").status_code == 302
    with tx(write=False) as session:
        assert session.get(Product, people["product_id"]).status == ProductStatus.PENDING_REVIEW
