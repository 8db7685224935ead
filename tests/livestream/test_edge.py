"""The live edge with real parts: Debian's nginx with RTMP and Nchan running the
project's config, ffmpeg pushing a test picture, the app served for real behind it."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core.db import utcnow
from livestream import edge
from livestream.edge_models import LiveStreamKey, StreamRole
from livestream.models import LiveSession, SessionStatus
from tests.core.sse_client import SSEClient
from tests.edge_server import Edge, free_port, need_edge, push, wait_for
from tests.factories import login
from tests.livestream.room_helpers import make_live_room


@pytest.fixture
def edge_ports():
    need_edge()
    return {"http": free_port(), "rtmp": free_port()}


@pytest.fixture
def app_config(app_config, edge_ports):
    return {**app_config,
            "LIVE_EDGE_URL": f"http://127.0.0.1:{edge_ports['http']}",
            "LIVE_EDGE_RTMP_URL": f"rtmp://127.0.0.1:{edge_ports['rtmp']}/ingest"}


@pytest.fixture
def live_edge(app, live_server, edge_ports, tmp_path):
    running = Edge(app, tmp_path / "edge", app_port=live_server.server_port,
                   http_port=edge_ports["http"], rtmp_port=edge_ports["rtmp"])
    running.start()
    yield running
    running.close()


@pytest.fixture
def room(db_session):
    with db_session() as session:
        made = make_live_room(session)
        keys = edge.stream_keys(session=session, live=made["live"])
    return {**made, "keys": {role: key.key for role, key in keys.items()}}


def _finish(process: subprocess.Popen, timeout: float = 30) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _state(client, live) -> dict:
    return client.get(f"/live/{live.slug}/state.json").get_json()["state"]


def _recording_url(db_session, live_id):
    with db_session(write=False) as session:
        return session.get(LiveSession, live_id).recording_url


def test_a_push_with_the_sessions_key_reaches_viewers_and_becomes_the_replay(
        app, client, db_session, live_edge, room):
    live = room["live"]
    presenter = push(live_edge, room["keys"][StreamRole.PRESENTER], seconds=6)
    interpreter = push(live_edge, room["keys"][StreamRole.INTERPRETER], seconds=6,
                       tone=660, pattern="smptebars")
    playlist = f"/edge/hls/live-{live.id}/index.m3u8"

    def segments():
        status, body = live_edge.get(playlist)
        return status == 200 and [line for line in body.decode().splitlines()
                                  if line.endswith(".ts")]
    segment = wait_for(segments, what="the presenter's HLS playlist and a segment")[0]
    status, data = live_edge.get(f"/edge/hls/live-{live.id}/{segment}")
    assert status == 200 and len(data) > 1000
    assert wait_for(lambda: live_edge.get(f"/edge/hls/live-{live.id}-signer/index.m3u8")[0]
                    == 200, what="the interpreter's playlist")

    # The room's player and the control room know, and the key is never in a public path.
    state = _state(client, live)
    assert state["streams"]["presenter_stream_url"] == playlist
    assert state["streams"]["interpreter_stream_url"] == \
        f"/edge/hls/live-{live.id}-signer/index.m3u8"
    assert not any(room["keys"][StreamRole.PRESENTER] in p.name
                   for p in (live_edge.run_dir / "hls").rglob("*"))
    login(client, room["presenter"].email)
    figures = client.get(f"/live/{live.slug}/control/figures.json").get_json()
    assert figures["edge"] == {"edge_up": True, "presenter": True, "interpreter": True}
    page = client.get(f"/live/{live.slug}/control").get_data(as_text=True)
    assert "Your picture is reaching viewers." in page or "你的画面正在传给观众" in page

    # A pin while live is a chapter of the replay, counted from the recording's start.
    product_id = room["items"][0][0].id
    assert client.post(f"/live/{live.slug}/control/pin",
                       data={"product_id": product_id}).status_code in (200, 303)
    assert _finish(presenter) == 0 and _finish(interpreter) == 0

    def stopped():
        with db_session(write=False) as session:
            return session.exec(select(LiveStreamKey).where(
                LiveStreamKey.session_id == live.id,
                LiveStreamKey.publishing_since.is_not(None))).first() is None
    wait_for(stopped, what="the edge telling the app that the pushes stopped")
    figures = client.get(f"/live/{live.slug}/control/figures.json").get_json()
    assert figures["edge"]["presenter"] is False

    url = wait_for(lambda: _recording_url(db_session, live.id), timeout=60,
                   what="the replay's recording")
    assert url == f"/media/recordings/live-{live.id}.mp4"
    video = client.get(url)
    assert video.status_code == 200 and video.mimetype == "video/mp4"
    probe = subprocess.run(  # noqa: S603
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json",
         str(Path(app.config["MEDIA_DIR"]) / "recordings" / f"live-{live.id}.mp4")],
        capture_output=True, check=True, text=True)
    assert float(json.loads(probe.stdout)["format"]["duration"]) > 4
    ranged = client.get(url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100

    with db_session() as session:
        saved = session.get(LiveSession, live.id)
        assert saved.recording_started_at is not None
        assert saved.interpreter_recording_url == f"/media/recordings/live-{live.id}-signer.mp4"
        saved.status = SessionStatus.ENDED
        saved.ended_at = utcnow()
    replay = client.get(f"/live/{live.slug}").get_data(as_text=True)
    assert url in replay


def test_a_wrong_key_or_a_session_not_on_now_is_refused(app, client, db_session, live_edge,
                                                        room):
    live = room["live"]
    assert _finish(push(live_edge, "not-a-key-of-ours-at-all-0123456789", seconds=3)) != 0
    with db_session() as session:
        later = session.get(LiveSession, live.id)
        later.status = SessionStatus.SCHEDULED
        later.started_at = None
        later.planned_start = utcnow() + timedelta(hours=2)
        later.planned_end = utcnow() + timedelta(hours=3)
    assert _finish(push(live_edge, room["keys"][StreamRole.PRESENTER], seconds=3)) != 0
    assert not (live_edge.run_dir / "hls" / f"live-{live.id}").exists()
    with db_session(write=False) as session:
        assert session.exec(select(LiveStreamKey).where(
            LiveStreamKey.publishing_since.is_not(None))).first() is None
    # The callbacks are the edge's: without its secret they are not there.
    answer = client.post("/edge/rtmp/publish", data={"name": room["keys"][StreamRole.PRESENTER]})
    assert answer.status_code == 404
    answer = client.post("/edge/rtmp/publish", headers={"X-Edge-Secret": "guess"},
                         data={"name": room["keys"][StreamRole.PRESENTER]})
    assert answer.status_code == 404
    # Nor can anyone but the edge itself reach them through the edge.
    assert live_edge.get("/_edge/rtmp/publish")[0] in (403, 405)


# The edge cutting a push is the subject; renewing a key is also tested on both databases
# without the edge (tests/core/test_audit_people_actions.py, the access matrix): PostgreSQL
# only here.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_renewed_key_stops_the_old_one_and_cuts_its_push(app, client, db_session,
                                                           live_edge, room):
    live = room["live"]
    old = room["keys"][StreamRole.PRESENTER]
    running = push(live_edge, old, seconds=30)
    wait_for(lambda: live_edge.get(f"/edge/hls/live-{live.id}/index.m3u8")[0] == 200,
             what="the push to reach the edge")
    login(client, room["presenter"].email)
    answer = client.post(f"/live/{live.slug}/control/stream-keys/presenter/renew")
    assert answer.status_code == 303
    assert _finish(running, timeout=15) != 0 or running.returncode is not None
    with db_session(write=False) as session:
        new = session.exec(select(LiveStreamKey).where(
            LiveStreamKey.session_id == live.id,
            LiveStreamKey.role == StreamRole.PRESENTER)).one().key
    assert new != old
    assert _finish(push(live_edge, old, seconds=3)) != 0
    # The captioner may enter the control room but holds no key; a viewer, not even that.
    client.get("/account/logout")
    login(client, room["captioner"].email)
    assert client.post(f"/live/{live.slug}/control/stream-keys/presenter/renew").status_code \
        == 403
    page = client.get(f"/live/{live.slug}/control").get_data(as_text=True)
    assert new not in page and "data-stream-key" not in page
    assert new not in client.get(f"/live/{live.slug}").get_data(as_text=True)


def test_the_interpreter_sees_only_their_own_key(client, live_edge, room):
    login(client, room["interpreter"].email)
    page = client.get(f"/live/{room['live'].slug}/control").get_data(as_text=True)
    assert room["keys"][StreamRole.INTERPRETER] in page
    assert room["keys"][StreamRole.PRESENTER] not in page


def test_viewers_get_pins_through_nchan_and_resume_after_a_disconnect(
        app, client, db_session, live_edge, room):
    live = room["live"]
    login(client, room["presenter"].email)
    first, second = (item[0].id for item in room["items"][:2])
    viewer = SSEClient(live_edge.url, f"/edge/events/live-{live.id}")
    assert viewer.response.status == 200
    client.post(f"/live/{live.slug}/control/pin", data={"product_id": first})
    message = viewer.next_message()
    assert message.event == "pin" and message.data["product_id"] == first
    seen = message.id
    viewer.close()
    client.post(f"/live/{live.slug}/control/pin", data={"product_id": second})
    again = SSEClient(live_edge.url, f"/edge/events/live-{live.id}", last_event_id=seen)
    missed = []
    while not any(m.event == "pin" and m.data.get("product_id") == second for m in missed):
        missed.append(again.next_message())
    again.close()
    assert all(m.id != seen for m in missed)  # resumed after, not from the start


def test_channels_a_viewer_may_not_read_are_refused(client, db_session, live_edge, room):
    live = room["live"]
    with db_session() as session:
        draft = LiveSession(slug="draft-at-edge", title="草稿", status=SessionStatus.DRAFT,
                            planned_start=utcnow() + timedelta(days=1),
                            planned_end=utcnow() + timedelta(days=1, hours=1))
        session.add(draft)
        session.flush()
        draft_id = draft.id
    assert live_edge.get(f"/edge/events/live-{draft_id}",
                         {"Accept": "text/event-stream"})[0] == 403
    assert live_edge.get(f"/edge/events/live-{live.id}-control",
                         {"Accept": "text/event-stream"})[0] == 403
    assert live_edge.get("/edge/events/orders", {"Accept": "text/event-stream"})[0] == 403
    # Publishing is the app's alone.
    status, _body = live_edge.get(f"/_edge/publish/live-{live.id}")
    assert status == 403
    # The team reads its control channel with its session cookie, from its own browser
    # (a sign-in is tied to the browser that made it).
    client.environ_base["HTTP_USER_AGENT"] = "captioner's browser"
    login(client, room["captioner"].email)
    cookie = client.get_cookie("session")
    stolen = SSEClient(live_edge.url, f"/edge/events/live-{live.id}-control",
                       headers={"Cookie": f"session={cookie.value}", "User-Agent": "other"})
    assert stolen.response.status == 403
    stolen.close()
    team = SSEClient(live_edge.url, f"/edge/events/live-{live.id}-control",
                     headers={"Cookie": f"session={cookie.value}",
                              "User-Agent": "captioner's browser"})
    assert team.response.status == 200
    team.close()


def test_the_edge_going_away_loses_nothing_and_comes_back(app, client, db_session,
                                                          live_edge, room):
    live = room["live"]
    login(client, room["presenter"].email)
    live_edge.stop()
    first = room["items"][0][0].id
    answer = client.post(f"/live/{live.slug}/control/pin", data={"product_id": first})
    assert answer.status_code == 303  # the pin is saved; the edge being away is logged
    assert _state(client, live)["pin"] == first
    figures = client.get(f"/live/{live.slug}/control/figures.json").get_json()
    assert figures["edge"]["edge_up"] is False
    live_edge.start()
    figures = client.get(f"/live/{live.slug}/control/figures.json").get_json()
    assert figures["edge"]["edge_up"] is True
    viewer = SSEClient(live_edge.url, f"/edge/events/live-{live.id}")
    second = room["items"][1][0].id
    client.post(f"/live/{live.slug}/control/pin", data={"product_id": second})
    message = viewer.next_message()
    assert message.event == "pin" and message.data["product_id"] == second
    viewer.close()


def test_the_edge_config_command_writes_a_config_nginx_accepts(app, tmp_path):
    """`flask edge-config` (what `make edge` runs), with the low-latency setting: nginx
    itself checks the file (`nginx -t`) with the Debian modules it loads."""
    out = tmp_path / "edge"
    result = app.test_cli_runner().invoke(args=[
        "edge-config", "--out", str(out), "--http-port", str(free_port()),
        "--rtmp-port", str(free_port()), "--hls-fragment", "1s",
        "--hls-playlist-length", "4s"])
    assert result.exit_code == 0, result.output
    text = (out / "nginx.conf").read_text()
    assert "hls_fragment 1s;" in text and "hls_playlist_length 4s;" in text
    assert app.config["SECRET_KEY"] not in text
    checked = subprocess.run(["nginx", "-t", "-p", str(out), "-e", str(out / "error.log"),
                              "-c", "nginx.conf"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
