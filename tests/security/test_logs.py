"""No secret or personal detail reaches a log line or an error page.

Full journeys run with values found nowhere else: a password, a phone, an address, a
disability category, a card payment with its client secret and signed webhook, a secret
order link, a reset token, a calendar feed token, a stream key, a bank account. Every log
record of every logger at DEBUG (tracebacks and extras included) and the body of every
answer of 400 or more are searched for each. Pages that break on purpose (a query bug,
a constraint the database refuses, a busy database) show how failures are logged. Both
databases; the last journey runs in a real gunicorn with gunicorn.conf.py.
"""

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import select

from accounts.models import Role, User
from core.db import get_session
from core.events.nchan import edge_secret
from livestream import edge
from shop.models import DownloadGrant, Order, OrderLine, PaymentStatus
from shop.order_views import download_url
from tests.conftest import WEBHOOK_SECRET, wait_for
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order
from tests.livestream.room_helpers import make_live_room
from tests.security.log_search import INTERNALS, EveryRecord, RecordingClient, found, listen
from tests.shop.helpers import make_shop, signed_event

PASSWORD = "Leak-check-passw0rd-81kq"
NEW_PASSWORD = "Leak-check-new-passw0rd-3mz"
WRONG_PASSWORD = "Leak-check-wrong-pw-52hx"
PHONE = "13900457321"
OTHER_PHONE = "13711230987"
EMAIL = "leakcheck.person@example.cn"
BUYER_EMAIL = "leakcheck.buyer@example.cn"
STREET = "Leakcheck Lane 77"
DISABILITY = "intellectual"
BANK_ACCOUNT = "6222 8800 4242 7319"
PAYOUT_ACCOUNT = "6217 0031 9988 2046"
BAD_ACCOUNT = "6230 5512 x 7788"
SECRET_KEY = "leak-check-secret-key-" + "k" * 30


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SECRET_KEY": SECRET_KEY, "PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def app(app):
    """The app with three pages that break as a bug or a fault would."""
    def query_bug(token=None):
        get_session().execute(sa.text("SELECT * FROM no_such_table WHERE phone = :phone"),
                              {"phone": PHONE})

    def refused_row():
        session = get_session()
        for address in (EMAIL, BUYER_EMAIL):  # one phone for two people: refused
            session.add(User(email=address, phone=OTHER_PHONE, display_name=STREET,
                             password_hash=PASSWORD))
        session.flush()

    def busy():
        raise sa.exc.OperationalError("UPDATE user SET phone = ?", (PHONE,),
                                      sqlite3.OperationalError("database is locked"))

    for name, view in (("query-bug", query_bug), ("refused-row", refused_row),
                       ("busy", busy)):
        app.add_url_rule(f"/broken/{name}", f"broken_{name}", view, methods=["GET", "POST"])
    # A bug on a page whose address is a secret.
    app.add_url_rule("/orders/<token>/broken", "broken_order_page", query_bug)
    app.test_client_class = RecordingClient
    return app


@pytest.fixture
def client(app):
    recording = app.test_client()
    recording.error_pages = []
    return recording


@pytest.fixture
def logs(app):
    handler = EveryRecord()
    stop = listen(handler)
    yield handler
    stop()


def _assert_nothing_leaked(logs, client, markers: dict[str, str], typed_back=()):
    markers = {**markers, "secret key": SECRET_KEY}
    cookie = client.get_cookie("session")
    if cookie is not None:
        markers["session cookie"] = cookie.value
    assert logs.lines, "the journey logged nothing: the capture is not listening"
    assert found(markers, logs.lines) == {}
    # An error page may hold its own address (the language switch links back to it) and
    # what its reader typed into its form (never a password): both are the reader's own.
    for status, path, body in client.error_pages:
        checked = {name: value for name, value in markers.items()
                   if name not in typed_back and value.lower() not in path.lower()}
        assert found(checked, [body]) == {}, (status, path)
    for status, path, body in client.error_pages:
        assert not [word for word in INTERNALS if word in body], (status, path)


def _broken_pages(client):
    for name, status in (("query-bug", 500), ("refused-row", 500), ("busy", 503)):
        assert client.post(f"/broken/{name}", data={"phone": PHONE}).status_code == status
        assert client.get(f"/broken/{name}", headers={"Accept": "application/json"}
                          ).status_code == status
    assert client.get(f"/orders/{PHONE}-{DISABILITY}").status_code == 404
    assert client.get(f"/api/v1/products/{PHONE}").status_code == 404
    assert client.post("/checkout/place", data={"idempotency_key": PASSWORD},
                       content_type="application/x-www-form-urlencoded").status_code in (
        302, 400)
    assert client.post("/cart/add", data={"variant_id": PHONE, "quantity": STREET}
                       ).status_code == 400


def test_accounts_journey_leaves_no_password_phone_token_or_disability(
        app, client, logs, db_session):
    registered = client.post("/account/register", data={
        "display_name": "测试", "email": EMAIL, "phone": PHONE, "password": PASSWORD,
        "password_again": PASSWORD})
    assert registered.status_code == 302
    client.post("/account/logout")
    for _ in range(6):  # wrong passwords until the limit answers 429
        answer = client.post("/account/login", data={"login": EMAIL, "password": WRONG_PASSWORD})
    assert answer.status_code == 429
    assert client.post("/account/login", data={"login": PHONE, "password": WRONG_PASSWORD}
                       ).status_code == 429
    # The reset mail's link, used.
    assert client.post("/account/password/forgot", data={"email": EMAIL}).status_code == 200
    mail_dir = Path(app.config["MAIL_DIR"])
    mail = email.message_from_bytes(wait_for(lambda: sorted(mail_dir.glob("*.eml")))[0]
                                    .read_bytes(), policy=email.policy.default)
    token = re.search(r"/account/password/reset/(\S+)", mail.get_content()).group(1)
    assert client.get(f"/account/password/reset/{token}").status_code == 200
    assert client.post(f"/account/password/reset/{token}", data={
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}).status_code == 302
    assert client.get(f"/account/password/reset/{token}").status_code == 400
    # A maker records a disability category.
    with db_session() as session:
        maker = make_user(session, roles=(Role.MAKER,), phone=OTHER_PHONE).email
    login(client, maker)
    saved = client.post("/account/maker-profile", data={
        "public_name": "Leakcheck", "story": "", "disability_consent": "y",
        "disability_category": DISABILITY})
    assert saved.status_code == 302
    assert client.get("/operator/users", query_string={"q": PHONE}).status_code == 403
    assert client.get("/account/logout").status_code == 405
    _broken_pages(client)
    assert {status for status, _path, _body in client.error_pages} >= {
        400, 403, 404, 405, 429, 500, 503}
    _assert_nothing_leaked(logs, client, {
        "password": PASSWORD, "new password": NEW_PASSWORD, "wrong password": WRONG_PASSWORD,
        "phone": PHONE, "maker's phone": OTHER_PHONE, "e-mail": EMAIL, "reset token": token,
        "disability": DISABILITY, "street": STREET}, typed_back={"e-mail", "phone"})


def test_card_checkout_and_webhook_leave_no_address_secret_link_or_card_secret(
        stripe_webhooks, app, client, logs, db_session, localstripe):
    with db_session() as session:
        _product, variant = make_shop(session, stock=5, price=3000)["items"][0]
    assert client.post("/cart/add", data={"variant_id": variant.id, "quantity": 1}
                       ).status_code == 302
    steps = (("/checkout/contact", {"name": "王小明", "email": BUYER_EMAIL, "phone": PHONE}),
             ("/checkout/delivery", {"method": "delivery"}),
             ("/checkout/address", {"province": "浙江省", "city": "宁波市", "district": "海曙区",
                                    "street": STREET, "phone": PHONE}),
             ("/checkout/payment", {"method": "stripe"}))
    for path, data in steps:
        assert client.post(path, data=data).status_code == 302, path
    check = client.get("/checkout/check").get_data(as_text=True)
    fields = dict(re.findall(r'name="(idempotency_key|total_amount)"[^>]*value="([^"]*)"',
                             check))
    placed = client.post("/checkout/place", data=fields)
    assert placed.status_code == 302
    with db_session() as session:
        order = session.exec(select(Order)).one()
        token, order_id = order.public_token, order.id
    page = client.get(f"/orders/{token}/pay").get_data(as_text=True)
    client_secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    reference = client_secret.split("_secret_")[0]
    stripe_client = stripe.StripeClient("sk_test_gongfang",
                                        base_addresses={"api": localstripe.url})
    stripe_client.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    stripe_client.v1.payment_intents.confirm(reference)

    def paid():
        with db_session() as session:
            return session.get(Order, order_id).payment_status == PaymentStatus.PAID
    assert wait_for(paid)
    assert client.post(f"/orders/{token}/card-result").status_code == 302
    assert client.get(f"/orders/{token}").status_code == 200
    assert client.get(f"/orders/{token}/broken").status_code == 500
    # A forged webhook is refused and logged, without the signature or the secret.
    body, headers = signed_event({"id": "evt_forged", "type": "payment_intent.succeeded",
                                  "data": {"object": {"id": reference}}}, secret="whsec_wrong")
    assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 400
    _broken_pages(client)
    _assert_nothing_leaked(logs, client, {
        "order link": token, "client secret": client_secret, "street": STREET, "phone": PHONE,
        "other phone": OTHER_PHONE,
        "buyer e-mail": BUYER_EMAIL, "Stripe key": "sk_test_gongfang",
        "webhook secret": WEBHOOK_SECRET, "forged signature": headers["Stripe-Signature"]},
        typed_back={"buyer e-mail"})


def test_downloads_bank_account_and_payout_leave_no_link_or_account_number(
        app, client, logs, db_session):
    app.config["INCOME_HOLD_DAYS"] = 0
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=10000, stock=5)
        shop["product"].is_digital = True
        session.add(shop["product"])
        order = paid_order(session, [(shop["variant"].id, 1)])
        grant = session.exec(select(DownloadGrant).join(
            OrderLine, OrderLine.id == DownloadGrant.order_line_id).where(
            OrderLine.order_id == order.id)).one()
        order_token = order.public_token
        product_id = shop["product"].id
    with app.test_request_context():
        download = download_url(grant)
    digital = Path(app.config["MEDIA_DIR"]) / "digital" / str(product_id)
    digital.mkdir(parents=True, exist_ok=True)
    (digital / "book.mp3").write_bytes(b"ID3 audiobook")
    assert client.get(f"/orders/{order_token}").status_code == 200
    assert client.get(download).status_code == 200
    assert client.get(download + "x").status_code == 404
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,), phone=OTHER_PHONE).email
        maker_id = shop["makers"][0].id
    login(client, operator)
    saved = client.post("/operator/bank-transfer", data={
        "account_name": "工坊直播", "bank_name": "宁波银行海曙支行",
        "account_number": BANK_ACCOUNT})
    assert saved.status_code == 302
    paid = client.post("/operator/payouts/pay", data={
        "pay-maker_id": maker_id, "pay-amount": "10", "pay-method": "bank",
        "pay-reference": f"to {PAYOUT_ACCOUNT}"})
    assert paid.status_code in (302, 303)
    bad = client.post("/operator/bank-transfer", data={
        "account_name": "工坊直播", "bank_name": "x", "account_number": BAD_ACCOUNT})
    assert bad.status_code == 400
    _broken_pages(client)
    _assert_nothing_leaked(logs, client, {
        "bank account": BANK_ACCOUNT, "payout account": PAYOUT_ACCOUNT, "phone": PHONE,
        "order link": order_token, "download link": download.rsplit("/", 1)[1],
        "operator's phone": OTHER_PHONE, "mistyped account": BAD_ACCOUNT},
        typed_back={"mistyped account"})


@pytest.fixture
def edge_config(app_config):
    # A live edge that is not running: the control room still shows the keys, and the
    # failed calls to the edge are logged.
    from tests.app_processes import free_port

    app_config["LIVE_EDGE_URL"] = f"http://127.0.0.1:{free_port()}"
    return app_config


def test_control_room_and_calendar_leave_no_stream_key_or_feed_token(
        edge_config, app, client, logs, db_session):
    with db_session() as session:
        room = make_live_room(session)
        keys = [key.key for key in edge.stream_keys(session=session, live=room["live"]).values()]
        presenter, interpreter = room["presenter"].email, room["interpreter"].email
        slug = room["live"].slug
    login(client, presenter)
    control = client.get(f"/live/{slug}/control").get_data(as_text=True)
    assert keys[0] in control
    renewed = client.post(f"/live/{slug}/control/stream-keys/presenter/renew")
    assert renewed.status_code < 400
    with db_session() as session:
        keys += [key.key for key in edge.stream_keys(session=session, live=room["live"]).values()]
    client.post(f"/live/{slug}/control/pin", data={"product_id": room["items"][0][0].id})
    client.post("/account/logout")
    login(client, interpreter)
    schedule = client.get("/host/schedule").get_data(as_text=True)
    feed = schedule.split("/calendar/host/")[1].split(".ics")[0]
    assert client.get(f"/calendar/host/{feed}.ics").status_code == 200
    assert client.get(f"/calendar/host/{feed}x.ics").status_code == 404
    # The edge's callback with a stream key and the wrong secret.
    assert client.post("/edge/rtmp/publish", data={"name": keys[0], "addr": "10.9.8.7"},
                       headers={"X-Edge-Secret": "wrong"}).status_code in (403, 404)
    edge_headers = {"X-Edge-Secret": edge_secret(app.config)}
    for key in (*keys, "Leakcheck-unknown-stream-key-5Qe"):  # the old key is refused
        client.post("/edge/rtmp/publish", data={"name": key, "addr": "10.9.8.7"},
                    headers=edge_headers)
        client.post("/edge/rtmp/publish-done", data={"name": key}, headers=edge_headers)
    keys.append("Leakcheck-unknown-stream-key-5Qe")
    _broken_pages(client)
    _assert_nothing_leaked(logs, client, {
        "feed token": feed, "edge secret": edge_secret(app.config),
        **{f"stream key {n}": key for n, key in enumerate(set(keys))}})


def test_flask_debug_is_off_in_production_whatever_the_environment_says(
        monkeypatch, database_url):
    from app import create_app

    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("GONGFANG_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    production = create_app({"DATABASE_URL": database_url})
    assert production.debug is False
    production.extensions["database"].engine.dispose()
    monkeypatch.setenv("GONGFANG_ENV", "development")
    laptop = create_app({"DATABASE_URL": database_url})
    assert laptop.debug is True  # flask run --debug on a laptop still works
    laptop.extensions["database"].engine.dispose()
