"""Placing orders, holds and their expiry, offline payment: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from catalog.models import ProductStatus
from core.db import utcnow
from core.mail import OutboxMail
from core.scheduler import run_job
from shop import payments
from shop.models import (
    HoldStatus,
    Order,
    OrderLine,
    OrderLineMaker,
    OrderStatus,
    OrderStatusChange,
    PaymentRecordStatus,
    PaymentStatus,
    StockHold,
)
from shop.orders import NotOnSale, OutOfStock
from tests.shop.helpers import make_shop, payment_of, place, reload, stock_of


def test_placing_takes_stock_and_snapshots_lines(app, db_session):
    with db_session() as session:
        shop = make_shop(session, stock=5, price=1280)
        product, variant = shop["items"][0]
        order = place(session, [(variant.id, 2)])
        order_id = order.id
    with db_session() as session:
        order = session.get(Order, order_id)
        assert order.total_amount == 2560 and order.currency == "CNY"
        assert order.number.startswith("GF") and len(order.public_token) >= 32
        assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PENDING)
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        assert (line.sku, line.unit_price_amount, line.quantity) == (variant.sku, 1280, 2)
        assert line.workshop_id == shop["workshop"].id
        shares = session.exec(select(OrderLineMaker).where(
            OrderLineMaker.order_line_id == line.id)).all()
        assert sorted(s.share_basis_points for s in shares) == [5000, 5000]
        assert {s.maker_id for s in shares} == {m.id for m in shop["makers"]}
        hold = session.exec(select(StockHold).where(StockHold.order_id == order_id)).one()
        assert (hold.quantity, hold.status) == (2, HoldStatus.HELD)
        assert stock_of(session, variant.id) == 3


def test_the_price_is_the_catalogs_at_placing_and_kept_after(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, price=1000)["items"][0]
        order = place(session, [(variant.id, 1)])
        variant.price_amount = 9999
        session.add(variant)
        order_id = order.id
    with db_session() as session:
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        assert line.unit_price_amount == 1000
        assert session.get(Order, order_id).total_amount == 1000


def test_same_idempotency_key_gives_one_order(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, stock=5)["items"][0]
        first = place(session, [(variant.id, 2)], key="k" * 20)
    with db_session() as session:
        second = place(session, [(variant.id, 2)], key="k" * 20)
        assert second.id == first.id
        assert len(session.exec(select(Order)).all()) == 1
        assert stock_of(session, variant.id) == 3


def test_shortage_names_every_short_line_and_writes_nothing(app, db_session):
    with db_session() as session:
        shop = make_shop(session, stock=1, products=3)
        ids = [v.id for _p, v in shop["items"]]
        names = [p.title for p, _v in shop["items"]]
    with pytest.raises(OutOfStock) as caught, db_session() as session:
        place(session, [(ids[0], 2), (ids[1], 1), (ids[2], 5)])
    message = str(caught.value)
    assert names[0] in message and names[2] in message and names[1] not in message
    assert [n for n, _left in caught.value.shortages] == [names[0], names[2]]
    with db_session() as session:
        assert session.exec(select(Order)).all() == []
        assert [stock_of(session, i) for i in ids] == [1, 1, 1]


@pytest.mark.parametrize("status", [ProductStatus.ARCHIVED, ProductStatus.DRAFT])
def test_unpublished_product_cannot_be_ordered(app, db_session, status):
    with db_session() as session:
        product, variant = make_shop(session)["items"][0]
        product.status = status
        session.add(product)
    with pytest.raises(NotOnSale), db_session() as session:
        place(session, [(variant.id, 1)])
    with db_session() as session:
        assert stock_of(session, variant.id) == 10


def test_unknown_variant_and_bad_quantities_are_refused(app, db_session):
    from core.errors import DomainError

    with db_session() as session:
        _product, variant = make_shop(session)["items"][0]
    for lines in ([(999999, 1)], [(variant.id, 0)], [(variant.id, -1)], [(variant.id, 10**9)]):
        with pytest.raises(DomainError), db_session() as session:
            place(session, lines)
    with db_session() as session:
        assert stock_of(session, variant.id) == 10
        assert session.exec(select(Order)).all() == []


def _expire(session, order_id):
    order = session.get(Order, order_id)
    order.hold_expires_at = utcnow() - timedelta(seconds=1)
    session.add(order)


def test_expired_hold_returns_stock_once(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, stock=4)["items"][0]
        order_id = place(session, [(variant.id, 3)]).id
        fresh_id = place(session, [(variant.id, 1)]).id
        _expire(session, order_id)
    assert run_job(app, "release_expired_holds") == 1
    assert run_job(app, "release_expired_holds") == 0
    with db_session() as session:
        assert stock_of(session, variant.id) == 3
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.CANCELLED,
                                                        PaymentStatus.NOT_PAID)
        assert payment_of(session, order_id).status == PaymentRecordStatus.CANCELLED
        assert reload(session, fresh_id).status == OrderStatus.OPEN
        change = session.exec(select(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id, OrderStatusChange.to_value == "cancelled")
        ).one()
        assert change.by_system == "hold expiry"


def test_operator_confirms_offline_payment_once(app, db_session):
    from tests.factories import make_user

    with db_session() as session:
        _product, variant = make_shop(session, stock=4)["items"][0]
        operator = make_user(session, roles=())
        order_id = place(session, [(variant.id, 2)]).id
    with app.test_request_context(), db_session() as session:
        payment = payment_of(session, order_id)
        assert payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                                  currency="CNY", by_user_id=operator.id)
    with app.test_request_context(), db_session() as session:
        payment = payment_of(session, order_id)
        assert not payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                                      currency="CNY", by_user_id=operator.id)
    with db_session() as session:
        _expire(session, order_id)
    assert run_job(app, "release_expired_holds") == 0
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.payment_status, order.paid_amount) == (PaymentStatus.PAID, 10000)
        hold = session.exec(select(StockHold).where(StockHold.order_id == order_id)).one()
        assert hold.status == HoldStatus.SOLD
        assert stock_of(session, variant.id) == 2
        change = session.exec(select(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id, OrderStatusChange.kind == "payment")).one()
        assert change.by_user_id == operator.id and change.at is not None
        subjects = [m.subject for m in session.exec(select(OutboxMail)).all()]
        assert len(subjects) == 1  # the paid mail (placing mail is sent by the view)


def test_payment_after_expiry_takes_stock_back_if_it_is_there(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, stock=2)["items"][0]
        order_id = place(session, [(variant.id, 2)]).id
        _expire(session, order_id)
    run_job(app, "release_expired_holds")
    with app.test_request_context(), db_session() as session:
        payment = payment_of(session, order_id)
        payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                           currency="CNY", by_system="test")
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PAID)
        assert order.needs_attention is None
        assert stock_of(session, variant.id) == 0


def test_payment_after_expiry_without_stock_is_flagged_for_refund(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, stock=2)["items"][0]
        order_id = place(session, [(variant.id, 2)]).id
        _expire(session, order_id)
    run_job(app, "release_expired_holds")
    with db_session() as session:
        place(session, [(variant.id, 1)])  # someone else takes one
    with app.test_request_context(), db_session() as session:
        payment = payment_of(session, order_id)
        payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                           currency="CNY", by_system="test")
    with db_session() as session:
        order = reload(session, order_id)
        assert order.payment_status == PaymentStatus.PAID
        assert order.status == OrderStatus.CANCELLED and order.needs_attention
        assert stock_of(session, variant.id) == 1


def test_two_versions_of_one_product_each_credit_its_makers_and_keep_english_names(
        app, db_session, client):
    """Lines snapshot the English names too, and an English order page shows them; two
    versions of one product each carry the product's makers."""
    from catalog.models import ProductVariant

    with db_session() as session:
        shop = make_shop(session, stock=5, price=1000)
        product, first = shop["items"][0]
        product.title_en = "Knot-button brooch"
        first.name, first.name_en = "红色", "Red"
        second = ProductVariant(product_id=product.id, sku=f"{first.sku}-B", name="蓝色",
                                name_en="Blue", price_amount=1200, stock=5)
        session.add_all([product, first, second])
        session.flush()
        order = place(session, [(first.id, 1), (second.id, 2)])
        order_id, token = order.id, order.public_token
    with db_session() as session:
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)
                             .order_by(OrderLine.variant_id)).all()
        assert [(line.product_name_en, line.variant_name_en) for line in lines] == [
            ("Knot-button brooch", "Red"), ("Knot-button brooch", "Blue")]
        for line in lines:
            shares = session.exec(select(OrderLineMaker).where(
                OrderLineMaker.order_line_id == line.id)).all()
            assert sorted(s.share_basis_points for s in shares) == [5000, 5000]
    client.get("/language/en")
    page = client.get(f"/orders/{token}").get_data(as_text=True)
    assert "Knot-button brooch (Blue)" in page
    assert product.title not in page
