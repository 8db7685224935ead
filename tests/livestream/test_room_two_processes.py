"""Two app processes sharing Redis, as two gunicorn workers or hosts would: an event
published through one reaches a viewer of the other, and a viewer who reconnects to the
other resumes without a gap. Real gunicorn, real Redis, both databases."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.factories import PASSWORD
from tests.livestream.room_helpers import make_live_room

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--worker-class", "gevent", "--worker-connections", "200", "--timeout", "60",
         "--log-level", "warning", "app:app"],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=2)
            return process, url
        except requests.RequestException:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    _stop(process)
    raise RuntimeError("gunicorn did not start")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _signed_in(url: str, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{url}/account/login", timeout=10).text
    response = browser.post(f"{url}/account/login", timeout=10, data={
        "login": email, "password": PASSWORD, "csrf_token": _token(page)})
    assert response.status_code in (200, 302), response.text[:300]
    return browser


def _post(browser, url, path, data):
    token = _token(browser.get(f"{url}/live/{path.split('/')[2]}/control", timeout=10).text)
    response = browser.post(f"{url}{path}", data={**data, "csrf_token": token},
                            headers={"Accept": "application/json"}, timeout=10)
    assert response.status_code == 200, response.text[:300]


class _Stream:
    def __init__(self, url, last_id=None):
        headers = {"Last-Event-ID": last_id} if last_id else {}
        self.response = requests.get(url, stream=True, timeout=30, headers=headers)
        self.chunks = self.response.iter_content(chunk_size=None, decode_unicode=True)
        self.buffer = ""

    def next(self) -> dict:
        while "\n\n" not in self.buffer:
            self.buffer += next(self.chunks)
        frame, self.buffer = self.buffer.split("\n\n", 1)
        fields = {}
        for line in frame.split("\n"):
            name, _sep, value = line.partition(": ")
            fields[name] = value
        return fields

    def next_event(self) -> dict:
        while True:
            fields = self.next()
            if "event" in fields:
                return fields

    def close(self):
        self.response.close()


def test_events_cross_processes_and_resume_on_the_other(database_url, redis_url, db_session,
                                                        tmp_path):
    with db_session() as session:
        made = make_live_room(session)
    slug = made["live"].slug
    (first, _v1), (second, _v2) = made["items"]
    prefix = f"gf-test-room:{secrets.token_hex(4)}:"
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "EVENTS_REDIS_PREFIX": prefix, "EVENTS_HEARTBEAT_SECONDS": "1",
           "SECRET_KEY": "two-processes-" + "k" * 32, "INSTANCE_DIR": str(tmp_path),
           "EMBEDDED_SCHEDULER": "0", "CATALOG_PAGE_CACHE_SECONDS": "0"}
    one, url_one = _start(env)
    two, url_two = _start(env)
    try:
        viewer = _Stream(f"{url_two}/live/{slug}/events")
        assert viewer.next_event()["event"] == "snapshot"
        presenter = _signed_in(url_one, made["presenter"].email)
        _post(presenter, url_one, f"/live/{slug}/control/pin", {"product_id": first.id})
        pinned = viewer.next_event()
        assert pinned["event"] == "pin"
        assert json.loads(pinned["data"])["product_id"] == first.id
        viewer.close()
        # While the viewer is away, two more things happen, through the other process.
        other_side = _signed_in(url_two, made["presenter"].email)
        _post(other_side, url_two, f"/live/{slug}/control/pin", {"product_id": second.id})
        _post(other_side, url_two, f"/live/{slug}/control/caption", {"text": "第二件"})
        back = _Stream(f"{url_one}/live/{slug}/events", last_id=pinned["id"])
        missed = [back.next_event(), back.next_event()]
        assert [m["event"] for m in missed] == ["pin", "caption"]
        assert json.loads(missed[0]["data"])["product_id"] == second.id
        assert json.loads(missed[1]["data"])["text"] == "第二件"
        back.close()
    finally:
        _stop(one)
        _stop(two)
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
