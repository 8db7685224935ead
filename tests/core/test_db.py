"""The database layer: one commit per request, after-commit hooks, UTC times, SQLite."""

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from accounts.models import User
from core.db import after_commit, db, get_session
from core.mail import OutboxMail


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
    with pytest.raises(failure) if ending != "commit" else nullcontext(), db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        if ending == "error":
            raise RuntimeError("the request failed")
        if ending == "constraint":
            session.execute(sa.text("INSERT INTO user_role (user_id, role) VALUES (0, 'x')"))
    assert _next_writer_gets_the_lock(app)
    assert _count(db_session, OutboxMail) == (2 if ending == "commit" else 1)


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
