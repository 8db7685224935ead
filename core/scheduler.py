"""Background jobs: a registry each package adds to, and the APScheduler runtime.

The scheduler runs in its own process (`flask --app app scheduler`). Web workers never
start it: under several gunicorn workers each would run every job. In the one-process
`make run` mode (EMBEDDED_SCHEDULER=1) it runs inside the app, behind a lock so that a
second process cannot start another. On PostgreSQL the lock is an advisory lock, which
also keeps one scheduler active across hosts: the others stand by, try again every
SCHEDULER_STANDBY_SECONDS, and the active one checks three times as often that its lock
session is alive, stepping down when it is not (see run_forever).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)
ADVISORY_LOCK_KEY = 0x6766_6C76  # "gflv": one scheduler per database schema


@dataclass(frozen=True)
class JobSpec:
    """A job: a function of no arguments run inside an app context on a trigger."""

    id: str
    func: Callable[[], object]
    trigger: str
    trigger_args: dict = field(default_factory=dict)


_registry: dict[str, JobSpec] = {}


def register_job(job_id: str, trigger: str = "interval", **trigger_args):
    """Decorator: add a job to the registry under a stable id."""

    def decorate(func):
        _registry[job_id] = JobSpec(job_id, func, trigger, trigger_args)
        return func

    return decorate


def registered_jobs() -> dict[str, JobSpec]:
    """Every job the packages have registered (importing them registers them)."""
    import_job_modules()
    return dict(_registry)


def import_job_modules() -> None:
    """Import each package's jobs module so its jobs register."""
    import importlib

    for module in ("core.mail", "catalog.jobs", "shop.jobs", "income.jobs",
                   "livestream.jobs", "accounts.jobs"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def run_job(app: Flask, job_id: str) -> object:
    """Run one job now, in an app context; used by the scheduler and by tests."""
    spec = registered_jobs()[job_id]
    from core import metrics

    with app.app_context():
        try:
            result = spec.func()
        except Exception:
            metrics.job_finished(job_id, failed=True)
            raise
        metrics.job_finished(job_id, failed=False)
        return result


def _add_jobs(scheduler, app: Flask, *, run_now: bool = False) -> None:
    # run_now: a scheduler that has just taken over runs each interval job at once, as
    # the one it replaces may have died before its last run.
    for spec in registered_jobs().values():
        first = ({"next_run_time": datetime.now(UTC)}
                 if run_now and spec.trigger == "interval" else {})
        scheduler.add_job(
            run_job, spec.trigger, args=[app, spec.id], id=spec.id, name=spec.id,
            coalesce=True, max_instances=1, replace_existing=True, misfire_grace_time=300,
            **first, **spec.trigger_args,
        )


class SchedulerLock:
    """Held while this process is the one running jobs.

    PostgreSQL: an advisory lock on a connection of its own, which the server frees
    when that session ends (the process died, the server restarted). SQLite: an flock
    on a file beside the database, which the kernel frees when the process dies.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._file = None
        self._engine = None
        self._connection = None

    def acquire(self) -> bool:
        """Try once; True when this process now holds the lock (raises if the database
        cannot be reached)."""
        url = self.app.config["DATABASE_URL"]
        if url.startswith("postgresql"):
            return self._acquire_advisory()
        handle = self._lock_file_path().open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _lock_file_path(self) -> Path:
        # Beside the database file, so two processes on one database meet whatever
        # their INSTANCE_DIR.
        database = sa.engine.make_url(self.app.config["DATABASE_URL"]).database
        if database and database != ":memory:":
            path = Path(database).resolve().with_name(Path(database).name + ".scheduler-lock")
        else:
            path = Path(self.app.config["INSTANCE_DIR"]) / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _acquire_advisory(self) -> bool:
        # A connection outside the app's pool: pool_pre_ping would silently replace a
        # dropped one, and with it the lock. Client keepalives and tcp_user_timeout make
        # a check on a server that vanished fail in seconds instead of minutes.
        url = self.app.extensions["database"].engine.url
        engine = sa.create_engine(url, poolclass=NullPool, connect_args={
            "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
            "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 10_000})
        try:
            connection = engine.connect()
            # The server side too: a host that loses power sends no goodbye, and by
            # default the server would keep its session (and the lock) for two hours.
            connection.exec_driver_sql(
                "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; "
                "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000")
            # Keyed by schema too, so test runs sharing one server never meet.
            got = connection.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({ADVISORY_LOCK_KEY}, "
                "hashtext(current_schema()))").scalar()
            connection.commit()
        except BaseException:
            engine.dispose()
            raise
        if not got:
            connection.close()
            engine.dispose()
            return False
        self._engine, self._connection = engine, connection
        return True

    def still_held(self) -> bool:
        """True while the lock is this process's; False once its session is gone."""
        if self._connection is None:
            return self._file is not None
        try:
            held = self._connection.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid()").scalar()
            self._connection.commit()
        except sa.exc.SQLAlchemyError:
            return False
        return held == 1

    def release(self) -> None:
        """Let another process take over (safe to call when the lock is already lost)."""
        if self._connection is not None:
            try:
                self._connection.exec_driver_sql(
                    f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY}, "
                    "hashtext(current_schema()))")
                self._connection.commit()
            except sa.exc.SQLAlchemyError:
                pass  # the session is gone, and the lock with it
            finally:
                self._connection.close()
                self._engine.dispose()
            self._connection = self._engine = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def start_embedded(app: Flask) -> BackgroundScheduler | None:
    """Start jobs inside this process if no other process runs them."""
    lock = SchedulerLock(app)
    if not lock.acquire():
        logger.info("another process runs the scheduler; this one will not")
        return None
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    _add_jobs(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = (scheduler, lock)
    logger.info("embedded scheduler started with %d jobs", len(scheduler.get_jobs()))
    return scheduler


def run_forever(app: Flask, *, stop: threading.Event | None = None,
                wait_seconds: float | None = None) -> None:
    """The scheduler process: stand by until it holds the lock, run jobs while it does,
    and stand by again if it loses it; until stopped (SIGTERM or `stop`)."""
    if stop is None:
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
    standby = wait_seconds or app.config["SCHEDULER_STANDBY_SECONDS"]
    while not stop.is_set():
        lock = SchedulerLock(app)
        if not _wait_for_lock(lock, stop, standby):
            return
        try:
            _run_while_held(app, lock, stop, standby / 3)
        finally:
            lock.release()


def _wait_for_lock(lock: SchedulerLock, stop: threading.Event, standby: float) -> bool:
    said = None  # log when the reason for standing by changes, not on every try
    while True:
        try:
            if lock.acquire():
                return True
            reason = "another scheduler is active"
        except sa.exc.DBAPIError as exc:
            reason = f"database unreachable ({type(exc.orig).__name__})"
        if reason != said:
            level = logging.INFO if reason.startswith("another") else logging.WARNING
            logger.log(level, "scheduler standing by: %s; trying again every %g s",
                       reason, standby)
            said = reason
        if stop.wait(standby):
            return False


def _run_while_held(app: Flask, lock: SchedulerLock, stop: threading.Event,
                    check: float) -> None:
    # A scheduler whose database session dropped (a server restart) has lost its lock
    # but runs jobs until its next check, `check` seconds at most: let it step down.
    if stop.wait(check + 1):
        return
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_jobs(scheduler, app, run_now=True)
    logger.info("scheduler active on %s (process %d), %d jobs", socket.gethostname(),
                os.getpid(), len(scheduler.get_jobs()))
    scheduler.start()
    lost = False
    try:
        while not stop.wait(check):
            if not lock.still_held():
                lost = True
                logger.warning("scheduler lock lost (database session ended); "
                               "stopping jobs and standing by")
                return
    finally:
        # Stopping: let running jobs finish. Lost: another process may already run
        # jobs, so do not wait for this one's (each job's writes are guarded anyway).
        scheduler.shutdown(wait=not lost)
