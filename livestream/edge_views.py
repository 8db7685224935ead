"""What the live edge asks the app (nginx-rtmp's callbacks, Nchan's subscription checks),
the control room's stream keys, and the replay's recordings.

The callbacks come from nginx, never from a browser: the edge adds its secret as a
header (compared in constant time, never in a URL or a log), and they need no CSRF
token.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import unquote, urlsplit

from flask import Response, abort, current_app, request, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user

from accounts.access import has_role
from accounts.models import Role
from core.audit import record
from core.db import get_session, utcnow
from core.errors import NotAllowed
from core.events.nchan import edge_secret
from core.forms import csrf_exempt
from livestream import edge, recordings, room
from livestream.control_views import _control, _done
from livestream.edge_models import StreamRole
from livestream.models import LiveSession
from livestream.views import PUBLIC, bp

logger = logging.getLogger(__name__)


def _from_the_edge() -> None:
    """Refuse a callback without the edge's secret (404: nothing to see here)."""
    if not edge.edge_enabled():
        abort(404)
    token = request.headers.get("X-Edge-Secret", "")
    if not hmac.compare_digest(token.encode(), edge_secret(current_app.config).encode()):
        logger.warning("live edge: a callback to %s without the edge's secret", request.path)
        abort(404)


@bp.route("/edge/rtmp/publish", methods=["POST"])
@csrf_exempt
def edge_publish():
    """May this key push now? Yes: a redirect to the session's public stream name."""
    _from_the_edge()
    key = request.form.get("name", "")
    try:
        name = edge.accept_push(session=get_session(), key=key)
    except edge.PushRefused as refused:
        # No client address: the app's logs hold none (core/access_log.py); a refused
        # push is a presenter with an old key far more often than an attacker.
        logger.info("live edge: refused a push: %s", refused.message)
        return Response(str(refused.message), status=403, mimetype="text/plain")
    logger.info("live edge: %s is reaching the edge", name)
    # A relative Location: nginx-rtmp renames the stream to exactly this.
    response = Response("", status=302)
    response.headers["Location"] = name
    response.autocorrect_location_header = False
    return response


@bp.route("/edge/rtmp/publish-done", methods=["POST"])
@csrf_exempt
def edge_publish_done():
    """A push stopped (the presenter ended it, or the connection dropped)."""
    _from_the_edge()
    edge.push_stopped(session=get_session(), key=request.form.get("name", ""))
    return Response("", status=200)


@bp.route("/edge/rtmp/record-done", methods=["POST"])
@csrf_exempt
def edge_record_done():
    """A recorded piece is complete: make the replay's video from it, off this request."""
    _from_the_edge()
    path = request.form.get("path", "")
    if not recordings.PIECE.fullmatch(path.rsplit("/", 1)[-1]):
        return Response("not a recording", status=400, mimetype="text/plain")
    recordings.make_replay_in_background(current_app._get_current_object(), path)
    return Response("", status=202)


@bp.route("/edge/events/authorize")
def edge_authorize_events():
    """Nchan asks before it lets a browser subscribe: a session's room channel is open to
    whoever may see the session; its control-room channel only to the stream's team."""
    original = unquote(urlsplit(request.headers.get("X-Original-URI", "")).path)
    name = original.removeprefix("/edge/events/")
    if name == original:
        return Response(status=403)
    control = name.endswith("-control")
    parsed = edge.parse_stream_name(name.removesuffix("-control"))
    if parsed is None or parsed[1] != StreamRole.PRESENTER:
        return Response(status=403)
    session = get_session()
    live = session.get(LiveSession, parsed[0])
    if live is None:
        return Response(status=403)
    if control:
        allowed = room.room_access(session=session, live=live, user=current_user).enter
    else:
        allowed = live.status in PUBLIC or has_role(Role.OPERATOR)
    response = Response(status=204 if allowed else 403)
    response.headers["Cache-Control"] = "no-store"
    return response


def may_hold_key(access: room.RoomAccess, role: StreamRole) -> bool:
    """Who sees and renews a key: those who run the stream, both; an interpreter, the
    interpreter's."""
    return access.run or (role == StreamRole.INTERPRETER
                          and bool(access.roles & room.INTERPRETERS))


@bp.route("/live/<slug>/control/stream-keys/<role>/renew", methods=["POST"])
def control_renew_key(slug: str, role: str):
    """A new key for the presenter's or the interpreter's push; the old one stops."""
    live, access = _control(slug)
    try:
        which = StreamRole(role)
    except ValueError:
        abort(404)
    if not may_hold_key(access, which):
        raise NotAllowed(_("Your part in this stream does not include this."))
    edge.renew_key(session=get_session(), live=live, role=which)
    record(get_session(), actor=current_user.id, action="stream_key.renew",
           subject_type="live_session", subject_id=live.id, details={"role": which.value})
    return _done(live, _("The key is renewed. Put the new key into your streaming app; "
                         "the old key no longer works."), "#control-edge")


@bp.route("/media/recordings/<name>")
def recording_file(name: str):
    """A replay's recording (byte ranges, so the player can jump to a chapter)."""
    parsed = edge.parse_stream_name(name.removesuffix(".mp4")) if name.endswith(".mp4") \
        else None
    if parsed is None:
        abort(404)
    folder = recordings.recordings_dir(current_app.config["MEDIA_DIR"])
    live = get_session().get(LiveSession, parsed[0]) if parsed else None
    if live is None or (live.status not in PUBLIC and not has_role(Role.OPERATOR)):
        abort(404)
    return send_from_directory(folder, name, max_age=300, conditional=True)


def control_edge_context(live: LiveSession, access) -> dict:
    """What the control room's edge panel shows: the push address, the keys (only to
    those who run the stream), and whether each picture reaches viewers."""
    if not edge.edge_enabled():
        return {"edge": None}
    session = get_session()
    keys = {role: key for role, key in edge.stream_keys(session=session, live=live).items()
            if may_hold_key(access, role)} if access.enter else {}
    return {"edge": {
        "server": edge.rtmp_server(),
        "held_keys": keys,
        "status": edge.edge_status(session=session, live=live),
        "events": edge.events_url(edge.control_channel(live.id)),
        "may_push": edge.may_push_now(live, utcnow()),
    }}

