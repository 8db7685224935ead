"""A viewer in Chromium watches a session pushed to the live edge (nginx with RTMP and
Nchan) by ffmpeg standing in for OBS: the picture plays through hls.js with the
interpreter picture-in-picture, pins arrive through Nchan, and when the edge goes away
and comes back the page says so and carries on by itself."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from livestream import edge
from livestream.edge_models import StreamRole
from tests.browser.helpers import describe_violations, run_axe, sign_in
from tests.edge_server import Edge, free_port, need_edge, push, wait_for
from tests.factories import PASSWORD, login
from tests.livestream.room_helpers import make_live_room


@pytest.fixture
def edge_ports():
    need_edge()
    return {"http": free_port(), "rtmp": free_port()}


@pytest.fixture
def app_config(app_config, edge_ports):
    return {**app_config, "WTF_CSRF_ENABLED": False,
            "LIVE_EDGE_URL": f"http://127.0.0.1:{edge_ports['http']}",
            "LIVE_EDGE_RTMP_URL": f"rtmp://127.0.0.1:{edge_ports['rtmp']}/ingest"}


@pytest.fixture
def live_edge(app, live_server, edge_ports, tmp_path):
    running = Edge(app, tmp_path / "edge", app_port=live_server.server_port,
                   http_port=edge_ports["http"], rtmp_port=edge_ports["rtmp"])
    running.start()
    yield running
    running.close()


def _time(page, selector: str) -> float:
    return page.evaluate(f"document.querySelector('{selector}').currentTime")


def _advancing(page, selector: str) -> None:
    """The video's time moves on: it is really playing."""
    wait_for(lambda: _time(page, selector) > 1.0, timeout=30, what=f"{selector} to play")
    before = _time(page, selector)
    wait_for(lambda: _time(page, selector) > before + 0.5, timeout=10,
             what=f"{selector} to keep playing")


def test_a_viewer_watches_the_edge_with_the_signer_and_gets_pins_through_nchan(
        app, db_session, live_edge, new_page):
    with db_session() as session:
        room = make_live_room(session)
        keys = {role: key.key for role, key in
                edge.stream_keys(session=session, live=room["live"]).items()}
    live = room["live"]

    def start_pictures():
        push(live_edge, keys[StreamRole.PRESENTER], seconds=90)
        push(live_edge, keys[StreamRole.INTERPRETER], seconds=90, tone=660, pattern="smptebars")
        for name in (f"live-{live.id}", f"live-{live.id}-signer"):
            wait_for(lambda name=name: b".ts" in live_edge.get(
                f"/edge/hls/{name}/index.m3u8")[1], timeout=30, what=f"{name} at the edge")

    start_pictures()
    page = new_page(live_edge.url)
    page.goto(f"/live/{live.slug}")
    text = json.loads(page.locator("#room-data").text_content())["text"]
    page.wait_for_function("() => window.Hls !== undefined")
    page.evaluate("() => { const v = document.querySelector('[data-player]');"
                  " v.muted = true; return v.play(); }")
    _advancing(page, "[data-player]")
    assert page.evaluate("Boolean(document.querySelector('[data-player]').hlsPlayer)")
    assert page.locator("[data-signer]").is_visible()
    page.evaluate("() => document.querySelector('[data-signer] video').play()")
    _advancing(page, "[data-signer] video")

    # A pin made in the control room reaches the viewer through Nchan.
    host = app.test_client()
    login(host, room["presenter"].email)
    first, _variant = room["items"][0]
    page.wait_for_function("t => document.querySelector('[data-connection]').textContent === t",
                           arg=text["connected"])
    host.post(f"/live/{live.slug}/control/pin", data={"product_id": first.id})
    page.wait_for_function("() => !document.querySelector('[data-now-card]').hidden")
    assert page.locator("[data-now-title]").text_content().strip() == first.title

    # The edge goes away: the viewer is told, in words, for the events and the picture.
    live_edge.stop()
    page.wait_for_function("t => document.querySelector('[data-connection]').textContent === t",
                           arg=text["reconnecting"], timeout=15_000)
    page.wait_for_function("() => !document.querySelector('[data-picture-lost]').hidden",
                           timeout=30_000)
    # It comes back: events resume by themselves, the pin made meanwhile is caught up
    # from the room's state, and the picture returns when the studio pushes again.
    second, _variant = room["items"][1]
    host.post(f"/live/{live.slug}/control/pin", data={"product_id": second.id})
    live_edge.start()
    page.wait_for_function("t => document.querySelector('[data-connection]').textContent === t",
                           arg=text["connected"], timeout=20_000)
    page.wait_for_function(
        "t => document.querySelector('[data-now-title]').textContent.trim() === t",
        arg=second.title, timeout=10_000)
    start_pictures()
    page.wait_for_function("() => document.querySelector('[data-picture-lost]').hidden",
                           timeout=30_000)
    _advancing(page, "[data-player]")


def test_the_control_room_shows_the_presenter_the_key_and_the_picture_and_passes_axe(
        app, db_session, live_edge, new_page, axe_url):
    with db_session() as session:
        room = make_live_room(session)
    live = room["live"]
    page = new_page(live_edge.url, locale="en")
    sign_in(page, live_edge.url, room["presenter"].email, PASSWORD)
    page.goto(f"/live/{live.slug}/control")
    panel = page.locator("#control-edge")
    expect(panel).to_contain_text("No picture from the presenter yet.")
    key = page.locator("[data-stream-key]").first
    expect(key).to_be_hidden()  # folded away until asked for
    page.get_by_text("Show the stream key").first.click()
    expect(key).to_be_visible()
    assert page.locator("#control-edge code").first.text_content() == \
        f"rtmp://127.0.0.1:{live_edge.rtmp_port}/ingest"
    push(live_edge, key.text_content(), seconds=30)
    # Told without reloading, in words and in the status region.
    expect(panel.locator('[data-edge-picture="presenter"]')).to_contain_text(
        "Your picture is reaching viewers.", timeout=20_000)
    expect(page.locator("#status-region")).to_contain_text("Your picture is reaching viewers.")
    violations = run_axe(page, axe_url)
    assert not violations, describe_violations(violations)
    page.goto(f"/live/{live.slug}")
    violations = run_axe(page, axe_url)
    assert not violations, describe_violations(violations)
