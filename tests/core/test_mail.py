"""The outbox: mail leaves only after commit, survives a server that is down."""

import socket
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlmodel import select

from core.db import utcnow
from core.mail import OutboxMail, queue_mail, send_outbox


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _mails(db_session) -> list[OutboxMail]:
    with db_session(write=False) as session:
        return session.exec(select(OutboxMail).order_by(OutboxMail.id)).all()


def _queue(db_session, to="maker@example.cn", subject="订单已付款", body="您好，订单已付款。"):
    with db_session() as session:
        return queue_mail(session=session, to=to, subject=subject, body=body).id


@pytest.fixture
def smtp_app(app_config, smtp_server):
    app_config.update(SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port)
    return app_config


def test_committed_mail_reaches_the_smtp_server(smtp_app, smtp_server, app, db_session):
    _queue(db_session)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "maker@example.cn"
    assert _subject(message) == "订单已付款"
    assert "您好，订单已付款。" in message.get_payload(decode=True).decode("utf-8")
    [mail] = _mails(db_session)
    assert mail.sent_at is not None and mail.attempts == 1 and mail.last_error is None


def test_rolled_back_mail_is_never_sent(smtp_app, smtp_server, app, db_session):
    with pytest.raises(RuntimeError), db_session() as session:
        queue_mail(session=session, to="a@example.cn", subject="s", body="b")
        raise RuntimeError("the order failed")
    assert smtp_server.messages == []
    assert _mails(db_session) == []
    with app.app_context():
        assert send_outbox() == 0
    assert smtp_server.messages == []


def test_server_down_keeps_the_mail_and_retries_once_it_is_up(
        app_config, smtp_server, app, db_session):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_closed_port())
    before = utcnow()
    _queue(db_session)
    [mail] = _mails(db_session)
    assert mail.sent_at is None
    assert mail.attempts == 1
    assert mail.last_error
    assert mail.next_attempt_at > before
    assert mail.claimed_until is None

    app.config.update(SMTP_PORT=smtp_server.port)
    with app.app_context():
        assert send_outbox() == 0  # not due yet
    assert smtp_server.messages == []
    with db_session() as session:
        session.get(OutboxMail, mail.id).next_attempt_at = utcnow() - timedelta(seconds=1)
    with app.app_context():
        assert send_outbox() == 1
        assert send_outbox() == 0
    assert len(smtp_server.messages) == 1
    [mail] = _mails(db_session)
    assert mail.sent_at is not None and mail.attempts == 2 and mail.last_error is None


def test_without_smtp_mail_is_written_as_eml(app, app_config, db_session):
    mail_id = _queue(db_session, subject="重置密码")
    path = Path(app_config["MAIL_DIR"]) / f"{mail_id:08d}.eml"
    assert path.exists()
    message = message_from_bytes(path.read_bytes())
    assert message["To"] == "maker@example.cn"
    assert _subject(message) == "重置密码"
    [mail] = _mails(db_session)
    assert mail.sent_at is not None


def test_a_claimed_mail_is_not_sent_twice(app, app_config, db_session):
    from core.mail import deliver

    with db_session() as session:
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        mail_id = session.exec(select(OutboxMail.id)).one()
    with app.app_context():
        assert deliver(mail_id) is True
        assert deliver(mail_id) is False
    assert len(list(Path(app_config["MAIL_DIR"]).glob("*.eml"))) == 1
