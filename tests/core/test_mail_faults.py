"""SMTP down: a page that queues mail still succeeds, the mail stays in the outbox with
a log line naming the mail and the server (never the recipient), is tried again, and is
sent once, with the same Message-ID, when the real server is back on its port."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.db import utcnow
from core.mail import MAX_ATTEMPTS, OutboxMail, message_id
from core.scheduler import run_job
from tests.core.mail_server import MailServer
from tests.factories import make_user
from tests.shop.helpers import checkout_until_check, make_shop

RESET_EMAIL = "li.na@example.cn"
BUYER_EMAIL = "buyer@example.cn"


@pytest.fixture
def mail_server():
    server = MailServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_down_app(app_config, mail_server):
    """The app pointed at the mail server's port, which nobody serves yet."""
    app_config.update(SMTP_HOST=mail_server.host, SMTP_PORT=mail_server.port)
    return app_config


def _outbox(db_session) -> dict[str, OutboxMail]:
    with db_session(write=False) as session:
        return {m.to_address: m for m in session.exec(select(OutboxMail)).all()}


def _make_due(db_session) -> None:
    # Time moves on past the back-off.
    with db_session() as session:
        session.execute(sa.update(OutboxMail).values(
            next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_mail_waits_while_smtp_is_down_and_goes_once_it_is_back(
        smtp_down_app, mail_server, app, client, db_session, caplog):
    with db_session() as session:
        make_user(session, email=RESET_EMAIL)
        variant = make_shop(session)["items"][0][1]
    caplog.set_level(logging.INFO)

    # Two pages that queue mail: one tries to send at once, after its commit
    # (password reset), one leaves it to the job (checkout). Both succeed.
    forgot = client.post("/account/password/forgot", data={"email": RESET_EMAIL})
    assert forgot.status_code == 200
    fields = checkout_until_check(client, variant.id, quantity=1)
    placed = client.post("/checkout/place", data=fields)
    assert placed.status_code == 302 and "/orders/" in placed.headers["Location"]
    assert run_job(app, "send_outbox") == 0  # the order mail's try, server still down

    waiting = _outbox(db_session)
    assert set(waiting) == {RESET_EMAIL, BUYER_EMAIL}
    for mail in waiting.values():
        assert mail.sent_at is None and mail.attempts == 1 and mail.claimed_until is None
        assert mail.last_error.startswith("ConnectionRefusedError")
        assert mail.next_attempt_at > utcnow()
    kept = [r.getMessage() for r in caplog.records if "kept in the outbox" in r.getMessage()]
    assert len(kept) == 2
    assert f"mail server 127.0.0.1:{mail_server.port}" in kept[0]
    assert "ConnectionRefusedError" in kept[0] and "next try at" in kept[0]
    everything_logged = "\n".join(r.getMessage() for r in caplog.records)
    assert RESET_EMAIL not in everything_logged and BUYER_EMAIL not in everything_logged

    # Not due yet: the job leaves them alone; due and still down: tried and kept.
    assert run_job(app, "send_outbox") == 0
    assert {m.attempts for m in _outbox(db_session).values()} == {1}
    _make_due(db_session)
    assert run_job(app, "send_outbox") == 0
    assert {m.attempts for m in _outbox(db_session).values()} == {2}

    mail_server.start()
    assert run_job(app, "send_outbox") == 0  # back, but their next try is not due yet
    _make_due(db_session)
    assert run_job(app, "send_outbox") == 2
    assert run_job(app, "send_outbox") == 0
    _make_due(db_session)
    assert run_job(app, "send_outbox") == 0
    sent = _outbox(db_session)
    with app.app_context():
        for address in (RESET_EMAIL, BUYER_EMAIL):
            [message] = mail_server.to(address)
            assert message["Message-ID"] == message_id(sent[address])
            assert sent[address].sent_at is not None and sent[address].attempts == 3
            assert sent[address].last_error is None


def test_a_server_that_stops_and_starts_again_loses_nothing(
        smtp_down_app, mail_server, app, db_session):
    from core.mail import queue_mail

    mail_server.start()
    with db_session() as session:
        queue_mail(session=session, to="first@example.cn", subject="一", body="一")
    assert len(mail_server.to("first@example.cn")) == 1
    mail_server.stop()
    with db_session() as session:
        queue_mail(session=session, to="second@example.cn", subject="二", body="二")
    assert mail_server.to("second@example.cn") == []
    mail_server.start()
    _make_due(db_session)
    assert run_job(app, "send_outbox") == 1
    assert [len(mail_server.to(a)) for a in ("first@example.cn", "second@example.cn")] == [1, 1]


def test_a_recipient_refused_for_good_is_given_up_with_an_error_line(
        smtp_down_app, mail_server, app, db_session, caplog):
    from core.mail import queue_mail

    class RefusingServer(MailServer):
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            return "550 no such mailbox"

    refusing = RefusingServer()
    refusing.port = mail_server.port
    refusing.start()
    try:
        with db_session() as session:
            queue_mail(session=session, to="gone@example.cn", subject="s", body="b")
    finally:
        refusing.stop()
    [mail] = _outbox(db_session).values()
    assert mail.sent_at is None and mail.attempts == MAX_ATTEMPTS
    [line] = [r for r in caplog.records if "given up" in r.getMessage()]
    assert line.levelno == logging.ERROR
    assert "recipient refused (550)" in line.getMessage()
    assert "gone@example.cn" not in line.getMessage()
    _make_due(db_session)
    assert run_job(app, "send_outbox") == 0  # not tried again


def test_a_mail_not_sent_in_five_days_is_given_up(smtp_down_app, app, db_session, caplog):
    with db_session() as session:
        session.add(OutboxMail(to_address="late@example.cn", subject="s", body_text="b",
                               created_at=utcnow() - timedelta(days=5)))
    assert run_job(app, "send_outbox") == 0
    [mail] = _outbox(db_session).values()
    assert mail.attempts == MAX_ATTEMPTS
    assert any("given up after" in r.getMessage() for r in caplog.records)
