"""The image's entry commands, run outside a container: deploy/entrypoint.sh migrate, web
(gunicorn with gunicorn.conf.py) and scheduler, as the Dockerfile and compose.yaml run
them, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
import sqlalchemy as sa

from core.config import PROJECT_ROOT
from tests.app_processes import free_port, stop
from tests.shop.helpers import CONTACT, make_shop, place

ENTRYPOINT = str(PROJECT_ROOT / "deploy" / "entrypoint.sh")
BIN = Path(sys.executable).parent
SECRET_KEY = "runtime-test-secret-" + "k" * 32


# Settings of the machine running the tests that these processes must not see.
UNSET = ("REDIS_URL", "LIVE_EDGE_URL", "PROMETHEUS_MULTIPROC_DIR", "SMTP_HOST", "BASE_URL",
         "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "EMBEDDED_SCHEDULER")


def _env(database_url: str, tmp_path: Path, **extra) -> dict:
    """The whole environment of an entry command: the shop in production."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    return {**env, "GONGFANG_ENV": "production", "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": database_url, "INSTANCE_DIR": str(tmp_path / "instance"),
            "MEDIA_DIR": str(tmp_path / "media"),
            "FLASK": str(BIN / "flask"), "GUNICORN": str(BIN / "gunicorn"), **extra}


def _entrypoint(*arguments: str, env: dict) -> subprocess.CompletedProcess:
    # From another folder: the script finds the project by its own path.
    return subprocess.run([ENTRYPOINT, *arguments], env=env, cwd="/",
                          capture_output=True, text=True, timeout=300)


def _start(command: str, env: dict, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log_file:
        return subprocess.Popen([ENTRYPOINT, command], env=env, cwd="/", stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_text(path: Path, pattern: str, process: subprocess.Popen, timeout=60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if re.search(pattern, text):
            return text
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared:\n{path.read_text(errors='replace')}")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request, tmp_path):
    """A database with no tables at all: a new SQLite file or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    if server is None:
        pytest.skip("PostgreSQL is not reachable")
    schema = f"gf_fresh_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_migrate_brings_a_fresh_database_to_every_head(fresh_database_url, tmp_path):
    from alembic.script import ScriptDirectory

    from core.config import normalise_database_url

    env = _env(fresh_database_url, tmp_path)
    first = _entrypoint("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "database is up to date" in first.stdout
    engine = sa.create_engine(normalise_database_url("DATABASE_URL", fresh_database_url))
    try:
        with engine.connect() as connection:
            applied = set(connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version").scalars())
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    scripts = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    assert applied == set(scripts.get_heads())
    assert {"shop_order", "product", "user_account"} <= tables
    again = _entrypoint("migrate", env=env)
    assert again.returncode == 0, again.stderr


def test_an_unknown_database_scheme_stops_migrate_with_its_name(tmp_path):
    result = _entrypoint("migrate", env=_env("mysql://shop@127.0.0.1/shop", tmp_path))
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "mysql://shop@127.0.0.1/shop" in result.stderr


def _worker_pids(log: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log)]


# gunicorn's workers, signals and logs are the subject, not the database: PostgreSQL only,
# the backend it serves in production (the pages' own tests run on both).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_web_serves_secret_pages_logs_no_secret_and_restarts_gracefully(
        app, db_session, database_url, tmp_path):
    with db_session() as session:
        shop = make_shop(session)
        order = place(session, [(shop["items"][0][1].id, 1)])
        token, number = order.public_token, order.number
    log_path = tmp_path / "web.log"
    port = free_port()
    # Metrics files of an earlier run would add their counts to this one's.
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_4242.db").write_bytes(b"left by an earlier run")
    env = _env(database_url, tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2",
               PROMETHEUS_MULTIPROC_DIR=str(metrics))
    process = _start("web", env, log_path)
    url = f"http://127.0.0.1:{port}"
    secrets_sent = [token, CONTACT.email, "buyer%40example.cn", "reset-Token-Abc123xyz",
                    "DownLoad.Token.9xYz", "placed=1"]
    try:
        before = _worker_pids(_wait_for_text(log_path, r"(?s)(Booting worker.*){2}", process))
        assert len(before) == 2
        assert not (metrics / "counter_4242.db").exists()
        assert requests.get(f"{url}/healthz", timeout=30).json() == {"status": "ok"}
        page = requests.get(f"{url}/orders/{token}",
                            params={"placed": "1", "email": CONTACT.email}, timeout=30)
        assert page.status_code == 200 and number in page.text
        assert requests.get(f"{url}/orders/{token}/pay", timeout=30).status_code == 404
        # A reset link that is not valid: its page says so.
        assert requests.get(f"{url}/account/password/reset/reset-Token-Abc123xyz",
                            timeout=30).status_code == 400
        assert requests.get(f"{url}/downloads/DownLoad.Token.9xYz", timeout=30
                            ).status_code == 404

        # SIGHUP: new workers take over, the master and its socket stay.
        os.kill(process.pid, signal.SIGHUP)
        log = _wait_for_text(log_path, r"(?s)Handling signal: hup(.*Booting worker){2}", process)
        after = [pid for pid in _worker_pids(log) if pid not in before]
        assert len(after) == 2
        assert requests.get(f"{url}/healthz", timeout=30).status_code == 200

        # SIGTERM: a graceful stop of every worker, then of the master.
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        stop(process)
    log = log_path.read_text(errors="replace")
    assert "Handling signal: term" in log and "Shutting down: Master" in log
    # Every old worker finished within graceful_timeout, its exit hooks (metrics) too.
    assert "Worker graceful timeout" not in log and "Traceback" not in log, log
    access = [line for line in log.splitlines() if re.search(r'"(GET|POST|HEAD) ', line)]
    assert any('"GET /orders/:token" 200 ' in line for line in access), log
    assert any('"GET /orders/:token/pay" 404 ' in line for line in access), log
    assert any('"GET /account/password/reset/:token" 400 ' in line for line in access), log
    assert any('"GET /downloads/:token" 404 ' in line for line in access), log
    assert any('"GET /healthz" 200 ' in line for line in access), log
    for secret in secrets_sent:
        assert secret not in log, f"{secret!r} was logged"
    for line in access:
        assert "?" not in line and "127.0.0.1" not in line and "python-requests" not in line
        assert re.search(r'" \d{3} (\d+|-) \d+ms$', line), line


def test_one_scheduler_runs_jobs_the_other_stands_by_and_both_stop_on_sigterm(
        app, database_url, tmp_path):
    env = _env(database_url, tmp_path)
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    processes = []
    try:
        for path in logs:
            processes.append(_start("scheduler", env, path))
            if len(processes) == 1:
                _wait_for_text(path, r"scheduler active on .* \d+ jobs", processes[0])
        _wait_for_text(logs[1], "scheduler standing by", processes[1])
        assert "scheduler active" not in logs[1].read_text()
        for process in processes:
            os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            # Stopped by the signal itself or by a handler of its own: either way gone.
            assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        for process in processes:
            stop(process)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_migrates_first_then_runs_scheduler_and_web_through_the_entry_script():
    # -n prints the recipe without running it; the entry commands it runs are tested above.
    printed = subprocess.run(["make", "-n", "serve", "SERVE_PORT=8123"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True).stdout
    recipe = printed[printed.index("GONGFANG_ENV=production"):]
    assert "REDIS_URL='redis://127.0.0.1:6379/0'" in recipe and "PORT=8123" in recipe
    assert (recipe.index("deploy/entrypoint.sh migrate &&")
            < recipe.index("deploy/entrypoint.sh scheduler &")
            < recipe.index("deploy/entrypoint.sh web"))
    assert "trap 'kill $scheduler" in recipe
