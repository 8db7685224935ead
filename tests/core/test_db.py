"""The database layer: one commit per request, after-commit hooks, UTC times, SQLite."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from accounts.models import User
from core.db import after_commit, db, get_session, take_write_lock
from core.mail import OutboxMail
from core.writes import commit_with, insert_now, rows_now, write_with_commit


def _count(db_session, model) -> int:
    with db_session(write=False) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_after_commit_hook_runs_after_commit_only(db_session):
    calls = []
    with db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        after_commit(session, lambda: calls.append(_count(db_session, OutboxMail)))
        assert calls == []
    # The hook saw the committed row from a transaction of its own.
    assert calls == [1]


def test_after_commit_hook_never_runs_after_rollback(db_session):
    calls = []
    with pytest.raises(RuntimeError), db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        after_commit(session, lambda: calls.append("sent"))
        raise RuntimeError("the change fails")
    assert calls == []
    assert _count(db_session, OutboxMail) == 0


def test_hook_dropped_by_explicit_rollback_does_not_run_on_a_later_commit(db_session):
    calls = []
    with db_session() as session:
        after_commit(session, lambda: calls.append("first"))
        session.rollback()
        after_commit(session, lambda: calls.append("second"))
    assert calls == ["second"]


def test_failing_hook_does_not_undo_the_commit(db_session):
    def broken():
        raise OSError("mail server down")

    with db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        after_commit(session, broken)
    assert _count(db_session, OutboxMail) == 1


def test_request_with_error_status_rolls_back_and_skips_hooks(app, client, db_session):
    calls = []

    @app.post("/_test/write-then-refuse")
    def write_then_refuse():
        session = get_session()
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        after_commit(session, lambda: calls.append("hook"))
        return "refused", 400

    @app.post("/_test/write")
    def write():
        session = get_session()
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        after_commit(session, lambda: calls.append("hook"))
        return "ok", 200

    assert client.post("/_test/write-then-refuse").status_code == 400
    assert _count(db_session, OutboxMail) == 0
    assert calls == []
    assert client.post("/_test/write").status_code == 200
    assert _count(db_session, OutboxMail) == 1
    assert calls == ["hook"]


def test_failed_registration_form_writes_nothing(client, db_session):
    response = client.post("/account/register", data={
        "display_name": "王芳", "email": "wang@example.cn", "password": "long enough pw",
        "password_again": "different pw!!"})
    assert response.status_code == 400
    assert _count(db_session, User) == 0


def test_utc_datetime_round_trips_timezone_aware(db_session):
    shanghai = datetime(2026, 3, 1, 20, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    with db_session() as session:
        mail = OutboxMail(to_address="a@example.cn", subject="s", body_text="b",
                          created_at=shanghai)
        session.add(mail)
        session.flush()
        mail_id = mail.id
    with db_session(write=False) as session:
        stored = session.get(OutboxMail, mail_id).created_at
        raw = session.execute(sa.text("SELECT created_at FROM outbox_mail")).scalar_one()
    assert stored == shanghai
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 12  # 20:30 in Shanghai is 12:30 UTC
    if isinstance(raw, datetime):
        assert raw.astimezone(UTC).hour == 12 if raw.tzinfo else raw.hour == 12
    else:  # SQLite keeps text: the UTC wall time
        assert raw.startswith("2026-03-01 12:30:15")


def test_utc_datetime_compares_in_queries(db_session):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with db_session() as session:
        for hours in (0, 5, 10):
            session.add(OutboxMail(to_address="a@example.cn", subject=str(hours), body_text="b",
                                   next_attempt_at=base + timedelta(hours=hours)))
    cutoff = (base + timedelta(hours=5)).astimezone(ZoneInfo("Asia/Shanghai"))
    with db_session(write=False) as session:
        subjects = session.exec(select(OutboxMail.subject).where(
            OutboxMail.next_attempt_at <= cutoff).order_by(OutboxMail.subject)).all()
    assert subjects == ["0", "5"]


def test_utc_datetime_refuses_naive_datetimes(db_session):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), \
            db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b",
                               created_at=datetime(2026, 1, 1, 12, 0)))  # noqa: DTZ001
        session.flush()
    assert _count(db_session, OutboxMail) == 0


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite settings")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def _next_writer_gets_the_lock(app) -> bool:
    """Whether another thread can write now (it would wait out the 30 s timeout and
    fail if the lock had not been given back)."""
    import threading

    written = []

    def next_writer():
        with app.app_context(), db.transaction() as session:
            session.add(OutboxMail(to_address="b@example.cn", subject="s", body_text="b"))
        written.append(True)

    other = threading.Thread(target=next_writer)
    other.start()
    other.join(60)
    return written == [True]


@pytest.mark.parametrize("ending", ["error", "commit", "constraint"])
def test_sqlite_write_lock_is_given_back_however_a_transaction_ends(app, db_session,
                                                                    database_url, ending):
    """Threads of one process queue for SQLite's write lock on a Python lock: it must be
    free again after a commit, an exception or a refused write (else the next writer
    would wait out the 30 s timeout and fail)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    failure = RuntimeError if ending == "error" else sa.exc.IntegrityError
    with pytest.raises(failure) if ending != "commit" else _nothing(), db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        if ending == "error":
            raise RuntimeError("the request failed")
        if ending == "constraint":
            session.execute(sa.text("INSERT INTO user_role (user_id, role) VALUES (0, 'x')"))
    assert _next_writer_gets_the_lock(app)
    assert _count(db_session, OutboxMail) == (2 if ending == "commit" else 1)


@pytest.mark.parametrize("ending", ["commit", "error"])
def test_write_lock_taken_after_reading_is_given_back(app, db_session, database_url, ending):
    """A checkout reads without the lock, then takes it on the same connection: the
    next writer gets it once that transaction ends, however it ends."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    with pytest.raises(RuntimeError) if ending == "error" else _nothing(), \
            db_session(write=False) as session:
        session.exec(select(func.count()).select_from(OutboxMail)).one()
        take_write_lock(session)
        assert session.connection().info["holds_write_lock"] is True
        insert_now(session, OutboxMail, to_address="a@example.cn", subject="s", body_text="b")
        if ending == "error":
            raise RuntimeError("the request failed")
    assert _next_writer_gets_the_lock(app)
    assert _count(db_session, OutboxMail) == (2 if ending == "commit" else 1)


@pytest.mark.parametrize("ending", ["commit", "error"])
def test_a_no_write_lock_view_reads_outside_a_transaction_then_writes_in_one(
        app, db_session, database_url, ending):
    """On SQLite a `no_write_lock` POST begins nothing for its reads (each is a snapshot
    of its own); `take_write_lock` then begins the one transaction its writes share."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's transactions")
    from core.db import no_write_lock

    seen = {}

    @app.post("/test-read-then-write")
    @no_write_lock
    def read_then_write():
        session = get_session()
        session.exec(select(func.count()).select_from(OutboxMail)).one()
        raw = session.connection().connection.dbapi_connection
        seen["reading"] = raw.in_transaction
        take_write_lock(session)
        seen["writing"] = (raw.in_transaction, session.connection().info["holds_write_lock"])
        insert_now(session, OutboxMail, to_address="a@example.cn", subject="s", body_text="b")
        insert_now(session, OutboxMail, to_address="b@example.cn", subject="s", body_text="b")
        if ending == "error":
            raise RuntimeError("the request failed")
        return "ok"

    response = app.test_client().post("/test-read-then-write")
    assert response.status_code == (200 if ending == "commit" else 500)
    assert seen == {"reading": False, "writing": (True, True)}
    assert _next_writer_gets_the_lock(app)
    # Both writes or neither: they shared one transaction.
    assert _count(db_session, OutboxMail) == (3 if ending == "commit" else 1)


def test_insert_now_returns_the_row_as_stored_with_the_models_defaults(db_session):
    with db_session() as session:
        mail = insert_now(session, OutboxMail, to_address="a@example.cn", subject="s",
                          body_text="b")
        assert mail.id is not None and mail in session
        assert mail.attempts == 0 and mail.sent_at is None
        assert mail.created_at.tzinfo is not None
        made = (mail.id, mail.created_at)
    with db_session(write=False) as session:
        stored = session.get(OutboxMail, made[0])
        assert (stored.id, stored.created_at, stored.attempts) == (*made, 0)


def test_insert_now_refuses_unknown_or_missing_columns_and_writes_nothing(db_session):
    with pytest.raises(TypeError, match="no column"), db_session() as session:
        insert_now(session, OutboxMail, to_address="a@example.cn", subject="s",
                   body_text="b", colour="red")
    with pytest.raises(TypeError, match="required"), db_session() as session:
        insert_now(session, OutboxMail, subject="s", body_text="b")
    assert _count(db_session, OutboxMail) == 0


_INSERT_MAIL = OutboxMail.__table__.insert()


def _mail(to: str) -> dict:
    at = datetime.now(UTC)
    return dict(to_address=to, subject="s", body_text="b", created_at=at, next_attempt_at=at,
                claimed_until=None, sent_at=None, attempts=0, last_error=None)


def test_writes_queued_for_the_commit_are_read_back_saved_or_dropped(db_session):
    with db_session() as session:
        write_with_commit(session, _INSERT_MAIL, _mail("a@example.cn"))
        # A query of the session sends them first: it reads what it wrote.
        assert session.exec(select(func.count()).select_from(OutboxMail)).one() == 1
        write_with_commit(session, _INSERT_MAIL, [_mail("b@example.cn"), _mail("c@example.cn")])
    # An ordinary commit sends what is still queued.
    assert _count(db_session, OutboxMail) == 3
    with pytest.raises(RuntimeError), db_session() as session:
        write_with_commit(session, _INSERT_MAIL, _mail("d@example.cn"))
        raise RuntimeError("the request failed")
    with db_session() as session:
        pass  # a later transaction of a session does not find a dropped write either
    assert _count(db_session, OutboxMail) == 3


def test_a_savepoint_rolled_back_keeps_the_writes_queued_before_it(db_session):
    with db_session() as session:
        write_with_commit(session, _INSERT_MAIL, _mail("before@example.cn"))
        with pytest.raises(RuntimeError), session.begin_nested():
            # This query sends the queued write inside the savepoint...
            assert session.exec(select(func.count()).select_from(OutboxMail)).one() == 1
            write_with_commit(session, _INSERT_MAIL, _mail("inside@example.cn"))
            raise RuntimeError("the savepoint's work fails")
        # ...whose rollback undid it: it is queued again, the one from inside is not.
    with db_session(write=False) as session:
        assert [m.to_address for m in session.exec(select(OutboxMail)).all()] == [
            "before@example.cn"]


def test_a_savepoint_released_keeps_what_it_queued(db_session):
    with db_session() as session:
        with session.begin_nested():
            write_with_commit(session, _INSERT_MAIL, _mail("inside@example.cn"))
    assert _count(db_session, OutboxMail) == 1


def test_commit_with_sends_queued_writes_with_their_types_then_its_own(db_session):
    """On PostgreSQL these go in one pipeline as prepared driver parameters: times must
    still arrive in UTC, and a list of rows as many rows."""
    at = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with db_session() as session:
        row = {**_mail("a@example.cn"), "next_attempt_at": at}
        write_with_commit(session, _INSERT_MAIL, row)
        commit_with(session, [(_INSERT_MAIL, [_mail("b@example.cn"), _mail("c@example.cn")])])
    with db_session(write=False) as session:
        mails = session.exec(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [mail.to_address for mail in mails] == [
            "a@example.cn", "b@example.cn", "c@example.cn"]
        assert mails[0].next_attempt_at == at
        assert mails[0].next_attempt_at.tzinfo is not None


def test_rows_now_reads_values_as_the_orm_would_after_what_is_pending(db_session):
    """Straight from the driver, each column still through its type: UTC times come
    back aware (SQLite stores them as text), booleans as booleans."""
    at = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    mail = OutboxMail.__table__
    with db_session() as session:
        write_with_commit(session, _INSERT_MAIL, {**_mail("a@example.cn"), "next_attempt_at": at})
        session.add(OutboxMail(to_address="b@example.cn", subject="s", body_text="b"))
        rows = rows_now(session, sa.select(
            mail.c.to_address, mail.c.next_attempt_at,
            (mail.c.attempts == 0).label("fresh"), sa.cast(mail.c.attempts == 1, sa.Boolean)
            .label("retried")).where(mail.c.subject == sa.bindparam("subject"))
            .order_by(mail.c.id), {"subject": "s"})
    # The queued write and the unflushed object went first, in that order.
    assert [row.to_address for row in rows] == ["a@example.cn", "b@example.cn"]
    assert rows[0].next_attempt_at == at and rows[0].next_attempt_at.tzinfo is not None
    assert rows[0].retried is False and rows[0] == ("a@example.cn", at, True, False)


def test_rows_now_raises_a_broken_constraint_as_sqlalchemy_does(db_session):
    with db_session() as session:
        first = insert_now(session, OutboxMail, to_address="a@example.cn", subject="s",
                           body_text="b")
        taken = first.id
    with pytest.raises(sa.exc.IntegrityError), db_session() as session:
        rows_now(session, OutboxMail.__table__.insert().values(
            id=sa.bindparam("taken"), to_address="b@example.cn", subject="s", body_text="b",
            created_at=sa.func.now(), next_attempt_at=sa.func.now(), attempts=0)
            .returning(OutboxMail.__table__.c.id), {"taken": taken})
    assert _count(db_session, OutboxMail) == 1


def _nothing():
    from contextlib import nullcontext

    return nullcontext()


def test_foreign_keys_are_enforced(db_session):
    from accounts.models import UserRole

    with pytest.raises(sa.exc.IntegrityError), db_session() as session:
        session.add(UserRole(user_id=987654, role="shopper"))
        session.flush()


def test_two_apps_in_one_process_keep_their_own_databases(app_config, tmp_path):
    """Each app has its own engine; building a second app never repoints the first."""
    import shutil

    from app import create_app

    first_url = app_config["DATABASE_URL"]
    if not first_url.startswith("sqlite"):
        pytest.skip("one SQLite file copy is enough to show it")
    second_path = tmp_path / "second.db"
    shutil.copyfile(first_url.removeprefix("sqlite:///"), second_path)
    first = create_app(app_config)
    second = create_app({**app_config, "DATABASE_URL": f"sqlite:///{second_path}"})
    try:
        with first.app_context():
            assert str(db.engine.url) == first_url
        with second.app_context():
            assert str(db.engine.url) == f"sqlite:///{second_path}"
    finally:
        first.extensions["database"].engine.dispose()
        second.extensions["database"].engine.dispose()


def test_after_commit_hooks_wait_for_the_outer_commit_not_a_savepoint(app):
    """Mail queued before a savepoint must not go out when the savepoint is released."""
    from core.db import after_commit, new_session

    fired = []
    with app.app_context():
        session = new_session(db.engine)
        try:
            session.execute(sa.text("SELECT 1"))
            after_commit(session, lambda: fired.append("sent"))
            with session.begin_nested():
                session.execute(sa.text("SELECT 1"))
            assert fired == []
            session.commit()
            assert fired == ["sent"]
        finally:
            session.close()
