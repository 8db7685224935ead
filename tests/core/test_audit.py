"""The audit trail: an entry is saved with its action or not at all, and the database
refuses to change or delete one, on SQLite and on PostgreSQL."""

import pytest
import sqlalchemy as sa
from sqlmodel import select

from accounts.models import Role
from core.audit import AuditEntry, record
from core.db import db
from tests.factories import make_user


def _entries(db_session) -> list[AuditEntry]:
    with db_session(write=False) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))


def test_an_entry_is_saved_with_the_transaction_that_records_it(db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        entry = record(session, actor=operator, action="order.refund",
                       subject_type="order", subject_id=42,
                       details={"amount": 1200, "currency": "CNY"})
        assert entry in session.new
    [saved] = _entries(db_session)
    assert (saved.actor_id, saved.action, saved.subject_type, saved.subject_id,
            saved.details) == (operator.id, "order.refund", "order", "42",
                               {"amount": 1200, "currency": "CNY"})
    assert saved.at.utcoffset().total_seconds() == 0


def test_an_entry_is_dropped_with_the_transaction_that_rolls_back(app, db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
    with pytest.raises(RuntimeError), app.app_context(), db.transaction() as session:
        record(session, actor=operator.id, action="payout.create",
               subject_type="payout", subject_id="7")
        session.flush()
        raise RuntimeError("the payout failed after the entry was written")
    assert _entries(db_session) == []


def test_the_system_is_an_entry_without_an_actor(db_session):
    with db_session() as session:
        record(session, actor=None, action="order.expire", subject_type="order",
               subject_id="3")
    [saved] = _entries(db_session)
    assert saved.actor_id is None


@pytest.mark.parametrize("details", [
    {"password": "x"}, {"reset_token": "abc"}, {"card_last4": "4242"},
    {"phone": "13800000000"}, {"shipping": {"address": "海曙区"}},
    {"disability_category": "hearing"}, {"email": "a@example.cn"},
])
def test_personal_or_secret_details_are_refused(db_session, details):
    with db_session() as session, pytest.raises(ValueError):
        record(session, actor=None, action="order.refund", subject_type="order",
               subject_id="1", details=details)


def test_an_actor_must_be_a_saved_user_or_an_id(db_session):
    from flask_login import AnonymousUserMixin

    with db_session() as session, pytest.raises(TypeError):
        record(session, actor=AnonymousUserMixin(), action="order.refund",
               subject_type="order", subject_id="1")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET action = 'order.mark_paid', details = '{}'",
    "DELETE FROM audit_entry",
])
def test_the_database_refuses_to_change_or_delete_an_entry(app, db_session, statement):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        record(session, actor=operator, action="order.refund", subject_type="order",
               subject_id="9", details={"amount": 500})
    [before] = _entries(db_session)
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
                db.engine.begin() as connection:
            connection.execute(sa.text(statement))
    [after] = _entries(db_session)
    assert after.model_dump() == before.model_dump()


def test_postgresql_refuses_to_truncate_the_trail(app, db_session, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("TRUNCATE is PostgreSQL's; SQLite has only DELETE")
    with db_session() as session:
        record(session, actor=None, action="order.expire", subject_type="order",
               subject_id="1")
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
                db.engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE audit_entry"))
    assert len(_entries(db_session)) == 1
