"""Statements for the checkout's hot path, where each statement's cost shows.

Each goes through the driver itself, prepared as SQLAlchemy would prepare it (compiled
once, every value through its column type's bind processing, every result through its
result processing): passing one through SQLAlchemy's execution cost more than running
it, on SQLite too.

`rows_now` runs one statement now and returns its rows; `insert_now` inserts one row
and returns it as if loaded; `write_with_commit` queues a write that nothing reads
back, to go to the database with the commit; `commit_with` sends the queued writes and
its own last statements and commits (on PostgreSQL all in one pipeline with the
COMMIT).
"""

from __future__ import annotations

from collections import namedtuple
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel


class CommitRefused(Exception):
    """The last statements broke a constraint: the transaction is rolled back."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


def write_with_commit(session: Session, statement, parameters) -> None:
    """Queue a write to go to the database with the commit: a plain insert (or other
    statement) whose result nobody needs, one parameter dict or a list of them.

    `commit_with` sends queued writes before its own statements; on PostgreSQL they all
    travel in the one pipeline with the COMMIT, so each costs no round trip of its own.
    Any other commit, and any ORM query or flush of the session before it, runs them
    first, in order, so the session still reads what it wrote. A rollback drops them;
    a savepoint's rollback drops those queued inside it and keeps the others.
    """
    if not session.in_transaction():
        session.begin()  # tie them to a transaction, so a rollback drops them
    session.info.setdefault("with_commit", []).append((statement, parameters))


def _write_queued(session: Session) -> None:
    queued = session.info.pop("with_commit", None)
    if queued:
        connection = session.connection()
        for statement, parameters in queued:
            connection.execute(statement, parameters)


@event.listens_for(Session, "before_commit")
def _write_queued_before_commit(session):
    _write_queued(session)


@event.listens_for(Session, "before_flush")
def _write_queued_before_flush(session, _flush_context, _instances):
    _write_queued(session)


@event.listens_for(Session, "do_orm_execute")
def _write_queued_before_query(orm_execute_state):
    _write_queued(orm_execute_state.session)


def commit_with(session: Session, statements: list[tuple]) -> None:
    """Run the queued writes (`write_with_commit`), then `statements` ((statement,
    parameters) pairs), as the transaction's last work, and commit it.

    On PostgreSQL the statements and the COMMIT go to the server in one pipeline: a row
    they lock (a hot product's stock) is held only for the server's own time, never
    while this process waits for a CPU or its lock on Python (the GIL) to send the
    COMMIT. A broken constraint rolls everything back and raises CommitRefused.
    """
    session.flush()
    statements = session.info.pop("with_commit", []) + list(statements)
    connection = session.connection()
    prepared = [_for_driver(statement, parameters, connection.dialect)[:2]
                for statement, parameters in statements]
    raw = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        _commit_sqlite(session, raw, prepared)
        return
    import psycopg

    refused = None
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            try:
                _send(cursor, prepared)
                raw.commit()
            except psycopg.errors.IntegrityError as exc:
                refused = exc  # caught inside, so the pipeline closes without complaint
    except psycopg.errors.PipelineAborted:
        if refused is None:
            session.rollback()
            raise
        # Closing a pipeline whose statement was refused says so again: known already.
    except BaseException:
        session.rollback()
        raise
    if refused is not None:
        session.rollback()
        raise CommitRefused(refused.diag.constraint_name) from refused
    session.commit()  # the server has committed; this ends the session's transaction


def _commit_sqlite(session: Session, raw, prepared: list) -> None:
    import sqlite3

    refused = None
    cursor = raw.cursor()
    try:
        _send(cursor, prepared)
    except sqlite3.IntegrityError as exc:
        refused = exc
    finally:
        cursor.close()  # before a rollback, which may close the connection itself
    if refused is not None:
        session.rollback()
        raise CommitRefused(str(refused).removeprefix("CHECK constraint failed: ")) from refused
    session.commit()


def _send(cursor, prepared: list) -> None:
    for query, parameters in prepared:
        if isinstance(parameters, list):
            cursor.executemany(query, parameters)
        else:
            cursor.execute(query, parameters)


def _for_driver(statement, parameters, dialect) -> tuple[str, object, object]:
    """The SQL text and the driver's parameters, as SQLAlchemy would send them (compiled
    for the keys given, each value through its column type's bind processing: UTC
    times, enum values; in the driver's style, named or positional for SQLite), and the
    compiled statement itself (its result columns)."""
    rows = parameters if isinstance(parameters, list) else [parameters]
    compiled = _compiled(statement, dialect, tuple(sorted(rows[0])), len(rows) > 1)
    # SQLAlchemy's own execution reads the same map (DefaultExecutionContext).
    processors = compiled._bind_processors
    converted = []
    for row in rows:
        values = compiled.construct_params(row)
        values = {key: processors[key](value) if key in processors else value
                  for key, value in values.items()}
        converted.append(tuple(values[name] for name in compiled.positiontup)
                         if compiled.positional else values)
    return (compiled.string, converted if isinstance(parameters, list) else converted[0],
            compiled)


@lru_cache(maxsize=64)
def _compiled(statement, dialect, keys: tuple[str, ...], many: bool):
    compiled = statement.compile(dialect=dialect, column_keys=list(keys),
                                 for_executemany=many)
    if compiled.insert_prefetch or compiled.update_prefetch:
        # Defaults SQLAlchemy would work out in Python are not sent from here.
        raise ValueError("give every column a value: "
                         + ", ".join(c.name for c in compiled.insert_prefetch
                                     + compiled.update_prefetch))
    return compiled


def rows_now(session: Session, statement, parameters: dict) -> list:
    """Run one statement (a select, or a write with RETURNING) in the session's
    transaction now and return its rows, each a named tuple of the statement's columns.

    What the session has pending goes first, as before any query of the session:
    its unflushed objects and the writes queued for the commit.
    """
    session.flush()
    _write_queued(session)
    connection = session.connection()
    dialect = connection.dialect
    query, values, compiled = _for_driver(statement, parameters, dialect)
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(query, values)
        fetched = cursor.fetchall()
    except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy would raise it
        raise sa.exc.DBAPIError.instance(query, values, error,
                                         dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()
    row_type, processors = _result_plan(compiled)
    if not any(processors):
        return [row_type._make(row) for row in fetched]
    return [row_type._make([value if process is None else process(value)
                            for process, value in zip(processors, row, strict=True)])
            for row in fetched]


@lru_cache(maxsize=64)
def _result_plan(compiled):
    """A row type named by the statement's columns and each column's result processing
    (None where the driver's value is already right), as SQLAlchemy's result reads it."""
    columns = compiled._result_columns
    row_type = namedtuple("Row", [column.keyname for column in columns])
    return row_type, [column.type._cached_result_processor(compiled.dialect, None)
                      for column in columns]


def insert_now(session: Session, model: type[SQLModel], **values) -> SQLModel:
    """Insert a new `model` row now with one prepared statement and return it as an
    object the session holds as if it had been loaded (its id set).

    For the checkout's hot path: a flush through the unit of work costs several times
    as much, and so does building the object first (each attribute set passes through
    the ORM's and pydantic's bookkeeping). The model's own defaults fill what is not
    given, as its constructor would; nothing is validated beyond that, so callers pass
    values of the right type (the database's constraints still hold).
    """
    table, key, defaults = _insert_plan(model)
    unknown = values.keys() - defaults.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)}")
    row = {name: values[name] if name in values else default()
           for name, default in defaults.items()}
    (row[key],) = rows_now(session, _insert_returning(table), row)[0]
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(row)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


@lru_cache(maxsize=32)
def _insert_plan(model: type[SQLModel]):
    """The model's table, its key's name, and a default maker for every other column
    (raising TypeError for a required one not given)."""
    table = model.__table__
    (key,) = table.primary_key.columns
    defaults = {}
    for column in table.columns:
        if column is key:
            continue
        field = model.model_fields[column.key]
        if field.default_factory is not None:
            defaults[column.key] = field.default_factory
        elif field.is_required():
            defaults[column.key] = _required(model.__name__, column.key)
        else:
            defaults[column.key] = (lambda value: lambda: value)(field.default)
    return table, key.key, defaults


def _required(model_name: str, name: str):
    def missing():
        raise TypeError(f"{model_name}.{name} is required")
    return missing


@lru_cache(maxsize=32)
def _insert_returning(table):
    (key,) = table.primary_key.columns
    return table.insert().returning(key)


# A savepoint remembers what was queued when it began. If it rolls back, the writes
# queued inside it are dropped, and those queued before it are queued again: a query
# inside the savepoint may have sent them, and the savepoint's rollback undid them.
@event.listens_for(Session, "after_transaction_create")
def _remember_queue_at_savepoint(session, transaction):
    if transaction.nested:
        session.info.setdefault("with_commit_at_savepoint", {})[transaction] = list(
            session.info.get("with_commit", []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_queued_writes(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop("with_commit", None)
        session.info.pop("with_commit_at_savepoint", None)
    elif previous_transaction.nested:
        saved = session.info.get("with_commit_at_savepoint", {}).pop(previous_transaction, None)
        if saved is not None:
            session.info["with_commit"] = saved


@event.listens_for(Session, "after_transaction_end")
def _forget_savepoint_queues(session, transaction):
    # Kept until the outer transaction ends: a savepoint's own end comes before the
    # news of its rollback. A released one's sent writes stay sent, its queue queued.
    if transaction.parent is None:
        session.info.pop("with_commit_at_savepoint", None)

