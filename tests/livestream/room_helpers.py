"""A live room to test with: a live session presenting a workshop's products, its team,
and helpers to buy in it as a viewer does."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from accounts.models import HostRole, Role
from catalog.models import ProductVariant
from core.db import utcnow
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, SessionStatus
from tests.factories import make_user
from tests.livestream.factories import make_deaf_presenter, make_host
from tests.shop.helpers import make_shop


def make_live_room(session, *, stock=10, price=5000, products=2, status=SessionStatus.LIVE):
    """A live session with `products` products in its line-up and a full team."""
    shop = make_shop(session, stock=stock, price=price, products=products)
    presenter = make_deaf_presenter(session)
    interpreter = make_host(session, capabilities=((HostRole.VOICE_INTERPRETER, None, 2),))
    captioner = make_host(session, capabilities=((HostRole.CAPTIONER, None, 1),))
    now = utcnow()
    live = LiveSession(slug=f"room-{presenter.id}", title="盘扣直播间",
                       title_en="Knot buttons live",
                       workshop_id=shop["workshop"].id, presenter_id=presenter.id,
                       planned_start=now - timedelta(minutes=5),
                       planned_end=now + timedelta(minutes=55), status=status,
                       started_at=now - timedelta(minutes=5)
                       if status in (SessionStatus.LIVE, SessionStatus.ENDED) else None)
    session.add(live)
    session.flush()
    for position, (product, _variant) in enumerate(shop["items"]):
        session.add(LiveSessionProduct(session_id=live.id, product_id=product.id,
                                       position=position))
    for role, host in ((HostRole.PRESENTER, presenter), (HostRole.VOICE_INTERPRETER, interpreter),
                       (HostRole.CAPTIONER, captioner)):
        session.add(LiveSessionSlot(session_id=live.id, role=role, starts_at=live.planned_start,
                                    ends_at=live.planned_end, is_required=True,
                                    host_id=host.id, claimed_at=now))
    session.flush()
    return {**shop, "live": live, "presenter": presenter, "interpreter": interpreter,
            "captioner": captioner,
            "operator": make_user(session, roles=(Role.OPERATOR,)),
            "viewer": make_user(session, roles=(Role.SHOPPER,))}


def variant_of(session, product_id):
    """The one version of a test product."""
    return session.exec(select(ProductVariant).where(
        ProductVariant.product_id == product_id)).first()
