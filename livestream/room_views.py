"""The viewer's live room: the page, its events stream, the polling fallback, posting
questions, and the captions track. The session page (livestream.views.session_page)
shows the room while the session is live and the replay once it has ended."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_time
from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from catalog.queries import main_images
from core.db import get_session, utcnow
from core.errors import NotFound, wants_json
from core.events import bus, event_stream_response
from core.forms import form_view
from core.timezones import viewer_zone
from livestream import chat, edge, replay, room
from livestream.attribution import mark_watching, viewer_key
from livestream.live_prices import channel
from livestream.models import LiveSession, SessionStatus
from livestream.room_forms import MessageForm
from livestream.room_models import LiveMute
from livestream.room_state import snapshot
from livestream.viewers import viewer_log
from livestream.views import _visible_session, bp


@bp.app_template_filter("local_clock")
def local_clock(value: datetime | str | None) -> str:
    """A moment (a datetime, or ISO text from an event) as the viewer's clock time."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_time(moment.astimezone(viewer_zone()), "short", locale=str(get_locale()))


def room_page(live: LiveSession, *, form: MessageForm | None = None, status: int = 200,
              context: dict | None = None):
    """The live room as it is now, rendered for this viewer (the events take it on)."""
    session = get_session()
    key, new_viewer = viewer_key(request, current_user)
    if live.status == SessionStatus.LIVE:
        viewer_log().note(live.id, key)
    position = bus().latest_id(channel(live.id))
    state = snapshot(session=session, live=live)
    muted = current_user.is_authenticated and session.exec(select(LiveMute.id).where(
        LiveMute.session_id == live.id, LiveMute.user_id == current_user.id)).first()
    lineup = room.lineup(session=session, live_id=live.id)
    images = main_images(session=session, product_ids=[p.id for p, _v in lineup])
    streams = state["streams"]
    body = render_template(
        "livestream/room.html", live=live, lineup=lineup, state=state, position=position,
        message_form=form or MessageForm(formdata=None), muted=bool(muted), images=images,
        products={product.id: (product, variants) for product, variants in lineup},
        now=utcnow(), has_errors=bool(form and form.errors), streams=streams,
        events_url=edge.events_url(channel(live.id)) if edge.edge_enabled() else None,
        # hls.js for browsers without HLS of their own, when a playlist may play here.
        hls_player=edge.edge_enabled() or any(
            (url or "").split("?")[0].endswith(".m3u8") for url in streams.values()),
        **(context or {}))
    return mark_watching(Response(body, status=status), live.id, new_viewer)


@bp.route("/live/<slug>/events")
def room_events(slug: str):
    """The room's Server-Sent Events; a reconnecting browser resumes from Last-Event-ID."""
    live = _visible_session(slug)
    key, new_viewer = viewer_key(request, current_user)
    if live.status == SessionStatus.LIVE:
        viewer_log().note(live.id, key)
    last = request.headers.get("Last-Event-ID") or request.args.get("lastEventId")
    session = get_session()
    response = event_stream_response(
        channel(live.id), last_event_id=(last or "")[:64] or None,
        snapshot=lambda: snapshot(session=session, live=live))
    return mark_watching(response, live.id, new_viewer)


@bp.route("/live/<slug>/state.json")
def room_state(slug: str):
    """The room now, for browsers that cannot keep an events stream open (they poll)."""
    live = _visible_session(slug)
    key, new_viewer = viewer_key(request, current_user)
    if live.status == SessionStatus.LIVE:
        viewer_log().note(live.id, key)
    body = {"last_event_id": bus().latest_id(channel(live.id)),
            "state": snapshot(session=get_session(), live=live)}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return mark_watching(response, live.id, new_viewer)


@bp.route("/live/<slug>/messages", methods=["POST"])
@form_view
def room_message(slug: str):
    """Post a question or a message to the room (signed-in viewers)."""
    live = _visible_session(slug)
    if not current_user.is_authenticated:
        if wants_json():
            return jsonify({"error": {"code": "sign_in", "message": _(
                "Sign in to ask a question.")}}), 401
        return redirect(url_for("accounts.login", next=url_for(
            "livestream.session_page", slug=slug)))
    form = MessageForm()
    if not form.validate_on_submit():
        return _refused_message(live, form, form.error_list()[0][1], 400)
    try:
        message = chat.post_message(session=get_session(), live=live, user=current_user,
                                    body=form.body.data, is_question=form.is_question.data)
    except chat.MessageRefused as refused:
        form.body.errors = [str(refused.message)]
        return _refused_message(live, form, str(refused.message),
                                429 if refused.retry_after else 400, refused.retry_after)
    if wants_json():
        return jsonify({"ok": True, "id": message.id,
                        "message": _("Your message is in the room.")})
    flash(_("Your message is in the room."), "success")
    return redirect(url_for("livestream.session_page", slug=slug) + "#room-qa", code=303)


def _refused_message(live, form, message: str, status: int, retry_after: int | None = None):
    get_session().rollback()
    if wants_json():
        response = jsonify({"error": {"code": "message_refused", "message": message,
                                      "field": "body"}})
        response.status_code = status
    else:
        response = room_page(live, form=form, status=status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/live/<slug>/captions.vtt")
def room_captions(slug: str):
    """The live captions as a WebVTT track, timed from the start of the stream."""
    live = _visible_session(slug)
    if live.started_at is None:
        raise NotFound(_("This stream has no captions yet."))
    return Response(replay.captions_vtt(session=get_session(), live=live),
                    mimetype="text/vtt", headers={"Cache-Control": "public, max-age=30"})
