"""Forms that take money, quantities, dates and text, fed anything: huge numbers,
negatives, NaN and infinity as text, digits of other scripts, unicode, hostile HTML,
nothing at all. The answer is never a server error; an input the form refuses is
answered 400 with the form's message and changes nothing (rows counted, the cart
compared); hostile HTML comes back escaped. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from accounts.models import Role
from catalog.models import Category, Product, ProductStatus, ProductVariant
from income.models import LedgerEntry
from livestream.models import LiveSession
from shop.models import Order
from tests.factories import login, make_product, make_user, make_workshop

HOSTILE = "<script>alert('x')</script>"
# Numbers and near-numbers a person or a script might type.
TRICKY = ["", " ", "0", "-1", "1", "99", "100", "1e309", "NaN", "nan", "inf", "-inf",
          "Infinity", "1.5", "0x10", "１２", "²", "٣", "1_000", "9" * 40, "-" + "9" * 40,
          "12.345", "¥12", "12,00", "\u00a012", HOSTILE, "1<b>", "null", "\u202e12"]
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=60),
                 st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
                 st.integers(min_value=-(10**30), max_value=10**30).map(str))
# What a person means to type, so the accepted path is walked as well as the refusals.
QUANTITY = st.one_of(TEXT, st.integers(min_value=0, max_value=120).map(str))
AMOUNT = st.one_of(TEXT, st.integers(min_value=-10**7, max_value=10**8).map(
    lambda fen: f"{fen / 100:.2f}"))
WORDS = st.one_of(TEXT, st.just(HOSTILE + " 盘扣"), st.text(
    alphabet=st.characters(categories=("L", "N", "P")), min_size=1, max_size=40))
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _count(db_session, model) -> int:
    with db_session(write=False) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _escaped(body: str, *sent: str) -> bool:
    """A script tag that was sent does not come back as one (the page has its own
    tags, so only the hostile one is looked for)."""
    return not any("<script>alert" in text for text in sent) or "<script>alert" not in body


@pytest.fixture
def shop(app, db_session):
    """An operator, a maker, a product waiting for review and one on sale."""
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        maker = make_user(session, roles=(Role.MAKER,))
        coordinator = make_user(session, roles=(Role.MAKER,))
        workshop = make_workshop(session, makers=[maker], coordinator=coordinator)
        category = Category(slug="pankou", name="盘扣", name_en="Knot buttons")
        session.add(category)
        product = make_product(session, workshop=workshop, makers=[maker], stock=500,
                               status=ProductStatus.PENDING_REVIEW)
        on_sale = make_product(session, workshop=workshop, makers=[maker], stock=500)
        variant = session.exec(select(ProductVariant).where(
            ProductVariant.product_id == on_sale.id)).one()
        session.flush()
        ids = {"operator": operator.email, "maker": maker.id, "product": product.id,
               "variant": variant.id, "coordinator": coordinator.email,
               "workshop": workshop.id, "category": category.id}
    return ids


def test_cart_quantities(app, shop):
    client = app.test_client()

    seen: set[int] = set()

    @PROPERTY
    @given(quantity=QUANTITY, live=TEXT, update=st.booleans())
    def property_holds(quantity, live, update):
        with client.session_transaction() as before:
            cart_before = dict(before).get("cart")
        address = "/cart/update" if update else "/cart/add"
        response = client.post(address, data={"variant_id": str(shop["variant"]),
                                               "quantity": quantity,
                                               "live_session_id": live})
        seen.add(response.status_code)
        assert response.status_code < 500, (address, quantity, live)
        if response.status_code in (400, 404):  # 404: a line that is not in the cart
            with client.session_transaction() as after:
                assert dict(after).get("cart") == cart_before
            assert _escaped(response.get_data(as_text=True), quantity, live)
        else:
            assert response.status_code == 302

    property_holds()
    assert seen & {400, 404} and seen & {302, 303}, seen  # both outcomes were met


def test_payout_adjustment_amounts_and_reasons(app, db_session, shop):
    client = app.test_client()
    login(client, shop["operator"])

    seen: set[int] = set()

    @PROPERTY
    @given(amount=AMOUNT, reason=WORDS)
    def property_holds(amount, reason):
        entries = _count(db_session, LedgerEntry)
        response = client.post("/operator/payouts/adjust", data={
            "adjust-maker_id": str(shop["maker"]), "adjust-amount": amount,
            "adjust-reason": reason})
        seen.add(response.status_code)
        assert response.status_code < 500, (amount, reason)
        if response.status_code == 302:
            assert _count(db_session, LedgerEntry) == entries + 1
        else:
            assert response.status_code == 400
            assert _count(db_session, LedgerEntry) == entries
            body = response.get_data(as_text=True)
            assert 'class="govuk-error-summary' in body or "error-summary" in body
            assert _escaped(body, amount, reason)

    property_holds()
    assert seen & {400, 404} and seen & {302, 303}, seen  # both outcomes were met


def test_live_session_dates_and_titles(app, db_session, shop):
    client = app.test_client()
    login(client, shop["operator"])
    from datetime import date

    soon = st.dates(min_value=date(2027, 1, 1), max_value=date(2030, 12, 31)).map(str)
    dates = st.one_of(TEXT, soon, soon, st.dates().map(str), st.sampled_from(
        ["2027-02-30", "2027-13-01", "0000-01-01", "9999-12-31", "2027-1-5", "明天"]))
    times = st.one_of(TEXT, st.times().map(lambda t: t.strftime("%H:%M")),
                      st.sampled_from(["09:00", "10:30", "19:00", "20:30", "22:00"]),
                      st.sampled_from(["24:00", "23:60", "7pm", "19:00", "-1:00"]))

    seen: set[int] = set()

    @PROPERTY
    @given(title=WORDS, day=dates, start=times, end=times)
    @example(title=HOSTILE, day="2027-03-01", start="19:00", end="20:30")
    def property_holds(title, day, start, end):
        sessions = _count(db_session, LiveSession)
        response = client.post("/operator/live/new", data={
            "title": title, "start_date": day, "start_time": start, "end_time": end})
        seen.add(response.status_code)
        assert response.status_code < 500, (title, day, start, end)
        made = _count(db_session, LiveSession) - sessions
        if response.status_code in (302, 303):
            assert made >= 1
        else:
            assert (response.status_code, made) == (400, 0)
            assert _escaped(response.get_data(as_text=True), title, day, start, end)

    property_holds()
    assert seen & {400, 404} and seen & {302, 303}, seen  # both outcomes were met


def test_product_review_reasons(app, db_session, shop):
    client = app.test_client()
    login(client, shop["operator"])

    seen: set[int] = set()

    @PROPERTY
    @given(decision=st.one_of(st.sampled_from(["send_back", "publish"]), TEXT), reason=WORDS)
    def property_holds(decision, reason):
        with db_session() as session:  # back in the queue, for each example
            product = session.get(Product, shop["product"])
            product.status = ProductStatus.PENDING_REVIEW
            session.add(product)
        response = client.post(f"/operator/products/{shop['product']}",
                               data={"decision": decision, "reason": reason})
        seen.add(response.status_code)
        assert response.status_code < 500, (decision, reason)
        with db_session(write=False) as session:
            status = session.get(Product, shop["product"]).status
        if response.status_code == 400:
            assert status == ProductStatus.PENDING_REVIEW
            assert _escaped(response.get_data(as_text=True), decision, reason)
        else:
            assert response.status_code in (302, 303)
            assert status != ProductStatus.PENDING_REVIEW

    property_holds()
    assert seen & {400, 404} and seen & {302, 303}, seen  # both outcomes were met


def test_product_editor_prices_and_stock(app, db_session, shop):
    client = app.test_client()
    login(client, shop["coordinator"])

    seen: set[int] = set()

    @PROPERTY
    @given(title=WORDS, price=AMOUNT, stock=QUANTITY, share=st.one_of(TEXT, st.just("100")),
           sku=WORDS)
    @example(title=HOSTILE, price="68.50", stock="10", share="100", sku="PK-1")
    def property_holds(title, price, stock, share, sku):
        products = _count(db_session, Product)
        response = client.post(f"/my/products/new/{shop['workshop']}", data={
            "title": title, "category_id": str(shop["category"]), "variants-0-sku": sku,
            "variants-0-price": price, "variants-0-stock": stock,
            "makers-0-maker_id": str(shop["maker"]), "makers-0-share": share})
        seen.add(response.status_code)
        assert response.status_code < 500, (title, price, stock, share, sku)
        made = _count(db_session, Product) - products
        if response.status_code in (302, 303):
            assert made == 1
        else:
            assert (response.status_code, made) == (400, 0)
            assert _escaped(response.get_data(as_text=True), title, price, stock, share, sku)

    property_holds()
    assert seen & {400, 404} and seen & {302, 303}, seen  # both outcomes were met


def test_checkout_contact_and_address(app, db_session, shop):
    client = app.test_client()
    client.post("/cart/add", data={"variant_id": str(shop["variant"]), "quantity": "1"})

    seen: set[int] = set()

    @PROPERTY
    @given(name=WORDS, email=st.one_of(TEXT, st.emails().map(str)),
           phone=st.one_of(TEXT, st.just(""), st.just("13812345678")), street=WORDS,
           step=st.sampled_from(["contact", "address"]))
    def property_holds(name, email, phone, street, step):
        orders = _count(db_session, Order)
        with client.session_transaction() as before:
            state_before = dict(before).get("checkout")
        data = ({"name": name, "email": email, "phone": phone} if step == "contact" else
                {"province": name, "city": "宁波", "district": "海曙", "street": street,
                 "phone": phone})
        response = client.post(f"/checkout/{step}", data=data)
        seen.add(response.status_code)
        assert response.status_code < 500, (step, name, email, phone, street)
        assert _count(db_session, Order) == orders  # no step before placing makes one
        if response.status_code == 400:
            with client.session_transaction() as after:
                assert dict(after).get("checkout") == state_before
            assert _escaped(response.get_data(as_text=True), name, email, phone, street)
        else:
            assert response.status_code in (302, 303)

    property_holds()
    assert seen & {400, 404} and seen & {302, 303}, seen  # both outcomes were met
