"""Who is watching: viewers are noted in memory as they open a room and written in
batches (a room opened by two thousand people at once must not be two thousand write
transactions), with each session's peak of open rooms across every process.

Each web process has one writer thread (a greenlet under gevent), started on first
use; `flush()` writes now (tests, and the end of a stream).
"""

from __future__ import annotations

import logging
import os
import threading

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import db, utcnow
from core.events import bus
from livestream.live_prices import channel
from livestream.models import LiveSession, SessionStatus
from livestream.room_models import LiveViewer

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 5.0


class ViewerLog:
    """One app's viewers noted and not yet written, and its writer thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pending: dict[int, set[str]] = {}
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()
        self.stopped = threading.Event()

    def note(self, live_id: int, key: str) -> None:
        """Remember that `key` opened the room of `live_id`."""
        with self.lock:
            self.pending.setdefault(live_id, set()).add(key)
        self._start()

    def _start(self) -> None:
        if self.thread is not None and self.thread.is_alive() and self.pid == os.getpid():
            return
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="live-viewers", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(FLUSH_SECONDS):
            try:
                with self.app.app_context():
                    self.flush()
            except Exception:  # the next round tries again; viewers are only counts
                logger.exception("live viewers: could not write the counts")

    def flush(self) -> None:
        """Write the viewers noted so far and raise each live session's peak."""
        with self.lock:
            pending, self.pending = self.pending, {}
        with db.transaction() as session:
            insert = (pg_insert if session.get_bind().dialect.name == "postgresql"
                      else sqlite_insert)
            now = utcnow()
            known = set(session.exec(sa.select(LiveSession.id).where(
                LiveSession.id.in_(list(pending) or [0]))).scalars())
            for live_id, keys in pending.items():
                if live_id not in known:
                    continue  # deleted meanwhile: nothing to count it against
                session.execute(insert(LiveViewer).values(
                    [{"session_id": live_id, "viewer_key": key, "first_seen_at": now}
                     for key in sorted(keys)]).on_conflict_do_nothing())
            for live_id in session.exec(sa.select(LiveSession.id).where(
                    LiveSession.status == SessionStatus.LIVE)).scalars():
                watching = bus().connected(channel(live_id))
                session.execute(sa.update(LiveSession).where(
                    LiveSession.id == live_id, LiveSession.peak_viewers < watching)
                    .values(peak_viewers=watching))

    def stop(self) -> None:
        """Stop the writer thread (app teardown in tests)."""
        self.stopped.set()


def viewer_log() -> ViewerLog:
    """The current app's viewer log."""
    log = current_app.extensions.get("live_viewers")
    if log is None:
        log = current_app.extensions.setdefault("live_viewers",
                                                ViewerLog(current_app._get_current_object()))
    return log
