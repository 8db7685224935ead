"""Signed Stripe events that are not ours to apply: an unknown PaymentIntent, another
account's event, money that is not the order's. Each is answered 200 "ignored" (it will
never become valid, so Stripe must stop sending it), logged in one line with no secret
or personal data, and credits nothing: the order stays unpaid, its stock held, the
ledger empty. Signed as Stripe signs, and delivered by localstripe for real. Every test
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest
import stripe
from sqlmodel import func, select

from income.models import LedgerEntry
from shop.models import (
    HoldStatus,
    PaymentEvent,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
    StockHold,
)
from tests.conftest import WEBHOOK_SECRET, wait_for
from tests.shop.helpers import (
    CONTACT,
    card_reference,
    make_shop,
    payment_of,
    place,
    reload,
    signed_event,
    stock_of,
)

REFUSED_LINE = "refused Stripe event"


@pytest.fixture
def card_order(stripe_config, app, db_session):
    """A card order of 2 x ¥30 with its PaymentIntent at localstripe: (order, variant, pi)."""
    with app.test_request_context(), db_session() as session:
        variant = make_shop(session, stock=5, price=3000)["items"][0][1]
        order = place(session, [(variant.id, 2)], provider=ProviderName.STRIPE)
    return order.id, variant.id, card_reference(app, order.id)


def _event(event_id, reference, *, amount=6000, received=6000, currency="cny", **top):
    return {"id": event_id, "object": "event", "type": "payment_intent.succeeded",
            "created": int(time.time()), "livemode": False, **top,
            "data": {"object": {"id": reference, "object": "payment_intent",
                                "amount": amount, "amount_received": received,
                                "currency": currency, "status": "succeeded",
                                "receipt_email": CONTACT.email}}}


def _send(client, event):
    body, headers = signed_event(event, secret=WEBHOOK_SECRET)
    return client.post("/stripe/webhook", data=body, headers=headers)


def _shop_lines(caplog):
    return [r for r in caplog.records if r.name.startswith("shop.")]


def _assert_nothing_credited(db_session, order_id, variant_id):
    with db_session(write=False) as session:
        order = reload(session, order_id)
        assert (order.payment_status, order.paid_amount) == (PaymentStatus.PENDING, 0)
        assert payment_of(session, order_id).status == PaymentRecordStatus.PENDING
        holds = session.exec(select(StockHold).where(StockHold.order_id == order_id)).all()
        assert [(h.quantity, h.status) for h in holds] == [(2, HoldStatus.HELD)]
        assert stock_of(session, variant_id) == 3
        assert session.exec(select(func.count()).select_from(LedgerEntry)).one() == 0


def _assert_one_clean_line(caplog, reason):
    (line,) = _shop_lines(caplog)
    text = line.getMessage()
    assert line.levelname == "WARNING" and REFUSED_LINE in text and reason in text
    for secret in (WEBHOOK_SECRET, "sk_test_gongfang", CONTACT.email, CONTACT.phone,
                   CONTACT.name, "_secret_"):
        assert secret not in text


def test_an_unknown_payment_intent_is_ignored_and_not_kept(card_order, client, db_session,
                                                           caplog):
    order_id, variant_id, _reference = card_order
    caplog.clear()
    answer = _send(client, _event("evt_unknown", "pi_nobody_here_0001"))
    assert answer.status_code == 200
    assert answer.get_json() == {"received": True, "outcome": "ignored",
                                 "reason": "unknown payment intent"}
    _assert_one_clean_line(caplog, "unknown payment intent")
    _assert_nothing_credited(db_session, order_id, variant_id)
    with db_session(write=False) as session:
        assert session.exec(select(PaymentEvent)).all() == []  # somebody else's data


@pytest.mark.parametrize("top", [{"account": "acct_1OtherShop00000"}, {"livemode": True}],
                         ids=["connected-account", "live-mode"])
def test_another_accounts_event_for_our_intent_credits_nothing(card_order, client,
                                                               db_session, caplog, top):
    order_id, variant_id, reference = card_order
    caplog.clear()
    answer = _send(client, _event("evt_elsewhere", reference, **top))
    assert answer.status_code == 200
    assert answer.get_json()["reason"] == "for another Stripe account"
    _assert_one_clean_line(caplog, "for another Stripe account")
    _assert_nothing_credited(db_session, order_id, variant_id)
    with db_session(write=False) as session:
        assert session.exec(select(PaymentEvent)).all() == []


def test_the_configured_connect_account_is_ours(stripe_config, app, db_session):
    with app.test_request_context(), db_session() as session:
        variant = make_shop(session, stock=5, price=3000)["items"][0][1]
        order = place(session, [(variant.id, 2)], provider=ProviderName.STRIPE)
    app.config["STRIPE_ACCOUNT_ID"] = "acct_1GongfangShop00"  # read by every webhook
    reference = card_reference(app, order.id)
    client = app.test_client()
    other = _send(client, _event("evt_other", reference, account="acct_1OtherShop00000"))
    assert other.get_json()["outcome"] == "ignored"
    ours = _send(client, _event("evt_ours", reference, account="acct_1GongfangShop00"))
    assert ours.status_code == 200 and ours.get_json()["outcome"] == "paid"
    with db_session(write=False) as session:
        assert reload(session, order.id).payment_status == PaymentStatus.PAID


@pytest.mark.parametrize(("amount", "received", "currency"), [
    (6000, 5999, "cny"),   # less came than the order's total
    (6001, 6001, "cny"),   # the intent's own amount changed
    (6000, 6000, "usd"),   # the right number in another currency
    (1, None, "cny"),      # no amount received said: the intent's amount is not ours
], ids=["short", "changed", "currency", "no-received"])
def test_money_that_is_not_the_orders_credits_nothing(card_order, client, db_session, caplog,
                                                       amount, received, currency):
    order_id, variant_id, reference = card_order
    caplog.clear()
    answer = _send(client, _event("evt_odd", reference, amount=amount, received=received,
                                  currency=currency))
    assert answer.status_code == 200
    assert answer.get_json() == {"received": True, "outcome": "ignored",
                                 "reason": "amount or currency differs from the order"}
    _assert_one_clean_line(caplog, "amount or currency differs")
    _assert_nothing_credited(db_session, order_id, variant_id)
    with db_session(write=False) as session:
        # Our own payment's event is kept, with what was done about it.
        (kept,) = session.exec(select(PaymentEvent)).all()
        assert kept.outcome == "refused: amount or currency differs from the order"
    # The same event sent again is a duplicate; the right one still pays.
    assert _send(client, _event("evt_odd", reference, amount=amount, received=received,
                                currency=currency)).get_json()["outcome"] == "duplicate"
    assert _send(client, _event("evt_right", reference)).get_json()["outcome"] == "paid"


# --- delivered by localstripe --------------------------------------------------------------

def _localstripe(localstripe):
    return stripe.StripeClient("sk_test_gongfang", base_addresses={"api": localstripe.url})


def _refused_lines(caplog):
    return [r.getMessage() for r in _shop_lines(caplog) if REFUSED_LINE in r.getMessage()]


def test_localstripe_paying_an_intent_we_never_made_credits_nothing(
        stripe_webhooks, card_order, db_session, localstripe, caplog):
    order_id, variant_id, _reference = card_order
    stranger = _localstripe(localstripe).v1.payment_intents.create(params={
        "amount": 6000, "currency": "cny", "payment_method": "pm_card_visa"})
    assert _localstripe(localstripe).v1.payment_intents.confirm(stranger.id).status == \
        "succeeded"
    # localstripe is shared by the worker's tests, so an earlier test's event may
    # arrive here too: look only at the lines about this intent.
    lines = wait_for(lambda: [line for line in _refused_lines(caplog)
                              if "payment_intent.succeeded" in line and stranger.id in line])
    assert lines and "unknown payment intent" in lines[0]
    _assert_nothing_credited(db_session, order_id, variant_id)


def test_localstripe_paying_our_intent_a_different_amount_credits_nothing(
        stripe_webhooks, card_order, db_session, localstripe, caplog):
    order_id, variant_id, reference = card_order
    client = _localstripe(localstripe)
    client.v1.payment_intents.update(reference, params={"amount": 100,
                                                        "payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(reference).status == "succeeded"
    lines = wait_for(lambda: [line for line in _refused_lines(caplog)
                              if "payment_intent.succeeded" in line and reference in line])
    assert lines and "amount or currency differs" in lines[0]
    _assert_nothing_credited(db_session, order_id, variant_id)
