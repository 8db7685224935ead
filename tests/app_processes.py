"""Real app processes for tests: gunicorn on a free port, `flask --app app ...` commands,
a signed-in browser and a live-events (SSE) reader talking to them over HTTP.

Every process starts in a session of its own, so `stop` ends it and its workers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_process(arguments: list[str], env: dict, **options) -> subprocess.Popen:
    """A process of the app's own (the project's root as its folder)."""
    return subprocess.Popen(arguments, cwd=ROOT, env={**os.environ, **env},
                            start_new_session=True, **options)


def flask_command(*arguments: str) -> list[str]:
    """`flask --app app ARGUMENTS` from this virtualenv."""
    return [str(Path(sys.executable).with_name("flask")), "--app", "app", *arguments]


def start_gunicorn(env: dict, *, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the app on a free port; the process and its address, once its
    /healthz answers."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    # Keep-alive: gunicorn's own default (2 s), not gunicorn.conf.py's 20 s (read from the
    # project's folder too): a worker told to stop waits for every idle keep-alive
    # connection, so a test's signed-in browser made each `stop` wait 20 s and end in SIGKILL.
    process = start_process(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gevent", "--worker-connections", "200", "--timeout", "60",
         "--keep-alive", "2", "--log-level", "warning", "app:app"], env)
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
    stop(process)
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    """End the process and everything it started (SIGTERM, then SIGKILL)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def csrf_token(html: str) -> str:
    """The form's CSRF token."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def signed_in(url: str, email: str) -> requests.Session:
    """A browser signed in through the real login form."""
    browser = requests.Session()
    page = browser.get(f"{url}/account/login", timeout=10).text
    response = browser.post(f"{url}/account/login", timeout=10, data={
        "login": email, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.status_code in (200, 302), response.text[:300]
    return browser


class EventStream:
    """A live-events (SSE) reader, frame by frame."""

    def __init__(self, url, last_id=None):
        headers = {"Last-Event-ID": last_id} if last_id else {}
        self.response = requests.get(url, stream=True, timeout=30, headers=headers)
        self.chunks = self.response.iter_content(chunk_size=None, decode_unicode=True)
        self.buffer = ""

    def next(self) -> dict:
        """The next frame's fields (heartbeats included)."""
        while "\n\n" not in self.buffer:
            self.buffer += next(self.chunks)
        frame, self.buffer = self.buffer.split("\n\n", 1)
        fields = {}
        for line in frame.split("\n"):
            name, _sep, value = line.partition(": ")
            fields[name] = value
        return fields

    def next_event(self) -> dict:
        """The next frame that is an event."""
        while True:
            fields = self.next()
            if "event" in fields:
                return fields

    def close(self):
        self.response.close()


def post_form(browser: requests.Session, url: str, path: str, data: dict, *,
              form_page: str) -> requests.Response:
    """POST `data` to `path` with the CSRF token of `form_page`, asking for JSON."""
    token = csrf_token(browser.get(f"{url}{form_page}", timeout=10).text)
    return browser.post(f"{url}{path}", data={**data, "csrf_token": token},
                        headers={"Accept": "application/json"}, timeout=10)
