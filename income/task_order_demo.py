"""Demo task order: a company asks the knot-button workshop for 2,000 buttons; the
coordinator accepted, three members recorded pieces (not yet delivered, so nothing is
booked and the month's income stays as the demo orders made it).

Found by its organisation and workshop, so loading twice adds nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from accounts.models import Workshop
from income import task_orders as service
from income.task_order_models import TaskOrder

ORGANISATION = "宁波甬城服饰有限公司"
# (member's demo email, pieces to make, pieces made so far)
SHARES = [("knot1@demo.gongfang.cn", 700, 300), ("knot2@demo.gongfang.cn", 800, 500),
          ("knot3@demo.gongfang.cn", 500, 200)]


def load_task_orders(*, session: Session, people: dict) -> None:
    """The 2,000-button task order, accepted, split and two-thirds of the way short."""
    workshop = session.exec(select(Workshop).where(Workshop.slug == "hexin-pankou")).first()
    makers = [people["makers"].get(email) for email, _q, _d in SHARES]
    if workshop is None or None in makers or session.exec(select(TaskOrder.id).where(
            TaskOrder.workshop_id == workshop.id,
            TaskOrder.organisation == ORGANISATION)).first() is not None:
        return
    order = service.request_task_order(
        session=session, workshop=workshop, organisation=ORGANISATION,
        contact_name="陈经理", contact_email="chen@yongcheng.example.cn",
        contact_phone="0574 8765 4321", product="盘扣", quantity=2000,
        deadline=service.today_local() + timedelta(days=21), price_per_piece=70,
        message="旗袍用的红色一字扣，两厘米，月底前要。")
    service.accept(session=session, order=order, by_user_id=makers[0].id)
    service.set_split(session=session, order=order, quantities={
        maker.id: quantity for maker, (_e, quantity, _d) in zip(makers, SHARES, strict=True)})
    for maker, (_email, _quantity, done) in zip(makers, SHARES, strict=True):
        service.record_pieces(session=session, order=order, maker_id=maker.id, pieces=done)
