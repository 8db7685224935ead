"""/healthz (the process is up) and /readyz (its dependencies answer), on real services."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from app import create_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def make_app(app_config):
    made = []

    def make(**settings):
        application = create_app({**app_config, **settings})
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["events"].close()
        application.extensions["database"].engine.dispose()


def test_healthz_asks_nothing_and_readyz_asks_the_database(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": {"ok": True}}}


def test_a_closed_postgres_port_is_red_with_the_reason_and_healthz_stays_up(make_app):
    app = make_app(DATABASE_URL=f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/test")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "not ready"
    reason = body["checks"]["database"]["reason"]
    assert "refused" in reason.lower() and "hunter2" not in answer.get_data(as_text=True)


def test_redis_real_is_ready_and_a_closed_port_is_red(make_app, redis_url):
    client = make_app(REDIS_URL=redis_url).test_client()
    assert client.get("/readyz").get_json()["checks"]["redis"] == {"ok": True}
    closed = make_app(REDIS_URL=f"redis://:sesame@127.0.0.1:{free_port()}/0").test_client()
    answer = closed.get("/readyz")
    assert answer.status_code == 503
    checks = answer.get_json()["checks"]
    assert checks["database"] == {"ok": True}
    assert "refused" in checks["redis"]["reason"].lower()
    assert "sesame" not in answer.get_data(as_text=True)


def test_an_edge_at_a_closed_port_is_red(make_app):
    client = make_app(LIVE_EDGE_URL=f"http://127.0.0.1:{free_port()}").test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "cannot reach the edge" in answer.get_json()["checks"]["live_edge"]["reason"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_readiness_goes_red_when_redis_stops_and_green_when_it_returns(make_app, tmp_path):
    port = free_port()

    def start_redis():
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return process
            except OSError:
                time.sleep(0.05)
        process.kill()
        raise AssertionError("redis-server did not start")

    server = start_redis()
    try:
        client = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0").test_client()
        assert client.get("/readyz").status_code == 200
        server.terminate()
        server.wait(timeout=10)
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.get_json()["checks"]["redis"]["ok"] is False
        server = start_redis()
        assert client.get("/readyz").status_code == 200  # the same app, by itself
    finally:
        server.kill()
        server.wait(timeout=10)
