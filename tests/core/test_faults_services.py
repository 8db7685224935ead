"""PostgreSQL going away and coming back while the shop serves: pages answer 503 in the
reader's language, the log says so once, nothing committed is lost, and the app
recovers by itself. The test starts and stops a PostgreSQL server of its own."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

from accounts.models import User
from tests.factories import PASSWORD, make_product, make_workshop

REGISTER = {"display_name": "王芳", "email": "wang@example.cn", "phone": "13812345678",
            "password": "long enough pw", "password_again": "long enough pw"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A throw-away PostgreSQL cluster run by Debian's binaries as the postgres user."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries or shutil.which("runuser") is None:
            raise FileNotFoundError("PostgreSQL's server binaries (pg_ctl) are not installed")
        self.bin = Path(binaries[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="gongfang-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-U", "postgres", "--auth=trust", "-D", str(self.data))

    def _run(self, program: str, *arguments: str) -> None:
        command_line = [str(self.bin / program), *arguments]
        if os.geteuid() == 0:
            command_line = ["runuser", "-u", "postgres", "--", *command_line]
        subprocess.run(command_line, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start (or start again, on the same port) and wait until it answers."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c unix_socket_directories={self.folder}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                  "-o", options, "start")

    def stop(self) -> None:
        """Stop at once, cutting every connection (what a crash or failover looks like)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop if running and delete the cluster."""
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_postgres():
    """A PostgreSQL server this test may stop and start."""
    try:
        server = PostgresServer()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"cannot run a PostgreSQL server of our own (REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"cannot run a PostgreSQL server of our own: {exc}")
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def shop_on_own_postgres(own_postgres, tmp_path):
    """The app, migrated, on that server, with one published product."""
    from app import create_app
    from core.cli import alembic_config
    from core.db import db

    app = create_app({"DATABASE_URL": own_postgres.url, "TESTING": True,
                      "SECRET_KEY": "outage-test-" + "x" * 40,
                      "INSTANCE_DIR": str(tmp_path / "instance"),
                      "MEDIA_DIR": str(tmp_path / "media"), "MAIL_DIR": str(tmp_path / "mail"),
                      "SMTP_HOST": None, "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        command.upgrade(alembic_config(), "heads")
        with db.transaction() as session:
            product = make_product(session, workshop=make_workshop(session),
                                   title="盘扣胸针")
    yield app, product.slug
    app.extensions["events"].close()
    app.extensions["database"].engine.dispose()


def _users(url: str) -> list[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        emails = connection.execute(sa.select(User.email)).scalars().all()
    engine.dispose()
    return list(emails)


def test_postgres_outage_answers_503_in_the_readers_language_and_recovers(
        shop_on_own_postgres, own_postgres, caplog):
    app, slug = shop_on_own_postgres
    client = app.test_client()
    assert client.get(f"/products/{slug}").status_code == 200
    first = app.test_client().post("/account/register",
                                   data={**REGISTER, "email": "first@example.cn",
                                         "phone": "13900001111"})
    assert first.status_code in (302, 303)
    ready_before = client.get("/readyz") if "site.readiness" in app.view_functions else None

    own_postgres.stop()
    caplog.clear()
    caplog.set_level(logging.INFO)
    chinese = client.get(f"/products/{slug}")
    assert chinese.status_code == 503
    assert chinese.headers["Retry-After"] == "30"
    page = chinese.get_data(as_text=True)
    assert "工坊直播" in page and "暂时" in page and "Traceback" not in page
    english = client.get("/", headers={"Accept-Language": "en"})
    assert english.status_code == 503
    assert "The shop is briefly unavailable" in english.get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert "briefly unavailable" in client.get("/products").get_data(as_text=True)
    client.delete_cookie("lang")
    posted = client.post("/account/register", data=REGISTER)
    assert posted.status_code == 503
    for _ in range(10):
        assert client.get("/").status_code == 503
    if ready_before is not None:
        assert ready_before.status_code == 200
        assert client.get("/readyz").status_code == 503

    said = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage().split(":")[0] for r in said] == [
        "database unavailable, answering 503 until it is back"], [r.getMessage() for r in said]
    assert "postgres@" not in said[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)

    own_postgres.start()
    caplog.clear()
    assert client.get(f"/products/{slug}").status_code == 200
    assert any("database reachable again" in r.getMessage() for r in caplog.records)
    if ready_before is not None:
        assert client.get("/readyz").status_code == 200
    # The account made before the outage is kept; the one sent during it was not
    # half-made, and sending it again now works.
    assert _users(own_postgres.url) == ["first@example.cn"]
    assert client.post("/account/register", data=REGISTER).status_code in (302, 303)
    assert sorted(_users(own_postgres.url)) == ["first@example.cn", "wang@example.cn"]


class RedisServer:
    """A redis-server of the test's own, that it may stop and start on the same port."""

    def __init__(self, folder: Path) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise FileNotFoundError("redis-server is not installed")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.command = [program, "--port", str(self.port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", str(folder)]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start and wait until it answers PING."""
        import redis

        from tests.conftest import wait_for

        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.RedisError:
                return False

        assert wait_for(answers, timeout=15), "redis-server did not start"
        client.close()

    def stop(self) -> None:
        """Stop it and wait until it is gone."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def keys(self) -> list[str]:
        """Every key in it."""
        import redis

        client = redis.Redis.from_url(self.url)
        found = [key.decode() for key in client.scan_iter()]
        client.close()
        return found


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server this test may stop and start."""
    try:
        server = RedisServer(tmp_path)
    except FileNotFoundError as exc:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"cannot run a Redis server of our own (REQUIRE_REDIS=1): {exc}")
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_outage_keeps_pages_and_limits_and_recovers(app_config, db_session, own_redis,
                                                         caplog):
    from app import create_app
    from tests.factories import make_user

    with db_session() as session:
        make_user(session, email="zhao.lei@example.cn")
        make_user(session, email="wang.fang@example.cn", phone="13812345678")
    app_config.update(REDIS_URL=own_redis.url)
    app = create_app(app_config)

    def sign_in(login, password):
        return app.test_client().post("/account/login",
                                      data={"login": login, "password": password})

    try:
        assert sign_in("zhao.lei@example.cn", "wrong password").status_code == 400
        assert any("sign-in-failures" in key for key in own_redis.keys())
        readiness = "site.readiness" in app.view_functions
        if readiness:
            assert app.test_client().get("/readyz").status_code == 200

        own_redis.stop()
        caplog.clear()
        caplog.set_level(logging.INFO)
        assert app.test_client().get("/").status_code == 200
        for _ in range(5):
            assert sign_in("wang.fang@example.cn", "wrong password").status_code == 400
        assert sign_in("wang.fang@example.cn", "right or wrong").status_code == 429
        assert sign_in("zhao.lei@example.cn", PASSWORD).status_code == 302
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(said) == 1 and "each process counts on its own" in said[0], said
        assert all(r.exc_info is None for r in caplog.records)

        if readiness:
            assert app.test_client().get("/readyz").status_code == 503

        own_redis.start()  # empty: --save ''
        if readiness:
            assert app.test_client().get("/readyz").status_code == 200
        assert sign_in("zhao.lei@example.cn", "wrong password").status_code == 400
        assert any("sign-in-failures" in key for key in own_redis.keys())
        assert "the shared store is back" in caplog.text
    finally:
        app.extensions["events"].close()
        app.extensions["database"].engine.dispose()


def test_gunicorn_rides_out_a_postgres_restart(shop_on_own_postgres, own_postgres, tmp_path,
                                               monkeypatch):
    import requests

    from tests import app_processes

    _app, slug = shop_on_own_postgres
    log = tmp_path / "gunicorn.log"
    env = {"DATABASE_URL": own_postgres.url, "SECRET_KEY": "outage-" + "y" * 40,
           "INSTANCE_DIR": str(tmp_path / "instance"), "REDIS_URL": "",
           "MEDIA_DIR": str(tmp_path / "media"), "EMBEDDED_SCHEDULER": "0",
           "CATALOG_PAGE_CACHE_SECONDS": "0"}
    with log.open("w") as stderr:
        start = app_processes.start_process
        monkeypatch.setattr(app_processes, "start_process",
                            lambda arguments, env, **options: start(arguments, env,
                                                                    stderr=stderr, **options))
        server, url = app_processes.start_gunicorn(env)
        try:
            assert requests.get(f"{url}/products/{slug}", timeout=30).status_code == 200
            own_postgres.stop()
            for _ in range(5):
                down = requests.get(f"{url}/products/{slug}", timeout=30)
                assert down.status_code == 503 and "暂时无法使用" in down.text
            own_postgres.start()
            assert requests.get(f"{url}/products/{slug}", timeout=30).status_code == 200
            assert server.poll() is None  # the same process, never restarted
        finally:
            app_processes.stop(server)
    said = log.read_text()
    assert said.count("database unavailable, answering 503") == 1, said
    assert said.count("database reachable again") == 1, said
    assert "Traceback" not in said, said


@pytest.mark.parametrize("orig, unavailable, lost", [
    (psycopg.OperationalError("connection refused"), True, True),
    (psycopg.errors.AdminShutdown("terminating connection"), True, True),
    (psycopg.errors.TooManyConnections("too many clients"), True, True),
    (psycopg.errors.DeadlockDetected("deadlock detected"), True, False),
    (sqlite3.OperationalError("database is locked"), True, False),
    (sqlite3.OperationalError("no such table: product"), False, False),
])
def test_which_database_errors_are_an_outage(orig, unavailable, lost):
    from core.errors import connection_lost, database_unavailable

    error = sa.exc.OperationalError("SELECT 1", None, orig)
    assert database_unavailable(error) is unavailable
    assert connection_lost(error) is lost
