"""Demo live sessions: the next few evenings' streams."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from accounts.models import HostRole, User
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


LIVE_NOW = ("live-now", "现在直播：盘扣胸针，手语讲解", "Live now: knot-button brooches, in sign language",
            ["pankou-plum-set", "pankou-butterfly", "pankou-bookmark"])


def load_livestream(*, session: Session, people: dict, products: dict) -> None:
    """Last week's stream (a replay), a room that is live now, and scheduled sessions a
    few days ahead."""
    _last_week(session, people, products)
    _live_now(session, people, products)
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


def _live_now(session: Session, people: dict, products: dict) -> None:
    """A deaf presenter's room, live from the moment the demo is loaded: a product shown,
    a voice interpreter and a captioner on, a question answered and one waiting. The
    control room (as host.yang or the operator) has a live price ready to start."""
    slug, title, title_en, product_slugs = LIVE_NOW
    if session.exec(select(LiveSession.id).where(LiveSession.slug == slug)).first():
        return
    from livestream.room_models import LiveCaption, LiveMessage, LivePin

    now = utcnow()
    presenter = people["hosts"]["host.yang"]
    live = LiveSession(
        slug=slug, title=title, title_en=title_en,
        description="小杨用手语介绍盘扣胸针，王敏做语音翻译，何芳打字幕。现在下单有直播价。",
        description_en="Xiao Yang presents knot-button brooches in sign language; Wang Min "
                       "voices her, He Fang types the captions.",
        workshop_id=people["workshops"]["hexin-pankou"].id, presenter_id=presenter.id,
        planned_start=now - timedelta(minutes=5), planned_end=now + timedelta(minutes=55),
        status=SessionStatus.LIVE, started_at=now - timedelta(minutes=5),
        # Test patterns standing for the studio's picture and the interpreter's own one.
        stream_url="/static/demo/studio.webm", interpreter_stream_url="/static/demo/signer.webm")
    session.add(live)
    session.flush()
    for position, product_slug in enumerate(product_slugs):
        session.add(LiveSessionProduct(session_id=live.id, product_id=products[product_slug].id,
                                       position=position))
    session.add(LiveSessionSlot(session_id=live.id, role=HostRole.PRESENTER,
                                starts_at=live.planned_start, ends_at=live.planned_end,
                                is_required=True, host_id=presenter.id, claimed_at=now))
    session.flush()
    sync_required_slots(session=session, live=live)
    for slot in session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.session_id == live.id, LiveSessionSlot.host_id.is_(None))).all():
        slot.host_id, slot.claimed_at = people["hosts"]["interp.wang"].id, now
        session.add(slot)
    session.add(LiveSessionSlot(session_id=live.id, role=HostRole.CAPTIONER,
                                starts_at=live.planned_start, ends_at=live.planned_end,
                                host_id=people["hosts"]["caption.he"].id, claimed_at=now))
    session.add(LivePin(session_id=live.id, product_id=products[product_slugs[0]].id,
                        pinned_at=now - timedelta(minutes=3), pinned_by_id=presenter.id))
    shopper = session.exec(select(User).where(User.email == "shopper@demo.gongfang.cn")).one()
    session.add(LiveMessage(session_id=live.id, user_id=shopper.id,
                            author_name=shopper.display_name, body="梅花盘扣有红色的吗？",
                            created_at=now - timedelta(minutes=2), answer="有的，红色和墨绿色都有。",
                            answered_at=now - timedelta(minutes=1),
                            answered_by_id=presenter.id))
    session.add(LiveMessage(session_id=live.id, user_id=shopper.id,
                            author_name=shopper.display_name, body="可以做成胸针送人吗？",
                            created_at=now - timedelta(seconds=30)))
    for seconds, text in ((170, "大家好，我是小杨，今天给大家介绍盘扣胸针。"),
                          (100, "这一款是梅花盘扣，每一针都是手工缝的。")):
        session.add(LiveCaption(session_id=live.id, text=text,
                                created_at=now - timedelta(seconds=seconds),
                                by_user_id=people["hosts"]["caption.he"].id))
    session.flush()


LAST_WEEK = ("pankou-last-week", "上周回放：盘扣的故事", "Last week: the story of knot buttons")


def _last_week(session: Session, people: dict, products: dict) -> None:
    """An ended stream by the same presenter: its replay has chapters, captions and
    answered questions; the demo income's stream orders were bought in it."""
    slug, title, title_en = LAST_WEEK
    if session.exec(select(LiveSession.id).where(LiveSession.slug == slug)).first():
        return
    from livestream.room_models import LiveCaption, LiveMessage, LivePin, LiveViewer

    presenter = people["hosts"]["host.yang"]
    start = (utcnow() - timedelta(days=7)).replace(second=0, microsecond=0)
    live = LiveSession(
        slug=slug, title=title, title_en=title_en,
        description="小杨讲盘扣的故事和做法。", workshop_id=people["workshops"]["hexin-pankou"].id,
        presenter_id=presenter.id, planned_start=start, planned_end=start + timedelta(minutes=45),
        status=SessionStatus.ENDED, started_at=start, ended_at=start + timedelta(minutes=42),
        recording_url="/static/demo/studio.webm", peak_viewers=38)
    session.add(live)
    session.flush()
    for position, product_slug in enumerate(["pankou-plum-set", "pankou-bookmark"]):
        session.add(LiveSessionProduct(session_id=live.id, product_id=products[product_slug].id,
                                       position=position))
        session.add(LivePin(session_id=live.id, product_id=products[product_slug].id,
                            pinned_at=start + timedelta(minutes=2 + 18 * position),
                            unpinned_at=start + timedelta(minutes=20 + 20 * position),
                            pinned_by_id=presenter.id))
    session.add(LiveSessionSlot(session_id=live.id, role=HostRole.PRESENTER, starts_at=start,
                                ends_at=live.planned_end, is_required=True,
                                host_id=presenter.id, claimed_at=start))
    shopper = session.exec(select(User).where(User.email == "shopper@demo.gongfang.cn")).one()
    session.add(LiveMessage(session_id=live.id, user_id=shopper.id,
                            author_name=shopper.display_name, body="书签可以寄到外地吗？",
                            created_at=start + timedelta(minutes=25), answer="可以，全国包邮。",
                            answered_at=start + timedelta(minutes=26),
                            answered_by_id=presenter.id))
    for minute, text in ((1, "大家好，今天讲盘扣的故事。"), (3, "盘扣是中国传统的扣子。"),
                         (21, "这是盘扣书签，送朋友很合适。")):
        session.add(LiveCaption(session_id=live.id, text=text,
                                created_at=start + timedelta(minutes=minute)))
    for n in range(38):
        session.add(LiveViewer(session_id=live.id, viewer_key=f"demo:{n}",
                               first_seen_at=start + timedelta(minutes=n % 30)))
    session.flush()
