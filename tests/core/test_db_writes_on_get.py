"""A GET that reads and then writes, on SQLite: with writes_on_get (or
write_lock_for_this_request) its transaction takes the write lock when it begins, so a
commit by another connection in between cannot make its write fail."""

import threading

import pytest
from sqlmodel import func, select

from core.db import get_session, write_lock_for_this_request, writes_on_get
from core.mail import OutboxMail


def _read_then_write(app):
    """The view: read, let another connection try to commit, then write."""
    session = get_session()
    before = session.exec(select(func.count()).select_from(OutboxMail)).one()
    other = threading.Thread(target=_other_writer, args=(app,))
    other.start()
    # With the write lock held the other writer waits for this request; without it, it
    # commits now and this transaction's snapshot is behind the file.
    other.join(1.5)
    session.add(OutboxMail(to_address="get@example.cn", subject="s", body_text="b"))
    session.flush()
    app.extensions["other_writers"].append(other)
    return str(before)


def _other_writer(app):
    from core.db import db

    with app.app_context(), db.transaction() as session:
        session.add(OutboxMail(to_address="other@example.cn", subject="s", body_text="b"))


@pytest.fixture
def routed_app(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the file")
    app.extensions["other_writers"] = []

    @writes_on_get
    def marked():
        return _read_then_write(app)

    def decided_while_running():
        write_lock_for_this_request()
        return _read_then_write(app)

    def unmarked():
        return _read_then_write(app)

    app.add_url_rule("/t/marked", "t_marked", marked)
    app.add_url_rule("/t/decided", "t_decided", decided_while_running)
    app.add_url_rule("/t/unmarked", "t_unmarked", unmarked)
    return app


def _mails(app) -> list[str]:
    from core.db import db

    with app.app_context(), db.transaction() as session:
        return sorted(session.exec(select(OutboxMail.to_address)).all())


@pytest.mark.parametrize("path", ["/t/marked", "/t/decided"])
def test_a_get_that_writes_keeps_its_write_when_another_connection_commits(routed_app, path):
    response = routed_app.test_client().get(path)
    for other in routed_app.extensions["other_writers"]:
        other.join(30)
    assert response.status_code == 200
    assert _mails(routed_app) == ["get@example.cn", "other@example.cn"]


def test_without_the_mark_the_same_get_loses_its_write(routed_app):
    # Why the mark exists: the deferred transaction read before the other commit, and
    # SQLite refuses its write at once ("database is locked"), busy timeout or not.
    response = routed_app.test_client().get("/t/unmarked")
    for other in routed_app.extensions["other_writers"]:
        other.join(30)
    assert response.status_code == 503
    assert _mails(routed_app) == ["other@example.cn"]
