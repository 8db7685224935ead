"""One scheduler across hosts: two real `flask --app app scheduler` processes on one
database. Only the one holding the lock runs jobs; SIGKILL it and the other takes over
within a minute (the bound the issue sets) and runs them; a database restart makes the
active one step down before another starts.

Who holds the lock is read from the database server (pg_locks with the holder's
application name) or the kernel (/proc/locks), and who runs jobs from each process's
log and from mail reaching a real SMTP server."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from core.db import db
from core.mail import OutboxMail
from tests.app_processes import flask_command, start_process, stop
from tests.conftest import _empty_postgres, _migrate, wait_for
from tests.core.test_faults_services import own_postgres  # noqa: F401 (a fixture, shared)

RUNNING_JOB = 'Running job "'
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ", re.MULTILINE)


class Scheduler:
    """One `flask --app app scheduler` process with its own log file."""

    def __init__(self, name: str, env: dict, folder: Path) -> None:
        self.name = name
        self.log = folder / f"scheduler-{name}.log"
        with self.log.open("w") as out:
            self.process = start_process(flask_command("scheduler"),
                                         {**env, "PGAPPNAME": name}, stdout=out,
                                         stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text()

    def job_runs(self) -> int:
        return self.text().count(RUNNING_JOB)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the database, no unlock."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def lines(self, needle: str) -> list[datetime]:
        """When each log line containing `needle` was written."""
        return [_when(line) for line in self.text().splitlines() if needle in line]


def _when(line: str) -> datetime:
    return datetime.strptime(LOG_TIME.match(line).group(1), "%Y-%m-%d %H:%M:%S,%f")


def _queue_raw(app, to: str) -> None:
    # A row as a committed page leaves it, without the page's own after-commit send:
    # only a scheduler's send_outbox can deliver it.
    with app.app_context(), db.transaction() as session:
        session.add(OutboxMail(to_address=to, subject="接班测试", body_text="定时任务接班"))


def _delivered(smtp_server, to: str) -> int:
    return sum(1 for message in smtp_server.messages if message["To"] == to)


def _test_app(url: str, tmp_path: Path):
    from app import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "f" * 40, "TESTING": True,
                       "INSTANCE_DIR": str(tmp_path / "test-instance")})


def _env(url: str, smtp_server, instance: Path, standby: str | None) -> dict:
    env = {"DATABASE_URL": url, "SECRET_KEY": "failover-" + "k" * 32,
           "INSTANCE_DIR": str(instance), "EMBEDDED_SCHEDULER": "0",
           "SMTP_HOST": smtp_server.host, "SMTP_PORT": str(smtp_server.port)}
    return {**env, "SCHEDULER_STANDBY_SECONDS": standby} if standby else env


def _advisory_holders(server_url: str, names: list[str]) -> list[str]:
    with psycopg.connect(server_url, autocommit=True) as connection:
        return [row[0] for row in connection.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = ANY(%s)",
            [names])]


def _flock_holders(lock_file: Path) -> list[int]:
    """Process ids holding an flock on `lock_file`, as the kernel lists them."""
    if not lock_file.exists():
        return []
    inode = lock_file.stat().st_ino
    holders = []
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF" (blocked waiters add "->")
        if "->" not in fields and fields[1] == "FLOCK" \
                and int(fields[5].rsplit(":", 1)[1]) == inode:
            holders.append(int(fields[4]))
    return holders


def _takeover(first: Scheduler, second: Scheduler, holder, smtp_server, app, *, tag: str):
    """Both run; only `first` is active; kill it; `second` takes over and sends mail.
    Returns the seconds from the kill to the mail queued after it being delivered.
    The caller queues the mail "before-TAG" before starting `first`."""
    to_before, to_after = f"before-{tag}@example.cn", f"after-{tag}@example.cn"
    assert wait_for(lambda: holder() == [first.name], timeout=30), first.text()
    assert wait_for(lambda: "standing by: another scheduler is active" in second.text(),
                    timeout=30), second.text()
    # Queued before either started: sent once, by the active one, as it took over.
    assert wait_for(lambda: _delivered(smtp_server, to_before), timeout=45), first.text()
    assert holder() == [first.name]
    assert first.job_runs() > 0
    assert second.job_runs() == 0, second.text()
    assert "scheduler active" not in second.text()

    killed = time.monotonic()
    first.kill()
    _queue_raw(app, to_after)  # only the survivor can send this one
    assert wait_for(lambda: holder() == [second.name], timeout=60), second.text()
    locked = time.monotonic() - killed
    assert wait_for(lambda: _delivered(smtp_server, to_after), timeout=60 - locked), \
        second.text()
    took = time.monotonic() - killed
    assert took < 60
    assert second.job_runs() > 0
    time.sleep(1)  # a second send of either mail would have landed by now
    assert (_delivered(smtp_server, to_before), _delivered(smtp_server, to_after)) == (1, 1)
    print(f"takeover ({tag}): lock after {locked:.1f} s, first job's mail after {took:.1f} s")
    return took


def test_postgresql_one_active_scheduler_and_takeover_after_sigkill(
        postgres_schema_url, postgres_server_url, smtp_server, tmp_path):
    if postgres_schema_url is None:
        pytest.skip("PostgreSQL is not reachable (see tests/conftest.py)")
    token = secrets.token_hex(3)
    # The default standby period (15 s), as production runs it.
    env = _env(postgres_schema_url, smtp_server, tmp_path / "instance", standby=None)
    app = _test_app(postgres_schema_url, tmp_path)
    _queue_raw(app, "before-postgresql@example.cn")
    first = Scheduler(f"gf-scheduler-{token}-a", env, tmp_path)
    second = None
    try:
        # The first must hold the lock before the second starts, or either may win.
        names = [first.name, f"gf-scheduler-{token}-b"]
        assert wait_for(lambda: _advisory_holders(postgres_server_url, names), timeout=30)
        second = Scheduler(names[1], env, tmp_path)
        _takeover(first, second, lambda: _advisory_holders(postgres_server_url, names),
                  smtp_server, app, tag="postgresql")
    finally:
        for scheduler in (first, second):
            if scheduler is not None:
                stop(scheduler.process)
        app.extensions["database"].engine.dispose()
        _empty_postgres(postgres_schema_url)


def test_sqlite_one_active_scheduler_and_takeover_after_sigkill(
        sqlite_template, smtp_server, tmp_path):
    database = tmp_path / "shop.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    app = _test_app(url, tmp_path)
    _queue_raw(app, "before-sqlite@example.cn")
    # Different instance folders: the lock is the database's, not the folder's.
    first = Scheduler("a", _env(url, smtp_server, tmp_path / "one", standby="3"), tmp_path)
    second = None
    lock_file = database.with_name("shop.db.scheduler-lock")
    try:
        assert wait_for(lambda: _flock_holders(lock_file), timeout=30), first.text()
        second = Scheduler("b", _env(url, smtp_server, tmp_path / "two", standby="3"),
                           tmp_path)
        pids = {first.process.pid: first.name, second.process.pid: second.name}
        _takeover(first, second,
                  lambda: [pids.get(pid, pid) for pid in _flock_holders(lock_file)],
                  smtp_server, app, tag="sqlite")
    finally:
        for scheduler in (first, second):
            if scheduler is not None:
                stop(scheduler.process)
        app.extensions["database"].engine.dispose()


def test_a_database_restart_makes_the_active_scheduler_step_down_first(
        own_postgres_for_schedulers, smtp_server, tmp_path):
    """The restart ends the lock's session: the active one must notice and stop before
    any other starts running jobs, and afterwards exactly one is active again."""
    server = own_postgres_for_schedulers
    env = _env(server.url, smtp_server, tmp_path / "instance", standby="3")
    app = _test_app(server.url, tmp_path)
    names = ["gf-restart-a", "gf-restart-b"]
    first = Scheduler(names[0], env, tmp_path)
    second = None
    try:
        assert wait_for(lambda: _advisory_holders(server.url, names) == [names[0]],
                        timeout=30), first.text()
        second = Scheduler(names[1], env, tmp_path)
        assert wait_for(lambda: first.job_runs() > 0 and "standing by" in second.text(),
                        timeout=30), first.text() + second.text()
        server.stop()
        time.sleep(2)
        server.start()
        assert wait_for(lambda: "scheduler lock lost" in first.text(), timeout=30), \
            first.text()
        # Queued once the active one has stepped down: whichever takes over sends it as it
        # does (it runs each job at once), not at the outbox's next turn up to 30 s later.
        _queue_raw(app, "after-restart@example.cn")
        # It stands by again rather than exiting: no supervisor is needed to get back.
        assert wait_for(lambda: "scheduler standing by" in first.text(), timeout=30), \
            first.text()
        assert wait_for(lambda: len(_advisory_holders(server.url, names)) == 1, timeout=60)
        [active] = _advisory_holders(server.url, names)
        after = first if active == names[0] else second
        assert wait_for(lambda: len(after.lines("scheduler active")) == (
            2 if after is first else 1), timeout=30), after.text()
        assert wait_for(lambda: _delivered(smtp_server, "after-restart@example.cn"),
                        timeout=60), after.text()
        time.sleep(1)

        # Each process's active spells, from "active" to "lost" (or still going): no
        # two overlap, and every job started inside its own process's spell.
        spells = []
        for scheduler in (first, second):
            starts = scheduler.lines("scheduler active")
            ends = scheduler.lines("scheduler lock lost") + [datetime.max]
            spells += [(start, ends[n], scheduler) for n, start in enumerate(starts)]
            for run in scheduler.lines(RUNNING_JOB):
                assert any(s <= run <= e for s, e, owner in spells if owner is scheduler), \
                    scheduler.text()
        spells.sort(key=lambda spell: spell[0])
        for (_s1, end, _o1), (start, _e2, _o2) in zip(spells, spells[1:], strict=False):
            assert end < start, (first.text(), second.text())
        assert len(spells) == 2
        assert first.process.poll() is None and second.process.poll() is None
        assert "Traceback" not in first.text().split("scheduler lock lost")[1], first.text()
        assert _delivered(smtp_server, "after-restart@example.cn") == 1
    finally:
        for scheduler in (first, second):
            if scheduler is not None:
                stop(scheduler.process)
        app.extensions["database"].engine.dispose()


@pytest.fixture
def own_postgres_for_schedulers(request):
    """A migrated PostgreSQL server of this test's own, which it may restart."""
    server = request.getfixturevalue("own_postgres")
    _migrate(server.url)
    return server
