"""A small shop with a maker, their coordinator, two shoppers and paid orders, for the
personal-data tests (export, erasure, consent), built with the real services."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from accounts import services as account_services
from accounts.models import Role
from catalog.models import ProductVariant
from core.db import utcnow
from income.models import PayoutMethod
from income.payouts import pay_maker
from livestream.models import LiveSession, SessionStatus
from livestream.room_models import LiveMessage
from shop.models import DeliveryMethod, FulfilmentStatus
from shop.orders import Contact, Delivery
from shop.payments import mark_paid, set_fulfilment
from tests.factories import make_product, make_user, make_workshop
from tests.shop.helpers import payment_of, place

SHOPPER_EMAIL, SHOPPER_PHONE = "shopper.li@example.cn", "13811112222"
OTHER_EMAIL, OTHER_PHONE = "other.wu@example.cn", "13933334444"
MAKER_EMAIL, MAKER_PHONE = "maker.wang@example.cn", "13755556666"
HOME = Delivery(method=DeliveryMethod.DELIVERY, province="浙江省", city="宁波市",
                district="海曙区", street="中山西路 88 号 3 室")
OTHER_HOME = Delivery(method=DeliveryMethod.DELIVERY, province="浙江省", city="宁波市",
                      district="鄞州区", street="天童南路 7 号")


def _paid(session, variant_id, quantity, *, user, contact, delivery, operator):
    order = place(session, [(variant_id, quantity)], user_id=user.id, contact=contact,
                  delivery=delivery)
    mark_paid(session=session, payment=payment_of(session, order.id),
              amount=order.total_amount, currency=order.currency, by_user_id=operator.id)
    set_fulfilment(session=session, order=order, to=FulfilmentStatus.SHIPPED,
                   by_user_id=operator.id, notify=False)
    session.refresh(order)
    return order


def build(session, *, pay_out: bool = True) -> dict:
    """Ids of everyone and everything; the maker's income is paid out when `pay_out`."""
    operator = make_user(session, roles=(Role.OPERATOR,), email="op.zhang@example.cn")
    maker = make_user(session, roles=(Role.MAKER,), email=MAKER_EMAIL, phone=MAKER_PHONE,
                      name="王秀英")
    coordinator = make_user(session, roles=(Role.MAKER,), email="coord@example.cn",
                            name="陈美华")
    workshop = make_workshop(session, makers=[maker], coordinator=coordinator)
    account_services.save_maker_profile(
        session=session, user=maker, public_name="王师傅", story="我在象山编盘扣。",
        show_name_publicly=True, show_story_publicly=False, disability_consent=True,
        disability_category="hearing")
    product = make_product(session, workshop=workshop, makers=[maker], price=12000, stock=50,
                           title="梅花盘扣")
    variant_id = session.exec(select(ProductVariant.id).where(
        ProductVariant.product_id == product.id)).one()
    shopper = make_user(session, email=SHOPPER_EMAIL, phone=SHOPPER_PHONE, name="李小红")
    other = make_user(session, email=OTHER_EMAIL, phone=OTHER_PHONE, name="吴大伟")
    mine = _paid(session, variant_id, 2, user=shopper, operator=operator,
                 contact=Contact("李小红", SHOPPER_EMAIL, SHOPPER_PHONE), delivery=HOME)
    theirs = _paid(session, variant_id, 1, user=other, operator=operator,
                   contact=Contact("吴大伟", OTHER_EMAIL, OTHER_PHONE), delivery=OTHER_HOME)
    start = utcnow() - timedelta(days=2)
    live = LiveSession(slug="pankou-live", title="盘扣直播", planned_start=start,
                       planned_end=start + timedelta(hours=1), status=SessionStatus.ENDED)
    session.add(live)
    session.flush()
    session.add(LiveMessage(session_id=live.id, user_id=shopper.id, author_name="李小红",
                            body="梅花盘扣有红色的吗？"))
    session.add(LiveMessage(session_id=live.id, user_id=other.id, author_name="吴大伟",
                            body="可以寄到外地吗？"))
    session.flush()
    if pay_out:
        from income.payouts import payable

        pay_maker(session=session, maker_id=maker.id, amount=payable(session, maker.id),
                  method=PayoutMethod.BANK, reference="BANK-REF-1", by_user_id=operator.id)
    return {"operator": operator.id, "maker": maker.id, "coordinator": coordinator.id,
            "workshop": workshop.id, "shopper": shopper.id, "other": other.id,
            "order": mine.number, "other_order": theirs.number, "live": live.id,
            "variant": variant_id}
