"""Database engine, one session per request, transactions and after-commit hooks.

Services flush and never commit. A request commits once at its end (or rolls back on
an error status or an exception); jobs and commands use `transaction()`. Work that
must only happen when the data is really saved (mail, events, jobs) is queued with
`after_commit()` and runs after the commit, never before it.
"""

from __future__ import annotations

import contextvars
import enum
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

logger = logging.getLogger(__name__)

# SQLite: write transactions that read then write must take the write lock first
# ("BEGIN IMMEDIATE"); a deferred one fails with "database is locked" under load.
_sqlite_begin = contextvars.ContextVar("sqlite_begin", default="BEGIN")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
WRITE_LOCK_SECONDS = 30


def no_write_lock(view):
    """Mark a POST view that never writes to the database (a checkout question page:
    its answers live in the session cookie), so on SQLite it reads in a deferred
    transaction and never queues for the one write lock behind buyers placing orders."""
    view.takes_write_lock = False
    return view


def writes_on_get(view):
    """Mark a GET view that writes (a download counted, a calendar token made on first
    visit, an operator's look at sensitive fields audited). On SQLite a deferred
    transaction that read first cannot write once another connection has committed
    ("database is locked" at once, whatever the busy timeout), so it takes the write
    lock when it begins, as a POST does."""
    view.writes_on_get = True
    return view


def write_lock_for_this_request() -> None:
    """The same, decided while the request runs (a hook that audits some pages): on
    SQLite the request's transaction takes the write lock, if it has not begun yet."""
    if "_sqlite_begin_token" not in g:
        g._sqlite_begin_token = _sqlite_begin.set("BEGIN IMMEDIATE")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum_class: type[enum.Enum]) -> sa.Enum:
    """A portable enum column: a VARCHAR holding the member's value, no native type."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=max(len(m.value) for m in enum_class) + 8,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def make_engine(url: str) -> Engine:
    """An engine with the settings each database needs for safe concurrent writes."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # The connection used last is handed out first, so a quiet spell lets the others
    # go idle and the busy ones keep their server's caches warm.
    # pool_pre_ping: a connection the server dropped (a restart, a failover) is noticed
    # and replaced when it is handed out, so the app recovers without a restart; a
    # server that does not answer at all fails a connect in 10 s instead of the
    # operating system's minutes, and the page says so (core/errors.py).
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                              pool_use_lifo=True, connect_args={"connect_timeout": 10},
                              hide_parameters=True)
    event.listen(engine, "handle_error", _without_row_values)
    return engine


# hide_parameters (on both engines): a failed statement's error, and so its traceback in
# the log, would otherwise print the values it was given: passwords' hashes, phones,
# addresses, tokens.


def _without_row_values(context) -> None:
    # PostgreSQL's DETAIL repeats the values of the row it refused ("Key (phone)=(...)
    # already exists", "Failing row contains (...)"), and its message becomes the error's
    # text. The text keeps the primary message (it names the constraint); the detail
    # stays in the error's `diag` for code that needs it.
    original = context.original_exception
    diag = getattr(original, "diag", None)
    primary = diag.message_primary if diag is not None else None
    if primary and str(original) != primary:
        original.args = (primary,)
        if context.sqlalchemy_exception is not None:
            context.sqlalchemy_exception.args = (
                f"({type(original).__module__}.{type(original).__name__}) {primary}",)


def _sqlite_engine(url: str) -> Engine:
    # Pooled connections: opening one and setting its pragmas cost more than a small
    # query, on every request.
    # The connection used last is handed out first: SQLite drops a connection's page
    # cache whenever another connection has written since it last read, so rotating
    # through the pool (the default) reloaded every page on every request.
    pool = {} if ":memory:" in url else {"pool_size": 10, "max_overflow": 20,
                                         "pool_use_lifo": True}
    engine = sa.create_engine(url, connect_args={"timeout": WRITE_LOCK_SECONDS,
                                                 "check_same_thread": False},
                              hide_parameters=True, **pool)
    # SQLite has one write lock per database, and its busy handler waits for it inside
    # the C library. Under gevent (the web workers' class, see README) that wait blocks
    # every greenlet of the process, including the one holding the lock: a writer that
    # yields mid-transaction (a Redis call) would leave the next one stuck for the whole
    # timeout. So the threads (or greenlets) of one process queue for the lock on a
    # Python lock, which gevent makes cooperative; other processes (the scheduler) meet
    # SQLite's own busy timeout.
    writers = threading.Lock()
    if ":memory:" not in url:  # one connection, one thread: nothing to queue for
        writers = _SQLITE_WRITERS.setdefault(engine.url.database, writers)

    @event.listens_for(engine, "connect")
    def _sqlite_on_connect(dbapi_connection, _record):
        # SQLAlchemy's documented recipe: take transaction control away from the driver
        # so that the "begin" event below can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={WRITE_LOCK_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_on_begin(connection):
        kind = _sqlite_begin.get()
        if kind == "BEGIN IMMEDIATE":
            if not writers.acquire(timeout=WRITE_LOCK_SECONDS):
                raise sa.exc.OperationalError(kind, None, Exception("database is locked"))
            connection.info["holds_write_lock"] = True
        try:
            connection.exec_driver_sql(kind)
        except BaseException:
            _let_go_of(connection.info, writers)
            raise

    @event.listens_for(engine, "commit")
    def _sqlite_on_commit(connection):
        # This event comes just before the driver's commit: commit here, then let the
        # next writer in (the driver's own commit then finds nothing left to do).
        try:
            connection.connection.dbapi_connection.commit()
        finally:
            _let_go_of(connection.info, writers)

    @event.listens_for(engine, "rollback")
    def _sqlite_on_rollback(connection):
        try:
            connection.connection.dbapi_connection.rollback()
        finally:
            _let_go_of(connection.info, writers)

    @event.listens_for(engine, "checkin")
    def _sqlite_on_checkin(_dbapi_connection, record):
        _let_go_of(record.info, writers)  # given back mid-transaction (an error)

    return engine


# This process's lock on each SQLite file's one writer (see _sqlite_engine), by the
# file's path: every engine on the file shares it, as they share SQLite's own lock.
_SQLITE_WRITERS: dict[str, threading.Lock] = {}


def _let_go_of(info: dict, writers: threading.Lock) -> None:
    if info.pop("holds_write_lock", False):
        writers.release()


class AppDatabase:
    """What one app holds: its own engine (so two apps in a process never share one)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine


class Database:
    """The current app's engine and its request-scoped session."""

    @property
    def engine(self) -> Engine:
        """The engine of the app in context."""
        return current_app.extensions["database"].engine

    def init_app(self, app: Flask) -> None:
        app.extensions["database"] = AppDatabase(make_engine(app.config["DATABASE_URL"]))

        @app.before_request
        def _choose_transaction_kind():
            view = app.view_functions.get(request.endpoint or "")
            if request.method in SAFE_METHODS:
                if getattr(view, "writes_on_get", False):
                    g._sqlite_begin_token = _sqlite_begin.set("BEGIN IMMEDIATE")
            else:
                g._sqlite_begin_token = _sqlite_begin.set(
                    "BEGIN IMMEDIATE" if getattr(view, "takes_write_lock", True)
                    else "BEGIN")

        @app.after_request
        def _commit_or_roll_back(response):
            session = g.pop("db_session", None)
            if session is not None:
                try:
                    if not session.in_transaction():
                        pass  # never used
                    elif response.status_code < 400:
                        session.commit()
                    else:
                        session.rollback()
                finally:
                    session.close()
            return response

        @app.teardown_request
        def _close_session(_exc):
            session = g.pop("db_session", None)
            if session is not None:
                session.rollback()
                session.close()
            token = g.pop("_sqlite_begin_token", None)
            if token is not None:
                _sqlite_begin.reset(token)

    def session(self) -> Session:
        """The current request's session, opened on first use."""
        if "db_session" not in g:
            g.db_session = new_session(self.engine)
        return g.db_session

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session of its own that commits at the end, for jobs and commands."""
        with transaction(self.engine, write=write) as session:
            yield session


def new_session(engine: Engine) -> Session:
    """A session wired to run after-commit hooks."""
    session = Session(engine, expire_on_commit=False)
    session.info["after_commit"] = []
    return session


@contextmanager
def transaction(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """Open a session, commit when the block ends, roll back if it raises."""
    token = _sqlite_begin.set("BEGIN IMMEDIATE" if write else "BEGIN")
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        _sqlite_begin.reset(token)


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run `callback` once `session` has committed; drop it if it rolls back.

    The callback runs outside the committed transaction: if it needs the database it
    opens its own with `transaction()`.
    """
    if not session.in_transaction():
        # Tie the hook to a transaction, so a rollback before any SQL still drops it.
        session.begin()
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit_hooks(session):
    # Releasing a savepoint fires this event too; only the outermost commit saves data.
    if session.in_nested_transaction():
        return
    callbacks = session.info.get("after_commit") or []
    session.info["after_commit"] = []
    for callback in callbacks:
        # The data is saved; a failing side effect (a mail server down) is logged and
        # retried by its own job, never turned into an error for the saved request.
        try:
            callback()
        except Exception:
            logger.exception("after-commit hook %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_commit_hooks(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info["after_commit"] = []


db = Database()


def get_session() -> Session:
    """The session of the current request."""
    return db.session()


# Made by raw SQL in migrations for each database's full-text engine, not by the
# models: autogenerate and the schema check leave them alone.
UNMANAGED_SCHEMA_OBJECTS = {
    ("table", "product_fts"),
    ("column", "search_tokens"),
    ("index", "ix_product_search_tokens"),
}


def include_in_schema_comparison(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: skip the search engine's own tables, columns, indexes."""
    if type_ == "table" and name and name.startswith("product_fts"):
        return False
    return (type_, name) not in UNMANAGED_SCHEMA_OBJECTS
