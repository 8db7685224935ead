"""The one OpenAPI document: it names every JSON operation of the app, and schemathesis
finds no server error and no answer that differs from it, on SQLite and PostgreSQL.

Schemathesis calls the app in-process through its WSGI support: for every operation,
valid and invalid requests (positive and negative generation), as nobody, an operator,
a host and a maker, and half of them aimed at objects that exist (seeded below), so
that the 200 answers are checked as well as the 4xx ones. Derandomized: CI runs the
same cases every time.
"""

from __future__ import annotations

import inspect
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import select

from accounts import services as account_services
from accounts.models import HostRole, Role
from catalog.models import ProductVariant
from core.db import utcnow
from core.openapi import DOCUMENT_PATH, OLD_ADDRESSES
from tests.factories import PASSWORD, login, make_product, make_user, make_workshop
from tests.livestream.factories import make_host

# 38 cases for each operation that takes parameters (a handful exhaust the few an
# operation without any has): over a thousand calls per database, checked below.
EXAMPLES_PER_OPERATION = 38
LEAST_CALLS = 1000
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
USER_AGENT = "gongfang-api-fuzz"


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def _answers_json(app, rule) -> bool:
    if rule.rule.startswith("/api/") or rule.rule.endswith(".json"):
        return True
    try:
        source = inspect.getsource(app.view_functions[rule.endpoint])
    except (OSError, TypeError):
        return False
    # The control room's actions answer its page's script through helpers (`_done`).
    return "jsonify(" in source or rule.rule.startswith("/live/<slug>/control/")


def _documented(client) -> dict:
    return client.get(DOCUMENT_PATH).get_json()


def test_the_document_names_every_json_operation_and_nothing_else(app, client):
    document = _documented(client)
    in_app = {(_openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if _answers_json(app, rule)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    in_document = {(path, method) for path, operations in document["paths"].items()
                   for method in operations}
    assert in_app - in_document == set(), "JSON routes missing from the OpenAPI document"
    assert in_document - in_app == set(), "documented operations the app does not have"
    for (path, method) in in_document:
        responses = document["paths"][path][method]["responses"]
        assert {"429", "500", "503"} <= set(responses), (method, path)


def test_the_old_addresses_send_to_the_one_document(client):
    for address in OLD_ADDRESSES:
        response = client.get(address)
        assert (response.status_code, response.headers["Location"]) == (308, DOCUMENT_PATH)
    document = client.get(OLD_ADDRESSES[0], follow_redirects=True).get_json()
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/products" in document["paths"] and "/api/v1/sessions" in document["paths"]


def test_a_method_a_path_does_not_take_answers_the_error_body(client):
    response = client.delete("/api/v1/products")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "405"


def _seed(db_session) -> dict:
    """Objects for the API to find: products, workshops, a public maker, sessions with
    slots (one live, one coming up), and the people who sign in."""
    from livestream import services as live_services
    from livestream.lifecycle import publish
    from livestream.models import LiveSession, LiveSessionSlot, SessionStatus

    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR, Role.HOST))
        maker = make_user(session, roles=(Role.MAKER,))
        coordinator = make_user(session, roles=(Role.MAKER,))
        host = make_host(session, capabilities=((HostRole.PRESENTER, None, 3),
                                                (HostRole.CAPTIONER, None, 3)))
        workshop = make_workshop(session, makers=[maker], coordinator=coordinator)
        account_services.save_maker_profile(session=session, user=maker, story="盘扣<b>",
                                            show_name_publicly=True, show_story_publicly=True)
        products = [make_product(session, workshop=workshop, makers=[maker], stock=50,
                                 title=f"盘扣 {n}") for n in range(3)]
        start = (utcnow() + timedelta(hours=30)).replace(microsecond=0)
        coming = live_services.plan_sessions(session=session, plan=live_services.SessionPlan(
            title="盘扣之夜", planned_start=start, planned_end=start + timedelta(minutes=90),
            presenter_id=host.id, workshop_id=workshop.id,
            product_ids=tuple(p.id for p in products)))[0]
        publish(session=session, live=coming)
        now = utcnow()
        live = LiveSession(slug="live-now", title="正在直播", workshop_id=workshop.id,
                           presenter_id=host.id, planned_start=now - timedelta(minutes=5),
                           planned_end=now + timedelta(minutes=55), status=SessionStatus.LIVE,
                           started_at=now - timedelta(minutes=5))
        session.add(live)
        session.flush()
        slot_ids = list(session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == coming.id)).all())
        room_things = _room_things(session, live, products[0], maker, operator)
        return {
            "emails": {"operator": operator.email, "maker": maker.email,
                       "coordinator": coordinator.email, "host": host.email},
            "slug": [p.slug for p in products] + [workshop.slug],
            "user_id": [maker.id, coordinator.id],
            "maker_id": [maker.id],
            "workshop_id": [workshop.id],
            "session_id": [coming.id, live.id],
            "slot_id": slot_ids or [1],
            "live_slug": [coming.slug, live.slug],
            **room_things,
            "role": ["presenter", "interpreter"],
        }


def _room_things(session, live, product, viewer, operator) -> dict:
    """A question, a running live price and a blocked word in the live room."""
    from livestream import chat, room
    from livestream.live_prices import start_live_price
    from livestream.models import LiveSessionProduct

    session.add(LiveSessionProduct(session_id=live.id, product_id=product.id, position=0))
    session.flush()
    variant = session.exec(select(ProductVariant.id).where(
        ProductVariant.product_id == product.id)).one()
    message = chat.post_message(session=session, live=live, user=viewer, body="多少钱?",
                                is_question=True)
    room.add_caption(session=session, live=live, text="欢迎", by_user_id=operator.id)
    price = start_live_price(session=session, live=live, variant_id=variant,
                             price_amount=3000, quantity_limit=20, per_buyer_limit=5,
                             seconds=1200, by_user_id=operator.id)
    word = chat.add_blocked_word(session=session, workshop_id=live.workshop_id,
                                 word="骗子", by_user_id=operator.id)
    return {"message_id": [message.id], "price_id": [price.id], "word_id": [word.id]}


def _cookies(app, emails) -> dict[str, str | None]:
    """Each person's session cookie, signed in through the real form."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = {"nobody": None}
    for who, email in emails.items():
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        assert login(client, email, PASSWORD).status_code in (302, 303)
        cookies[who] = client.get_cookie(name).value
    return cookies


def _real_parameters(operation, seeded) -> list[dict]:
    """Path parameters naming seeded objects, for the operation's own parameters."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return []
    key = {"slug": "live_slug" if "/live/" in operation.path else "slug"}
    values = [seeded[key.get(name, name)] for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in zip(*values, strict=False)]


def _good_plan() -> dict:
    """A plan an operator's POST /api/v1/sessions accepts, so its 201 is checked too."""
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    return {"title": "盘扣<b>之夜</b>", "description": "<script>alert(1)</script>",
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(minutes=45)).isoformat()}


def _strategy(operation, seeded):
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    parts = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if operation.label == "POST /api/v1/sessions":
        parts += [operation.as_strategy(body=_good_plan(), media_type="application/json")] * 2
    for fixed in _real_parameters(operation, seeded):
        parts += [operation.as_strategy(generation_mode=GenerationMode.POSITIVE,
                                        path_parameters=fixed)] * 2
    return st.one_of(parts)


@pytest.fixture
def app_config(app_config):
    """The fuzzing makes thousands of API calls from one address in a minute."""
    app_config["RATE_LIMIT_API_ADDRESS"] = "1000000 per minute"
    return app_config


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
        app, db_session, capsys):
    seeded = _seed(db_session)
    cookies = _cookies(app, seeded["emails"])
    schema = schemathesis.openapi.from_wsgi(DOCUMENT_PATH, app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    failures: list[str] = []
    calls = 0
    counts: list[str] = []
    answers: Counter[tuple[str, int]] = Counter()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                  deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=_strategy(operation, seeded), who=st.sampled_from(sorted(cookies)))
        def call(case, who):
            nonlocal calls
            calls += 1
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            signed_in = {cookie_name: cookies[who]} if cookies[who] else None
            # As the test client that signed in came (Flask-Login's strong session
            # protection ties a session to its address and browser).
            response = case.call_and_validate(headers=headers, cookies=signed_in,
                                              checks=CHECKS,
                                              environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
            answers[(case.operation.label, response.status_code)] += 1

        before, began = calls, time.monotonic()
        try:
            call()
        except Exception as failure:  # noqa: BLE001 - every operation's failure is listed
            failures.append(f"{operation.label}: {failure}"[:3000])
        statuses = ", ".join(f"{status}x{n}" for (label, status), n in sorted(answers.items())
                             if label == operation.label)
        counts.append(f"{operation.label}: {calls - before} calls in "
                      f"{time.monotonic() - began:.1f} s ({statuses})")
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nschemathesis: {calls} calls in {elapsed:.1f} s", *counts, sep="\n  ")
    assert failures == [], "\n\n".join(failures)
    assert calls >= LEAST_CALLS, f"only {calls} calls"


def test_every_whole_number_in_an_address_is_bounded_to_an_id(app, client):
    from core.url_ids import LARGEST_ID, DatabaseIdConverter

    bounded = [converter for rule in app.url_map.iter_rules()
               for converter in rule._converters.values() if type(converter).__name__
               in ("IntegerConverter", "DatabaseIdConverter")]
    assert bounded and all(isinstance(c, DatabaseIdConverter) for c in bounded)
    assert client.get(f"/api/v1/sessions/{LARGEST_ID + 1}").status_code == 404
    assert client.get(f"/api/income/makers/{10**30}").status_code == 404
