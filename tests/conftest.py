"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

SQLite: the schema is migrated once into a template file, copied for each test.
PostgreSQL: the schema is migrated once into a schema of this run's own (so parallel
runs on one server never meet), and every table is emptied after each test.
Set TEST_DATABASE_URL to use another server; REQUIRE_POSTGRES=1 turns "not reachable"
from a visible skip into a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlmodel import SQLModel

# Property tests share two cores with Chromium, PostgreSQL and another test process: time
# is not what they check, so neither a per-example deadline nor "generation is slow".
settings.register_profile("shared-cores", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-cores")

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def _cache_url_builders() -> None:
    """Build each URL rule's builder once per test process, not once per test app.

    Werkzeug compiles two Python functions per URL rule (ast + compile) whenever an app
    registers it: 160 rules made create_app take 60-70 ms, paid by every test that builds
    an app (most of them). A builder is a pure function of the rule's text, its converters
    and defaults (it takes the rule as its first argument), so one built for the same rule
    in an earlier test app is the same function. Test processes only; the app is as is.
    """
    from werkzeug.routing.rules import Rule

    build = Rule._compile_builder
    built: dict = {}

    def cached_builder(self, append_unknown=True):
        key = (append_unknown, self.rule, self.subdomain, self.host, tuple(self._trace),
               tuple(sorted((name, repr(value))
                            for name, value in (self.defaults or {}).items())),
               tuple(sorted((name, type(converter).__qualname__,
                             repr({k: v for k, v in vars(converter).items() if k != "map"}))
                            for name, converter in self._converters.items())))
        builder = built.get(key)
        if builder is None:
            builder = built[key] = build(self, append_unknown)
        return builder

    Rule._compile_builder = cached_builder


_cache_url_builders()


def _migrate(url: str) -> None:
    from alembic import command

    from app import create_app
    from core.cli import alembic_config

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t" * 40})
    with app.app_context():
        command.upgrade(alembic_config(), "heads")
    app.extensions["database"].engine.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> str | None:
    """The PostgreSQL server for tests, or None (with a visible reason) if unreachable."""
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {url} is required (REQUIRE_POSTGRES=1): {exc}")
        return None
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for tests (TEST_REDIS_URL); unreachable -> a visible skip, or a failure
    with REQUIRE_REDIS=1 (CI). Tests keep their keys apart by a prefix of their own."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} is required (REQUIRE_REDIS=1): {exc}")
        pytest.skip(f"Redis is not reachable at TEST_REDIS_URL ({url}): {exc}")
    return url


@pytest.fixture(scope="session")
def postgres_schema_url(postgres_server_url):
    """A migrated schema of this test run's own on the PostgreSQL server."""
    if postgres_server_url is None:
        yield None
        return
    schema = f"gf_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    base = postgres_server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    try:
        _migrate(url)
        yield url
    finally:
        for kept in _EMPTYING_CONNECTIONS.values():
            kept.close()
        _EMPTYING_CONNECTIONS.clear()
        with psycopg.connect(postgres_server_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file to copy for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


_EMPTYING_CONNECTIONS: dict[str, psycopg.Connection] = {}


def _emptying_sql() -> str:
    # Children first; the audit trail refuses DELETE by trigger (core/audit.py), and a
    # superuser's replica mode skips triggers, for this transaction only.
    deletes = "".join(f'DELETE FROM "{table.name}";'  # noqa: S608 - our table names
                      for table in reversed(SQLModel.metadata.sorted_tables))
    # Then what the migrations seed (the pick-up stalls), as a migrated database has it,
    # so each test starts the same on PostgreSQL as on the migrated SQLite file.
    from income.pickup_seed import insert_missing_sql

    seeds = "".join(f"{statement};" for statement in insert_missing_sql())
    return "SET LOCAL session_replication_role = replica;" + deletes + seeds


def _empty_postgres(url: str) -> None:
    # DELETE on a handful of rows takes milliseconds, where TRUNCATE (new files for every
    # table) took about a second per test on a busy server. All in one round trip on a
    # connection kept for the run: a new engine and a statement per table cost 80-230 ms
    # a test, paid on every PostgreSQL test. A test that restarted the server leaves the
    # kept connection broken: then once more on a new one.
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    for attempt in (1, 2):
        connection = _EMPTYING_CONNECTIONS.get(conninfo)
        try:
            if connection is None or connection.closed:
                connection = psycopg.connect(conninfo, connect_timeout=10)
                _EMPTYING_CONNECTIONS[conninfo] = connection
            with connection.transaction():
                connection.execute(_emptying_sql())
            return
        except psycopg.OperationalError:
            _EMPTYING_CONNECTIONS.pop(conninfo, None)
            if connection is not None:
                connection.close()
            if attempt == 2:
                raise


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A migrated, empty database of each kind, one test at a time."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_schema_url")
    if url is None:
        pytest.skip("PostgreSQL is not reachable at TEST_DATABASE_URL "
                    f"({os.environ.get('TEST_DATABASE_URL', DEFAULT_POSTGRES)})")
    try:
        yield url
    finally:
        _empty_postgres(url)


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Settings for a test app; tests may change them before `app` is built."""
    return {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "MEDIA_DIR": str(tmp_path / "media"),
        "MAIL_DIR": str(tmp_path / "mail"),
        "SMTP_HOST": None,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # scrypt takes a quarter of a second per account; the suite makes hundreds.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


@pytest.fixture
def app(app_config):
    """The app on a fresh database."""
    from app import create_app

    application = create_app(app_config)
    yield application
    if "live_viewers" in application.extensions:
        application.extensions["live_viewers"].stop()
    application.extensions["events"].close()
    application.extensions["database"].engine.dispose()


@pytest.fixture
def client(app):
    """A browser-less client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The command-line runner."""
    return app.test_cli_runner()


@pytest.fixture
def db_session(app):
    """A session in its own transaction, committed when the test's block ends.

    Use as `with db_session() as session:` so that what a test sets up is really
    saved before the app reads it. The app context lasts as long as the block only:
    a context left pushed would be reused by every test-client request, so `g` (the
    signed-in user, their roles, the language) would leak from one request to the next.
    """
    from contextlib import contextmanager

    from core.db import db

    @contextmanager
    def open_session(write: bool = True):
        with app.app_context(), db.transaction(write=write) as session:
            yield session

    return open_session


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """Tests read the same compiled catalogs as the running shop."""
    from core.i18n import compile_catalogs

    compile_catalogs()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    import socket

    # aiosmtpd checks the server by connecting to the port it was given, so port 0
    # ("any") cannot be used: ask the system for a free port first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    inbox.host = "127.0.0.1"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def live_server(app):
    """The app served for real on 127.0.0.1 in a thread; `.url` is its address."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)


# --- Stripe: localstripe on 127.0.0.1, its signed webhooks delivered to the app ---------

WEBHOOK_SECRET = "whsec_test_gongfang_shop"


@pytest.fixture(scope="session")
def localstripe_server():
    """localstripe on 127.0.0.1, in memory only (its aiohttp app can start only once)."""
    from tests.shop.localstripe_server import LocalStripe

    server = LocalStripe().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def localstripe(localstripe_server):
    """The running localstripe, emptied and with no webhooks, for one test."""
    localstripe_server.reset()
    try:
        yield localstripe_server
    finally:
        localstripe_server.reset()


@pytest.fixture
def stripe_config(app_config, localstripe):
    """Turn card payments on, pointed at localstripe (use before `app`)."""
    app_config.update({
        "STRIPE_SECRET_KEY": "sk_test_gongfang",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_gongfang",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe.url,
        "STRIPE_JS_URL": f"{localstripe.url}/js.stripe.com/v3/",
    })
    return app_config


@pytest.fixture
def stripe_webhooks(stripe_config, localstripe, live_server):
    """localstripe delivers its signed events to the app served on 127.0.0.1."""
    body = json.dumps({"url": f"{live_server.url}/stripe/webhook",
                       "secret": WEBHOOK_SECRET}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback localstripe
        f"{localstripe.url}/_config/webhooks/gongfang", data=body,
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200
    return live_server


def wait_for(check, timeout=15.0):
    """Poll `check()` until it is truthy (webhooks arrive a second after the event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


# The modules whose tests start servers and processes (gunicorn, schedulers, nginx, a
# restarted PostgreSQL) or fuzz every API operation: 15-40 s a test, where most take
# well under one. `--dist loadgroup` hands tests to the three processes one by one in
# collection order, so these go first, longest first: one of them collected last would
# run alone at the end while the other processes sit idle.
SLOW_MODULES_FIRST = (
    "tests/core/test_scheduler_failover.py",
    "tests/security/test_api_schema.py",
    "tests/livestream/test_room_two_processes.py",
    "tests/core/test_runtime.py",
    "tests/core/test_faults_services.py",
    "tests/shop/test_crash_safety.py",
    "tests/security/test_logs_gunicorn.py",
    "tests/livestream/test_edge.py",
    "tests/core/test_backup.py",
    "tests/browser/test_journey_live_edge.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Collect the slow modules first (in the order above), each module's tests in
    their own order, then everything else as collected."""
    rank = {module: n for n, module in enumerate(SLOW_MODULES_FIRST)}
    last = len(rank)
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], last))
