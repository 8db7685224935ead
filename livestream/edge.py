"""The live edge, as the app sees it: stream keys, the decisions behind nginx-rtmp's
callbacks (may this key push now? the picture started, stopped, was recorded), the
addresses viewers load the picture and the events from, and whether the edge answers.

Without LIVE_EDGE_URL none of this is used: streams are the addresses an operator typed
and events come from the app's own stream (livestream/room_views.py).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from core.db import utcnow
from core.errors import DomainError
from core.events import bus, publish_after_commit
from livestream.edge_models import LiveStreamKey, StreamRole
from livestream.lifecycle import GO_LIVE_EARLY
from livestream.live_prices import channel
from livestream.models import LiveSession, SessionStatus

logger = logging.getLogger(__name__)

RECORDINGS_URL_PREFIX = "/media/recordings/"


class PushRefused(DomainError):
    """The edge must not take this push (unknown key, or not the session's time)."""

    status_code = 403
    code = "push_refused"


def edge_enabled() -> bool:
    """True when the app runs behind the live edge (LIVE_EDGE_URL is set)."""
    return bool(current_app.config.get("LIVE_EDGE_URL"))


def control_channel(live_id: int) -> str:
    """The control room's own events channel (the picture reaching the edge)."""
    return f"live-{live_id}-control"


def stream_name(live_id: int, role: StreamRole) -> str:
    """The public name a pushed picture has at the edge (never its key)."""
    return f"live-{live_id}" if role == StreamRole.PRESENTER else f"live-{live_id}-signer"


def parse_stream_name(name: str) -> tuple[int, StreamRole] | None:
    """The session id and role of a public stream name, or None."""
    role = StreamRole.PRESENTER
    if name.endswith("-signer"):
        name, role = name[:-len("-signer")], StreamRole.INTERPRETER
    number = name.removeprefix("live-")
    if not name.startswith("live-") or not number.isdecimal() or len(number) > 12:
        return None
    return int(number), role


def hls_url(live_id: int, role: StreamRole) -> str:
    """Where browsers load a picture's HLS playlist from."""
    base = current_app.config.get("LIVE_EDGE_PUBLIC_URL") or ""
    return f"{base}/edge/hls/{stream_name(live_id, role)}/index.m3u8"


def events_url(channel_name: str) -> str:
    """Where browsers subscribe to a channel at the edge (Nchan)."""
    base = current_app.config.get("LIVE_EDGE_PUBLIC_URL") or ""
    return f"{base}/edge/events/{channel_name}"


def rtmp_server() -> str:
    """The server address a presenter types into OBS or a phone app."""
    return str(current_app.config.get("LIVE_EDGE_RTMP_URL") or "")


# Keys ------------------------------------------------------------------------------
def _new_key() -> str:
    return secrets.token_urlsafe(32)


def stream_keys(*, session: Session, live: LiveSession) -> dict[StreamRole, LiveStreamKey]:
    """The session's keys, one per role, made on first need. Two control rooms opened
    at once make each key once (the unique role per session decides)."""
    keys = {k.role: k for k in session.exec(select(LiveStreamKey).where(
        LiveStreamKey.session_id == live.id)).all()}
    for role in StreamRole:
        if role in keys:
            continue
        try:
            with session.begin_nested():
                key = LiveStreamKey(session_id=live.id, role=role, key=_new_key())
                session.add(key)
        except sa.exc.IntegrityError:
            key = session.exec(select(LiveStreamKey).where(
                LiveStreamKey.session_id == live.id, LiveStreamKey.role == role)).one()
        keys[role] = key
    return keys


def renew_key(*, session: Session, live: LiveSession, role: StreamRole) -> LiveStreamKey:
    """A new key for `role`; the old one stops working, and a push made with it is cut."""
    keys = stream_keys(session=session, live=live)
    key = keys[role]
    old = key.key
    key.key = _new_key()
    key.created_at = utcnow()
    session.add(key)
    session.flush()
    events = bus()
    drop = getattr(events, "drop_publisher", None)
    if drop is not None:
        from core.db import after_commit

        after_commit(session, lambda: drop(old))
    return key


# The edge's callbacks ----------------------------------------------------------------
def may_push_now(live: LiveSession, now: datetime) -> bool:
    """Live, or scheduled and within GO_LIVE_EARLY of its start (to check picture and
    sound before going live), and never after its planned end."""
    if live.status == SessionStatus.LIVE:
        return True
    return (live.status == SessionStatus.SCHEDULED
            and live.planned_start - GO_LIVE_EARLY <= now < live.planned_end)


def accept_push(*, session: Session, key: str, now: datetime | None = None) -> str:
    """The public stream name for a push made with `key`, or PushRefused."""
    now = now or utcnow()
    if not isinstance(key, str) or not 20 <= len(key) <= 64:
        raise PushRefused(_l("This stream key is not one of ours."))
    row = session.exec(select(LiveStreamKey).where(LiveStreamKey.key == key)).first()
    if row is None:
        raise PushRefused(_l("This stream key is not one of ours."))
    live = session.get(LiveSession, row.session_id)
    if live is None or not may_push_now(live, now):
        raise PushRefused(_l("This session is not live or about to go live."))
    row.publishing_since = now
    session.add(row)
    session.flush()
    _announce_picture(session, live, row.role, reaching=True)
    return stream_name(live.id, row.role)


def push_stopped(*, session: Session, key: str, now: datetime | None = None) -> None:
    """The edge stopped receiving a push made with `key` (or the key it had then)."""
    row = session.exec(select(LiveStreamKey).where(LiveStreamKey.key == key)).first()
    if row is None or row.publishing_since is None:
        return
    row.publishing_since = None
    row.last_stopped_at = now or utcnow()
    session.add(row)
    session.flush()
    live = session.get(LiveSession, row.session_id)
    if live is not None:
        _announce_picture(session, live, row.role, reaching=False)


def _announce_picture(session: Session, live: LiveSession, role: StreamRole, *,
                      reaching: bool) -> None:
    publish_after_commit(session, control_channel(live.id), "picture",
                         {"role": role.value, "reaching": reaching})
    publish_after_commit(session, channel(live.id), "streams",
                         stream_addresses(session=session, live=live))


def publishing_roles(session: Session, live_id: int) -> set[StreamRole]:
    """The roles whose picture the edge receives now."""
    return set(session.exec(select(LiveStreamKey.role).where(
        LiveStreamKey.session_id == live_id, LiveStreamKey.publishing_since.is_not(None))).all())


def stream_addresses(*, session: Session, live: LiveSession) -> dict:
    """What the viewer's player loads: the edge's picture while it is pushed there,
    otherwise the addresses typed in the control room."""
    pushed = publishing_roles(session, live.id) if edge_enabled() else set()
    return {
        "presenter_stream_url": hls_url(live.id, StreamRole.PRESENTER)
        if StreamRole.PRESENTER in pushed else live.stream_url,
        "interpreter_stream_url": hls_url(live.id, StreamRole.INTERPRETER)
        if StreamRole.INTERPRETER in pushed else live.interpreter_stream_url,
        "recording_url": live.recording_url,
    }


def edge_status(*, session: Session, live: LiveSession) -> dict | None:
    """What the control room says about the edge: does it answer, and which pictures
    reach viewers. None without an edge."""
    if not edge_enabled():
        return None
    events = bus()
    answers = events.edge_answers() if hasattr(events, "edge_answers") else True
    pushed = publishing_roles(session, live.id)
    return {"edge_up": answers,
            "presenter": answers and StreamRole.PRESENTER in pushed,
            "interpreter": answers and StreamRole.INTERPRETER in pushed}
