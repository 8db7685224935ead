"""Abuse limits beyond sign-in: orders, live-room messages and questions, the JSON API,
the Stripe webhook and downloads. Over a limit the answer is 429 with Retry-After, says in
the reader's language when to try again, and writes nothing.

Each test sets its own tiny figures (the real ones are in core/rate_limits.py). Counts
are shared through Redis by two apps on one prefix, and kept per app when Redis is
down. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from sqlmodel import func, select

from accounts.models import Role
from livestream.room_models import LiveMessage
from shop.models import Order, PaymentEvent, PaymentStatus, ProviderName
from tests.conftest import WEBHOOK_SECRET
from tests.factories import login, make_user
from tests.livestream.room_helpers import make_live_room
from tests.shop.helpers import (
    card_reference,
    checkout_until_check,
    make_shop,
    place,
    reload,
    signed_event,
    stock_of,
)

WAIT_ZH = re.compile(r"尝试次数太多。请在 (\d+) 分钟后再试。")
WAIT_EN = re.compile(r"Too many tries\. Please try again in (\d+) minutes?\.")
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}  # a visitor on another address


def _set(app, **figures) -> None:
    """Tiny figures for this test; the counters read them when first used."""
    assert "rate_limits" not in app.extensions
    app.config.update(figures)


def _count(db_session, model) -> int:
    with db_session(write=False) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _waits(response, pattern=WAIT_ZH) -> int:
    """The minutes the refusal asks for; also checks status and Retry-After."""
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    found = pattern.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    assert 1 <= seconds <= int(found.group(1)) * 60
    return int(found.group(1))


@pytest.fixture
def variant_id(db_session):
    with db_session() as session:
        return make_shop(session, stock=20)["items"][0][1].id


def _place(client, variant_id, **environ):
    fields = checkout_until_check(client, variant_id, quantity=1)
    return client.post("/checkout/place", data=fields, environ_base=environ)


# --- checkout ---------------------------------------------------------------------------

def test_one_buyer_placing_too_many_orders_waits_and_holds_no_more_stock(
        client, db_session, variant_id):
    _set(client.application, RATE_LIMIT_CHECKOUT_BUYER="2 per hour")
    for _ in range(2):
        assert _place(client, variant_id).status_code == 302
    refused = _place(client, variant_id)
    assert _waits(refused) == 60
    page = refused.get_data(as_text=True)
    assert 'class="error-summary"' in page and "<title>错误：" in page
    assert _count(db_session, Order) == 2
    with db_session(write=False) as session:
        assert stock_of(session, variant_id) == 18
    client.get("/language/en")
    assert _waits(client.post("/checkout/place", data=checkout_until_check(
        client, variant_id, quantity=1)), WAIT_EN) == 60
    # Another buyer on another address is not held up by this one.
    other = client.application.test_client()
    assert _place(other, variant_id, **ELSEWHERE).status_code == 302


def test_one_address_placing_for_many_browsers_waits(client, db_session,
                                                      variant_id):
    _set(client.application, RATE_LIMIT_CHECKOUT_ADDRESS="2 per hour")
    browsers = [client.application.test_client() for _ in range(3)]
    assert [_place(b, variant_id).status_code for b in browsers[:2]] == [302, 302]
    _waits(_place(browsers[2], variant_id))
    assert _count(db_session, Order) == 2


# --- live rooms --------------------------------------------------------------------------

@pytest.fixture
def rooms(db_session):
    with db_session() as session:
        first, second = make_live_room(session), make_live_room(session)
        return first["live"].slug, second["live"].slug, first["viewer"].email


def test_messages_are_limited_per_person_across_rooms(client, db_session, rooms):
    _set(client.application, RATE_LIMIT_LIVE_MESSAGES_USER="3 per hour")
    first, second, viewer = rooms
    login(client, viewer)
    for slug in (first, first, second):
        assert client.post(f"/live/{slug}/messages", data={"body": "好看"}).status_code == 303
    refused = client.post(f"/live/{second}/messages", data={"body": "再来"})
    assert _waits(refused) == 60
    as_json = client.post(f"/live/{first}/messages", data={"body": "再来"},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 429 and WAIT_ZH.search(as_json.get_json()["error"]["message"])
    assert _count(db_session, LiveMessage) == 3


def test_questions_have_a_limit_of_their_own(client, db_session, rooms):
    _set(client.application, RATE_LIMIT_LIVE_QUESTIONS_USER="1 per hour")
    first, _second, viewer = rooms
    login(client, viewer)
    ask = {"body": "有红色的吗？", "is_question": "y"}
    assert client.post(f"/live/{first}/messages", data=ask).status_code == 303
    _waits(client.post(f"/live/{first}/messages", data=ask))
    # A plain message still goes in: only questions have run out.
    assert client.post(f"/live/{first}/messages", data={"body": "好看"}).status_code == 303
    assert _count(db_session, LiveMessage) == 2


# --- the JSON API -------------------------------------------------------------------------

def test_the_api_answers_429_in_its_own_error_shape(client):
    _set(client.application, RATE_LIMIT_API_ADDRESS="3 per minute")
    for path in ("/api/v1/products", "/api/v1/workshops", "/api/v1/sessions"):
        assert client.get(path).status_code == 200
    refused = client.get("/api/v1/products")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == "too_many_requests"
    assert WAIT_ZH.fullmatch(body["error"]["message"])
    english = client.get("/api/v1/products", headers={"Accept-Language": "en"})
    assert english.status_code == 429
    assert client.get("/api/v1/products", environ_base=ELSEWHERE).status_code == 200


def test_an_api_write_over_the_limit_changes_nothing(client, db_session):
    from livestream.models import LiveSession

    _set(client.application, RATE_LIMIT_API_ADDRESS="1 per minute")
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
    login(client, operator.email)
    plan = {"title": "盘扣直播", "planned_start": "2030-01-01T10:00:00+08:00",
            "planned_end": "2030-01-01T11:00:00+08:00"}
    assert client.post("/api/v1/sessions", json=plan).status_code == 201
    assert client.post("/api/v1/sessions", json=plan).status_code == 429
    assert _count(db_session, LiveSession) == 1


# --- the Stripe webhook -----------------------------------------------------------------

def test_webhooks_from_one_address_over_the_limit_are_answered_429_and_kept_by_stripe(
        stripe_config, app, db_session, client):
    _set(app, RATE_LIMIT_WEBHOOK_ADDRESS="2 per minute")
    with app.test_request_context(), db_session() as session:
        variant = make_shop(session, stock=5, price=3000)["items"][0][1]
        order = place(session, [(variant.id, 2)], provider=ProviderName.STRIPE)
    reference = card_reference(app, order.id)
    for n in range(2):
        body, headers = signed_event({"id": f"evt_other_{n}", "type": "customer.created",
                                      "data": {"object": {"id": f"cus_{n}"}}},
                                     secret=WEBHOOK_SECRET)
        assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 200
    body, headers = signed_event({
        "id": "evt_paid", "type": "payment_intent.succeeded", "data": {"object": {
            "id": reference, "object": "payment_intent", "amount": 6000,
            "amount_received": 6000, "currency": "cny", "status": "succeeded"}}},
        secret=WEBHOOK_SECRET)
    refused = client.post("/stripe/webhook", data=body, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"] == "too many requests"
    with db_session(write=False) as session:
        assert reload(session, order.id).payment_status == PaymentStatus.PENDING
        assert {e.provider_event_id for e in session.exec(select(PaymentEvent))} == {
            "evt_other_0", "evt_other_1"}


def test_the_default_webhook_limit_is_far_above_a_burst():
    from core.rate_limits import RULES

    # Stripe's own bursts and this suite's webhook tests (a few dozen events per app)
    # stay far below it.
    assert RULES["stripe-webhooks-from-address"].amount >= 600


# --- downloads ---------------------------------------------------------------------------

def test_a_maker_fetching_too_many_documents_waits(client, db_session):
    _set(client.application, RATE_LIMIT_DOCUMENTS_USER="2 per hour")
    with db_session() as session:
        maker, other = make_shop(session)["makers"]
    login(client, maker.email)
    for _ in range(2):
        assert client.get(f"/income/makers/{maker.id}/income.csv").status_code == 200
    refused = client.get(f"/income/makers/{maker.id}/income.csv")
    assert _waits(refused) == 60 and "<h1>尝试次数太多</h1>" in refused.get_data(as_text=True)
    assert client.get(f"/income/makers/{maker.id}/statement/2026-01").status_code == 429
    # The count is the person's: another maker on the same address is not held up.
    second = client.application.test_client()
    login(second, other.email)
    assert second.get(f"/income/makers/{other.id}/income.csv").status_code == 200


def test_every_limited_download_is_a_route_of_the_shop(app):
    from core.rate_limits import DOWNLOADS

    # A renamed view would otherwise lose its limit without a word.
    assert set(DOWNLOADS) <= {rule.endpoint for rule in app.url_map.iter_rules()}


@pytest.mark.parametrize(("setting", "path"), [
    ("RATE_LIMIT_DOWNLOADS_ADDRESS", "/downloads/not-a-real-token"),
    ("RATE_LIMIT_MEDIA_ADDRESS", "/media/recordings/not-there.mp4"),
    ("RATE_LIMIT_MEDIA_ADDRESS", "/media/samples/not-there.mp3"),
])
def test_links_to_files_are_limited_per_address_even_when_wrong(client,
                                                                  setting, path):
    _set(client.application, **{setting: "2 per hour"})
    assert [client.get(path).status_code for _ in range(2)] == [404, 404]
    _waits(client.get(path))
    assert client.get(path, environ_base=ELSEWHERE).status_code == 404


# --- shared through Redis, per process without it ------------------------------------------

@pytest.fixture
def two_workers(app_config, redis_url):
    """Two apps, as two workers or hosts, counting in one Redis under one prefix."""
    from app import create_app

    prefix = f"test-abuse-{secrets.token_hex(6)}"
    app_config.update(REDIS_URL=redis_url, RATE_LIMIT_PREFIX=prefix,
                      RATE_LIMIT_API_ADDRESS="3 per minute")
    apps = [create_app(app_config) for _ in range(2)]
    yield apps
    import redis

    connection = redis.Redis.from_url(redis_url)
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    for application in apps:
        application.extensions["events"].close()
        application.extensions["database"].engine.dispose()


def test_two_workers_share_one_count_through_redis(two_workers, db_session):
    first, second = two_workers
    for worker in (first, second, first):
        assert worker.test_client().get("/api/v1/products").status_code == 200
    for worker in (second, first):
        assert worker.test_client().get("/api/v1/products").status_code == 429


def test_without_redis_each_process_keeps_its_own_count(app_config, db_session, caplog):
    from app import create_app

    app_config.update(REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens there
                      RATE_LIMIT_API_ADDRESS="2 per minute")
    apps = [create_app(app_config) for _ in range(2)]
    try:
        first, second = (a.test_client() for a in apps)
        assert [first.get("/api/v1/products").status_code for _ in range(3)] == [200, 200, 429]
        assert second.get("/api/v1/products").status_code == 200  # its own count
        said = [r.getMessage() for r in caplog.records if r.name == "core.rate_limits"]
        assert said and all("each process counts on its own" in s for s in said)
    finally:
        for application in apps:
            application.extensions["events"].close()
            application.extensions["database"].engine.dispose()


# --- settings ------------------------------------------------------------------------------

def test_every_figure_can_be_set_and_a_wrong_one_stops_the_app():
    from core.config import KNOWN_SETTINGS, ConfigError, load_config
    from core.rate_limits import RULES, SETTINGS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for rule, name in SETTINGS.items():
        assert rule in RULES and name in KNOWN_SETTINGS and f"`{name}`" in readme
        assert f"`{RULES[rule].amount}" in readme.split(f"`{name}`", 1)[1].splitlines()[0]
    assert load_config({"RATE_LIMIT_API_ADDRESS": "100/minute", "SECRET_KEY": "k" * 40})[
        "RATE_LIMIT_API_ADDRESS"] == "100/minute"
    with pytest.raises(ConfigError, match="RATE_LIMIT_API_ADDRESS"):
        load_config({"RATE_LIMIT_API_ADDRESS": "lots", "SECRET_KEY": "k" * 40})
