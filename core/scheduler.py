"""Background jobs: a registry each package adds to, and the APScheduler runtime.

The scheduler runs in its own process (`flask --app app scheduler`). Web workers never
start it: under several gunicorn workers each would run every job. In the one-process
`make run` mode (EMBEDDED_SCHEDULER=1) it runs inside the app, behind a lock so that a
second process cannot start another. On PostgreSQL the lock is an advisory lock, which
also keeps one scheduler active across hosts.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

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

    for module in ("core.mail", "catalog.jobs", "shop.jobs", "shop.income_jobs",
                   "livestream.jobs", "accounts.jobs"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def run_job(app: Flask, job_id: str) -> object:
    """Run one job now, in an app context; used by the scheduler and by tests."""
    spec = registered_jobs()[job_id]
    with app.app_context():
        return spec.func()


def _add_jobs(scheduler, app: Flask) -> None:
    for spec in registered_jobs().values():
        scheduler.add_job(
            run_job, spec.trigger, args=[app, spec.id], id=spec.id, name=spec.id,
            coalesce=True, max_instances=1, replace_existing=True, misfire_grace_time=300,
            **spec.trigger_args,
        )


class SchedulerLock:
    """Held while this process is the one running jobs."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._file = None
        self._connection = None

    def acquire(self) -> bool:
        """Try once; True when this process now holds the lock."""
        url = self.app.config["DATABASE_URL"]
        if url.startswith("postgresql"):
            connection = self.app.extensions["database"].engine.connect()
            # Keyed by schema too, so test runs sharing one server never meet.
            got = connection.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({ADVISORY_LOCK_KEY}, "
                "hashtext(current_schema()))").scalar()
            connection.commit()
            if got:
                self._connection = connection
                return True
            connection.close()
            return False
        path = Path(self.app.config["INSTANCE_DIR"]) / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        """Let another process take over."""
        if self._connection is not None:
            # The lock belongs to the database session, and a pooled connection lives
            # on: unlock now (a closed socket frees it only once the server notices),
            # then throw the connection away rather than return it to the pool.
            try:
                self._connection.exec_driver_sql(
                    f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY}, "
                    "hashtext(current_schema()))")
                self._connection.commit()
            finally:
                self._connection.invalidate()
                self._connection.close()
            self._connection = None
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


def run_forever(app: Flask, *, stop: threading.Event | None = None, wait_seconds: int = 15):
    """The scheduler process: wait for the lock (standby), then run jobs until stopped."""
    lock = SchedulerLock(app)
    while not lock.acquire():
        logger.info("another scheduler is active; standing by")
        if stop is not None and stop.wait(wait_seconds):
            return
        if stop is None:
            time.sleep(wait_seconds)
    try:
        if stop is None:
            scheduler = BlockingScheduler(timezone="UTC")
            _add_jobs(scheduler, app)
            logger.info("scheduler running %d jobs", len(scheduler.get_jobs()))
            scheduler.start()
        else:
            scheduler = BackgroundScheduler(timezone="UTC")
            _add_jobs(scheduler, app)
            scheduler.start()
            stop.wait()
            scheduler.shutdown(wait=True)
    finally:
        lock.release()
