"""Order mail through a real SMTP server, in the buyer's language; audiobook downloads."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import utcnow
from core.mail import OutboxMail
from core.scheduler import run_job
from shop import payments, refunds
from shop.models import DownloadGrant, Order, OrderLine
from tests.factories import make_user
from tests.shop.helpers import make_shop, payment_of, place


def _subjects(inbox):
    from email.header import decode_header, make_header

    return [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]


def _order_with_mail(app, db_session, locale):
    from shop import mails

    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session)["items"][0]
        order = place(session, [(variant.id, 1)], locale=locale)
        mails.order_placed(session=session, order=order)
    return order


@pytest.fixture
def smtp_config(app_config, shop_smtp_server):
    app_config.update({"SMTP_HOST": shop_smtp_server.host, "SMTP_PORT": shop_smtp_server.port})
    return shop_smtp_server


def test_confirmation_arrives_in_the_buyers_language(smtp_config, app, db_session):
    english = _order_with_mail(app, db_session, "en")
    chinese = _order_with_mail(app, db_session, "zh_Hans_CN")
    assert smtp_config.messages == []  # nothing is sent inside the order's transaction
    assert run_job(app, "send_outbox") == 2
    subjects = _subjects(smtp_config)
    assert f"Order {english.number} received" in subjects
    assert f"已收到订单 {chinese.number}" in subjects
    body = next(m for m in smtp_config.messages if english.number in str(m["Subject"]))
    assert f"/orders/{english.public_token}" in body.get_payload(decode=True).decode()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mail_waits_in_the_outbox_while_smtp_is_down(app_config, shop_smtp_server, db_session):
    from app import create_app

    app_config.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": _free_port()})
    down = create_app(app_config)
    try:
        with down.app_context():
            order = _order_with_mail(down, db_session_for(down), "en")
            assert run_job(down, "send_outbox") == 0
            with db_session_for(down)() as session:
                mail = session.exec(select(OutboxMail)).one()
                assert mail.attempts == 1 and mail.sent_at is None and mail.last_error
    finally:
        down.extensions["database"].engine.dispose()
    app_config.update({"SMTP_HOST": shop_smtp_server.host, "SMTP_PORT": shop_smtp_server.port})
    up = create_app(app_config)
    try:
        with up.app_context():
            with db_session_for(up)() as session:
                mail = session.exec(select(OutboxMail)).one()
                mail.next_attempt_at = utcnow()
                session.add(mail)
            assert run_job(up, "send_outbox") == 1
        assert [str(m["Subject"]) for m in shop_smtp_server.messages] == [
            f"Order {order.number} received"]
    finally:
        up.extensions["database"].engine.dispose()


def db_session_for(application):
    from core.db import db

    def open_session(write=True):
        return db.transaction(write=write)
    return open_session


def test_download_works_only_when_paid_a_limited_number_of_times(app, client, db_session,
                                                                 tmp_path):
    with db_session() as session:
        product, variant = make_shop(session, digital=True)["items"][0]
        order = place(session, [(variant.id, 1)])
        operator = make_user(session, roles=())
    folder = tmp_path / "media" / "digital" / str(product.id)
    folder.mkdir(parents=True)
    (folder / "chapter-1.mp3").write_bytes(b"ID3 audio")
    with db_session() as session:
        assert session.exec(select(DownloadGrant)).all() == []  # nothing before payment
    with app.test_request_context(), db_session() as session:
        payment = payment_of(session, order.id)
        payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                           currency="CNY", by_user_id=operator.id)
    page = client.get(f"/orders/{order.public_token}").get_data(as_text=True)
    link = page.split('href="/downloads/')[1].split('"')[0]
    for _ in range(5):
        response = client.get(f"/downloads/{link}")
        assert response.status_code == 200 and response.data == b"ID3 audio"
        response.close()
    assert client.get(f"/downloads/{link}").status_code == 409
    assert client.get(f"/downloads/{link[:-2]}xx").status_code == 404
    with db_session() as session:
        grant = session.exec(select(DownloadGrant)).one()
        grant.download_count = 0
        grant.expires_at = utcnow() - timedelta(seconds=1)
        session.add(grant)
    assert client.get(f"/downloads/{link}").status_code == 404
    with db_session() as session:
        grant = session.exec(select(DownloadGrant)).one()
        grant.expires_at = utcnow() + timedelta(days=1)
        session.add(grant)
    with app.test_request_context(), db_session() as session:
        refunds.refund_order(session=session, order=session.get(Order, order.id),
                             amount=5000, reason="退款", restock=False, by_user_id=operator.id)
    assert client.get(f"/downloads/{link}").status_code == 404
    with db_session() as session:
        line = session.exec(select(OrderLine)).one()
        assert line.is_digital
