"""Readiness: do the services this process depends on answer now?

`/healthz` only says the process is up (a load balancer's or container's liveness
check, which must never fail because PostgreSQL is slow). `/readyz` asks the database
and, when they are configured, Redis and the live edge, each with a short timeout and
all at once, so the answer comes within about READINESS_TIMEOUT_SECONDS whatever
hangs. A failing check says why in a few words, with any password taken out.

Nothing here keeps a dependency "down": every call asks again, so readiness turns
green by itself as soon as the service is back.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask

READINESS_TIMEOUT_SECONDS = 2.0
REASON_LENGTH = 200

_redis_clients: dict[str, object] = {}
_redis_lock = threading.Lock()


def check_database(engine: sa.Engine) -> None:
    """SELECT 1 on a pooled connection (pre-pinged, so a restarted server is found)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                f"SET LOCAL statement_timeout = {int(READINESS_TIMEOUT_SECONDS * 1000)}")
        connection.execute(sa.text("SELECT 1"))
        connection.rollback()


def _redis_client(url: str):
    # One client per address, kept: redis-py reconnects by itself once Redis is back.
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=READINESS_TIMEOUT_SECONDS,
                                          socket_timeout=READINESS_TIMEOUT_SECONDS)
            _redis_clients[url] = client
        return client


def check_redis(url: str) -> None:
    """PING."""
    _redis_client(url).ping()


def check_edge(bus) -> None:
    """The live edge's own health check, through the events bus that posts to it."""
    if not bus.edge_answers():
        raise ConnectionError(bus.last_error or "the edge did not answer")


def checks_for(app: Flask) -> dict[str, Callable[[], None]]:
    """The checks that apply to this app's settings, by name."""
    checks: dict[str, Callable[[], None]] = {}
    engine = app.extensions["database"].engine
    checks["database"] = lambda: check_database(engine)
    if app.config.get("REDIS_URL"):
        url = str(app.config["REDIS_URL"])
        checks["redis"] = lambda: check_redis(url)
    if app.config.get("LIVE_EDGE_URL"):
        bus = app.extensions["events"]
        checks["live_edge"] = lambda: check_edge(bus)
    return checks


def readiness(app: Flask) -> tuple[bool, dict[str, dict]]:
    """Run every check at once; (all fine, {name: {"ok": ..., "reason": ...}})."""
    checks = checks_for(app)
    secrets = _secrets_in(app.config)
    # Threads of their own, left behind if a check hangs past its timeout: the answer
    # must not wait for them (each has its own socket timeout and ends by itself).
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(checks),
                                                 thread_name_prefix="readiness")
    try:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        concurrent.futures.wait(futures.values(), timeout=READINESS_TIMEOUT_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    results: dict[str, dict] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = {"ok": False, "reason": "no answer within "
                             f"{READINESS_TIMEOUT_SECONDS:g} s"}
        elif future.exception() is not None:
            results[name] = {"ok": False, "reason": _reason(future.exception(), secrets)}
        else:
            results[name] = {"ok": True}
    return all(result["ok"] for result in results.values()), results


def _reason(error: BaseException, secrets: list[str]) -> str:
    """The error in a line: the driver's own message, not SQLAlchemy's wrapping."""
    inner = getattr(error, "orig", None) or error
    text = " ".join(str(inner).split()) or inner.__class__.__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    text = f"{inner.__class__.__name__}: {text}"
    return text if len(text) <= REASON_LENGTH else text[:REASON_LENGTH - 1] + "…"


def _secrets_in(config) -> list[str]:
    """Passwords in the configured addresses, never to be shown in a reason."""
    found = []
    for name in ("DATABASE_URL", "REDIS_URL", "LIVE_EDGE_URL"):
        raw = config.get(name)
        if raw:
            password = urlsplit(str(raw)).password
            if password:
                found.append(password)
    if config.get("LIVE_EDGE_SECRET"):
        found.append(str(config["LIVE_EDGE_SECRET"]))
    return found
