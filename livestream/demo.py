"""Demo live sessions: the next few evenings' streams."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from accounts.models import HostRole
from core.db import utcnow
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, SessionStatus
from livestream.services import sync_required_slots
from livestream.slots import claim_slot

SHANGHAI = ZoneInfo("Asia/Shanghai")

# slug, title, title_en, days ahead, local start, minutes, presenter, workshop, products
SESSIONS = [
    ("pankou-evening", "盘扣之夜：手语带你看一针一线", "Knot-button evening, in sign language", 2,
     time(19, 0), 90, "host.yang", "hexin-pankou",
     ["pankou-plum-set", "pankou-butterfly", "pankou-bookmark"]),
    ("fabric-friday", "小勤布艺：布包怎么缝", "Xiaoqin's fabric crafts: sewing a tote", 4,
     time(19, 30), 45, "host.chen", "li-fabric", ["fabric-tote", "fabric-coasters"]),
    ("cart-and-tales", "小黄车和有声书", "Yellow carts and audiobooks", 6, time(15, 0), 60,
     "host.zhou", "yong-ai-cart", ["cart-cookies", "audiobook-tales"]),
]


def load_livestream(*, session: Session, people: dict, products: dict) -> None:
    """Scheduled sessions a few days ahead, in Shanghai evenings."""
    today = datetime.now(SHANGHAI).date()
    for (slug, title, title_en, days, start, minutes, presenter, workshop,
         product_slugs) in SESSIONS:
        existing = session.exec(select(LiveSession).where(LiveSession.slug == slug)).first()
        if existing is not None:
            _team(session, existing, people)
            continue
        local_start = datetime.combine(today + timedelta(days=days), start, tzinfo=SHANGHAI)
        live = LiveSession(
            slug=slug, title=title, title_en=title_en,
            description=f"{title}。主播用手语介绍，现场有手语翻译和语音翻译。",
            workshop_id=people["workshops"][workshop].id,
            presenter_id=people["hosts"][presenter].id,
            planned_start=local_start.astimezone(ZoneInfo("UTC")),
            planned_end=(local_start + timedelta(minutes=minutes)).astimezone(ZoneInfo("UTC")),
            status=SessionStatus.SCHEDULED)
        session.add(live)
        session.flush()
        for position, product_slug in enumerate(product_slugs):
            session.add(LiveSessionProduct(session_id=live.id,
                                           product_id=products[product_slug].id,
                                           position=position))
        session.flush()
        _team(session, live, people)
    session.flush()


def _team(session: Session, live: LiveSession, people: dict) -> None:
    """The presenter's slot and the interpreter slots they need; on the deaf presenter's
    90-minute evening one of the two voice interpreters has already signed up."""
    has_presenter_slot = session.exec(select(LiveSessionSlot.id).where(
        LiveSessionSlot.session_id == live.id,
        LiveSessionSlot.role == HostRole.PRESENTER)).first()
    if not has_presenter_slot and live.presenter_id:
        session.add(LiveSessionSlot(
            session_id=live.id, role=HostRole.PRESENTER, starts_at=live.planned_start,
            ends_at=live.planned_end, is_required=True, host_id=live.presenter_id,
            claimed_at=utcnow()))
        session.flush()
    sync_required_slots(session=session, live=live)
    if live.slug != "pankou-evening" or live.planned_start <= utcnow():
        return
    team = session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == live.id,
        LiveSessionSlot.role == HostRole.VOICE_INTERPRETER)
        .order_by(LiveSessionSlot.team_position)).all()
    wang = people["hosts"]["interp.wang"]
    if team and all(slot.host_id != wang.id for slot in team) and team[0].host_id is None:
        claim_slot(session=session, slot_id=team[0].id, host=wang)
