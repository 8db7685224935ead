"""The access matrix's world: every role with an object of its own, and someone else's.

Built once per database with the real services. Each role's "own" object and the
"other" one (a second workshop, maker, stall, session, order...) are plain ids, slugs
and tokens, so the matrix can build URLs without an open database session.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from accounts import services as account_services
from accounts.auth import make_reset_token
from accounts.models import HostCapability, HostRole, Role
from catalog.models import ProductImage, ProductStatus, ProductVariant
from core.db import utcnow
from income import sales_points
from income.models import PayoutBatch
from income.task_order_models import TaskOrder, TaskOrderStatus, TaskOrderTask
from livestream import calendars, chat, room
from livestream.live_prices import start_live_price
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, SessionStatus
from livestream.room_models import BlockedWord
from shop.models import DownloadGrant, OrderLine
from shop.order_views import download_url
from tests.factories import make_product, make_user, make_workshop
from tests.income.helpers import paid_order
from tests.livestream.factories import make_host
from tests.shop.helpers import place

ROLES = ("anonymous", "shopper", "maker", "coordinator", "stall_seller", "presenter",
         "interpreter", "captioner", "operator")
TEAM = ("presenter", "interpreter", "captioner")


def _live(session, *, slug, workshop_id, presenter, status, products, team):
    now = utcnow()
    live = LiveSession(slug=slug, title="盘扣直播间", workshop_id=workshop_id,
                       presenter_id=presenter.id if presenter else None,
                       planned_start=now - timedelta(minutes=5),
                       planned_end=now + timedelta(minutes=55), status=status,
                       started_at=now - timedelta(minutes=5)
                       if status == SessionStatus.LIVE else None)
    session.add(live)
    session.flush()
    for position, product in enumerate(products):
        session.add(LiveSessionProduct(session_id=live.id, product_id=product.id,
                                       position=position))
    for role, host in team:
        session.add(LiveSessionSlot(session_id=live.id, role=role, starts_at=live.planned_start,
                                    ends_at=live.planned_end, is_required=True,
                                    host_id=host.id if host else None,
                                    claimed_at=now if host else None))
    session.flush()
    return live


def _variant(session, product):
    return session.exec(select(ProductVariant).where(
        ProductVariant.product_id == product.id)).one()


def _room_things(session, live, product, viewer, operator):
    """A question, a running live price and a blocked word in a live room."""
    message = chat.post_message(session=session, live=live, user=viewer, body="多少钱?",
                                is_question=True)
    room.add_caption(session=session, live=live, text="欢迎来到直播间", by_user_id=operator.id)
    price = start_live_price(session=session, live=live, variant_id=_variant(session, product).id,
                             price_amount=3000, quantity_limit=100, per_buyer_limit=5,
                             seconds=1200, by_user_id=operator.id)
    word = chat.add_blocked_word(session=session, workshop_id=live.workshop_id,
                                 word=f"骗子{live.id}", by_user_id=operator.id)
    return {"message": message.id, "price": price.id, "word": word.id}


def build_world(session, media_dir: str) -> dict:
    """Everyone and everything the matrix asks about; returns ids, slugs and tokens."""
    users = {
        "shopper": make_user(session, roles=(Role.SHOPPER,)),
        "maker": make_user(session, roles=(Role.MAKER,)),
        "coordinator": make_user(session, roles=(Role.MAKER,)),
        "stall_seller": make_user(session, roles=(Role.SHOPPER,)),
        "presenter": make_host(session, capabilities=((HostRole.PRESENTER, None, 0),)),
        "interpreter": make_host(session, capabilities=((HostRole.VOICE_INTERPRETER, None, 2),)),
        "captioner": make_host(session, capabilities=((HostRole.CAPTIONER, None, 1),)),
        "operator": make_user(session, roles=(Role.OPERATOR,)),
    }
    other_shopper = make_user(session, roles=(Role.SHOPPER,))
    other_maker = make_user(session, roles=(Role.MAKER,))
    colleague = make_user(session, roles=(Role.MAKER,))  # the maker's fellow member
    other_coordinator = make_user(session, roles=(Role.MAKER,))
    other_seller = make_user(session, roles=(Role.SHOPPER,))
    other_presenter = make_host(session, capabilities=((HostRole.PRESENTER, None, 0),))
    other_interpreter = make_host(session,
                                  capabilities=((HostRole.VOICE_INTERPRETER, None, 2),))
    other_captioner = make_host(session, capabilities=((HostRole.CAPTIONER, None, 1),))
    operator = users["operator"]

    own_workshop = make_workshop(session, makers=[users["maker"], colleague],
                                 coordinator=users["coordinator"])
    other_workshop = make_workshop(session, makers=[other_maker], coordinator=other_coordinator)
    own_product = make_product(session, workshop=own_workshop, makers=[users["maker"]],
                               stock=10000)
    other_product = make_product(session, workshop=other_workshop, makers=[other_maker],
                                 stock=10000)
    own_draft = make_product(session, workshop=own_workshop, makers=[users["maker"]],
                             status=ProductStatus.DRAFT)
    other_draft = make_product(session, workshop=other_workshop, makers=[other_maker],
                               status=ProductStatus.DRAFT)
    account_services.save_maker_profile(session=session, user=users["maker"],
                                        show_name_publicly=True)
    # Photos: one for each editor to delete, and one more, on each workshop's product.
    images = {}
    for name, product in (("own", own_product), ("other", other_product)):
        for holder in ("coordinator", "operator", "anyone"):
            image = ProductImage(product_id=product.id, content_hash=secrets.token_hex(16),
                                 width=640, height=640, rendition_widths="640", alt="盘扣")
            session.add(image)
            session.flush()
            images[(name, holder)] = image.id
    audiobook = make_product(session, workshop=own_workshop, makers=[users["maker"]],
                             stock=10000)
    audiobook.is_digital = True
    session.add(audiobook)
    session.flush()

    # Orders: the shopper's own (signed in), someone else's, and one for operator actions.
    own_order = paid_order(session, [(_variant(session, own_product).id, 1),
                                     (_variant(session, audiobook).id, 1)])
    own_order.user_id = users["shopper"].id
    other_order = paid_order(session, [(_variant(session, other_product).id, 1),
                                       (_variant(session, audiobook).id, 1)])
    other_order.user_id = other_shopper.id
    operator_order = place(session, [(_variant(session, other_product).id, 1)])
    session.add_all([own_order, other_order])
    session.flush()
    grants = {}
    for name, order in (("own", own_order), ("other", other_order)):
        grant = session.exec(select(DownloadGrant).join(
            OrderLine, OrderLine.id == DownloadGrant.order_line_id).where(
            OrderLine.order_id == order.id)).one()
        grant.max_downloads = 10000  # every role downloads: the link must not run out
        session.add(grant)
        grants[name] = download_url(grant)
    digital = Path(media_dir) / "digital" / str(audiobook.id)
    digital.mkdir(parents=True, exist_ok=True)
    (digital / "book.mp3").write_bytes(b"ID3 full audiobook")

    # Stalls: the seller runs one; another person runs the other.
    own_stall = sales_points.create_sales_point(session=session, slug="gulou", name="鼓楼站")
    other_stall = sales_points.create_sales_point(session=session, slug="museum", name="博物馆")
    sales_points.add_member(session=session, sales_point=own_stall,
                            user_id=users["stall_seller"].id)
    sales_points.add_member(session=session, sales_point=other_stall, user_id=other_seller.id)

    # Task orders: each workshop's, accepted and split; ours between the maker and the
    # colleague, theirs to their maker.
    task_orders, maker_tasks = {}, {}
    for workshop, makers in ((own_workshop, (users["maker"], colleague)),
                             (other_workshop, (other_maker,))):
        task_order = TaskOrder(workshop_id=workshop.id, organisation="甬城服饰",
                               contact_name="陈经理", contact_phone="057488886666",
                               product="盘扣", quantity=10 * len(makers),
                               deadline=utcnow().date() + timedelta(days=30),
                               price_per_piece_amount=70, status=TaskOrderStatus.ACCEPTED)
        session.add(task_order)
        session.flush()
        for maker in makers:
            session.add(TaskOrderTask(task_order_id=task_order.id, maker_id=maker.id,
                                      quantity=10))
            maker_tasks[maker.id] = task_order.id
        task_orders[workshop.id] = task_order.id
    session.flush()

    # Live sessions: ours (live, with the team), someone else's (live, another team), a
    # draft only operators see, and an upcoming one with an open slot to claim.
    own_live = _live(session, slug="our-room", workshop_id=own_workshop.id,
                     presenter=users["presenter"], status=SessionStatus.LIVE,
                     products=[own_product],
                     team=[(HostRole.PRESENTER, users["presenter"]),
                           (HostRole.VOICE_INTERPRETER, users["interpreter"]),
                           (HostRole.CAPTIONER, users["captioner"])])
    other_live = _live(session, slug="their-room", workshop_id=other_workshop.id,
                       presenter=other_presenter, status=SessionStatus.LIVE,
                       products=[other_product],
                       team=[(HostRole.PRESENTER, other_presenter),
                             (HostRole.VOICE_INTERPRETER, other_interpreter),
                             (HostRole.CAPTIONER, other_captioner)])
    draft_live = _live(session, slug="draft-room", workshop_id=own_workshop.id,
                       presenter=None, status=SessionStatus.DRAFT, products=[], team=[])
    upcoming = _live(session, slug="upcoming", workshop_id=own_workshop.id, presenter=None,
                     status=SessionStatus.SCHEDULED, products=[],
                     team=[(HostRole.CAPTIONER, None), (HostRole.CAPTIONER, users["captioner"]),
                           (HostRole.CAPTIONER, other_captioner)])
    upcoming.planned_start = utcnow() + timedelta(days=2)
    upcoming.planned_end = upcoming.planned_start + timedelta(hours=1)
    session.add(upcoming)
    slot_ids = {row.role.value if row.session_id == own_live.id else f"other_{row.role.value}":
                row.id for row in session.exec(select(LiveSessionSlot).where(
                    LiveSessionSlot.session_id.in_([own_live.id, other_live.id]))).all()}
    upcoming_slots = {row.host_id: row.id for row in session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == upcoming.id)).all()}
    own_room = _room_things(session, own_live, own_product, other_shopper, operator)
    other_room = _room_things(session, other_live, other_product, other_shopper, operator)

    # Files: a replay recording of a public and of a draft session, a public sample and a
    # photo; a private (paid) file under the sample's name must never be served as one.
    recordings = Path(media_dir) / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    for live in (own_live, draft_live):
        (recordings / f"live-{live.id}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    sample, private = secrets.token_hex(16) + ".mp3", secrets.token_hex(16) + ".mp3"
    for folder, name in (("samples", sample), ("private", private)):
        (Path(media_dir) / folder).mkdir(parents=True, exist_ok=True)
        (Path(media_dir) / folder / name).write_bytes(b"ID3 audio")
    photo = secrets.token_hex(16) + "-640.webp"
    (Path(media_dir) / "products").mkdir(parents=True, exist_ok=True)
    (Path(media_dir) / "products" / photo).write_bytes(b"RIFF\x00\x00\x00\x00WEBP")

    batch = PayoutBatch(month=utcnow().strftime("%Y-%m"), created_by_id=operator.id)
    session.add(batch)
    session.flush()
    feeds = {name: calendars.feed_token(session=session, user_id=users[name].id)
             for name in TEAM}
    feeds["other"] = calendars.feed_token(session=session, user_id=other_presenter.id)
    capability = session.exec(select(HostCapability.id).where(
        HostCapability.user_id == other_captioner.id)).one()
    blocked = session.exec(select(BlockedWord.id)).all()
    assert len(blocked) == 2
    return {
        "users": {name: (user.id, user.email) for name, user in users.items()},
        "capability": (other_captioner.id, capability),
        "image": images,
        "other_users": {"shopper": other_shopper.id, "maker": other_maker.id,
                        "coordinator": other_coordinator.id},
        "workshop": {"own": own_workshop.id, "other": other_workshop.id,
                     "own_slug": own_workshop.slug},
        "product": {"own": own_product.id, "other": other_product.id,
                    "own_slug": own_product.slug, "draft_slug": other_draft.slug,
                    "own_draft": own_draft.id, "other_draft": other_draft.id},
        "maker": {"own": users["maker"].id, "other": other_maker.id, "colleague": colleague.id},
        "order": {"own": own_order.public_token, "other": other_order.public_token,
                  "operator": operator_order.number},
        "download": grants,
        "stall": {"own": own_stall.id, "other": other_stall.id},
        "task_order": task_orders, "maker_task_order": maker_tasks,
        "live": {"own": own_live.slug, "other": other_live.slug, "draft": draft_live.slug,
                 "own_id": own_live.id, "other_id": other_live.id, "draft_id": draft_live.id,
                 "upcoming_id": upcoming.id},
        "room": {"own": own_room, "other": other_room},
        "slot": {**slot_ids, "open": upcoming_slots[None],
                 "own": upcoming_slots[users["captioner"].id],
                 "other": upcoming_slots[other_captioner.id]},
        "feed": feeds,
        "files": {"sample": sample, "private": private, "photo": photo},
        "batch": batch.id,
        "reset": make_reset_token(users["shopper"]),
        "month": utcnow().strftime("%Y-%m"),
    }
