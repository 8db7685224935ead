"""A shopper pays by card in the browser, against localstripe, on SQLite and PostgreSQL.

The page loads localstripe's stand-in Stripe.js (its Card Element and confirmCardPayment;
tests/shop/localstripe_server.py says what is mended in it), localstripe delivers its
signed webhooks to the app served for real, and the order turns paid only from what the
server hears from Stripe. A declined card shows a clear message and the order stays
payable; the same order is then paid with a good card.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import fill_cart
from tests.browser.helpers import (
    LANGUAGES,
    WIDTHS,
    describe_violations,
    horizontal_scroll,
    lang_problems,
    run_axe,
    set_language,
)
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0341"  # Stripe's "attaches, but charging it fails"


def _events(app, order_number):
    from core.db import db
    from shop.models import Order, Payment, PaymentEvent

    with app.app_context(), db.transaction(write=False) as session:
        reference = session.exec(select(Payment.provider_reference)
                                 .join(Order, Order.id == Payment.order_id)
                                 .where(Order.number == order_number)).one()
        events = session.exec(select(PaymentEvent).where(
            PaymentEvent.object_reference == reference)).all()
        # The order last: a webhook commits its event and the order's new state together,
        # and on PostgreSQL each statement sees what was committed before it began. Read
        # first, the order could predate the events read after it.
        order = session.exec(select(Order).where(Order.number == order_number)).one()
        return order, [(e.event_type, e.outcome) for e in events]


def _wait_for_event(app, order_number, event_type):
    """The order and its payment events once Stripe's `event_type` has been stored."""
    def arrived():
        order, events = _events(app, order_number)
        return (order, events) if any(kind == event_type for kind, _ in events) else None

    found = wait_for(arrived)
    assert found, f"{event_type} never arrived for order {order_number}"
    return found


def _checkout_by_card(page):
    """Contact, pick-up at the metro cart, card: up to the check-your-answers page."""
    page.get_by_role("link", name=re.compile("去结账")).first.click()
    page.get_by_label("你的名字").fill("刷卡顾客")
    page.get_by_label("邮箱").fill("card.buyer@example.cn")
    page.get_by_role("button", name="继续").click()
    page.get_by_label("到销售点自提").check()
    page.get_by_role("button", name="继续").click()
    page.locator("input[name=point]").first.check()
    page.get_by_role("button", name="继续").click()
    page.get_by_label("银行卡付款").check()
    page.get_by_role("button", name="继续").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("核对"))


def _type_card(page, number):
    """Type into the Card Element's fields as a person would (localstripe's inputs)."""
    element = page.locator("#card-element")
    element.locator("input[placeholder=number]").fill("")
    element.locator("input[placeholder=number]").press_sequentially(number.replace(" ", ""))
    element.locator("input[placeholder=exp_month]").fill("12")
    element.locator("input[placeholder=exp_year]").fill("34")
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("315000")


def _gate_pay_page(page, axe_url) -> list[str]:
    """The accessibility gate for the pay page, which only exists with Stripe switched on
    (so the gate's own server, without Stripe, sees its 404): both languages, all widths,
    with localstripe's stand-in card field in it."""
    problems = []
    for locale, lang in LANGUAGES.items():
        set_language(page.context, page.url, locale)
        page.reload()
        problems += [f"{lang}: {p}" for p in lang_problems(page, lang)]
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            violations = run_axe(page, axe_url)
            if violations:
                problems.append(f"{lang} at {width}px:\n{describe_violations(violations)}")
            if width == 320 and (scroll := horizontal_scroll(page)):
                problems.append(f"{lang} at 320px: {scroll}")
    set_language(page.context, page.url, "zh_Hans_CN")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    return problems


def test_shopper_pays_by_card_after_a_declined_card(stripe_webhooks, app, new_page, shots,
                                                    axe_url):
    page = new_page(stripe_webhooks.url, width=1280)
    page.goto("/")
    fill_cart(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("你的购物车")
    _checkout_by_card(page)
    shots.take(page, "check-answers-card")
    page.get_by_role("button", name="提交订单").click()

    # The pay page: Stripe's card field, loaded from localstripe.
    expect(page.get_by_role("heading", level=1)).to_have_text("银行卡付款")
    expect(page.locator("#card-element input")).to_have_count(5)
    number = re.search(r"订单 ([A-Za-z0-9-]+)", page.locator("main p").first.inner_text()).group(1)
    assert _gate_pay_page(page, axe_url) == []
    expect(page.locator("#card-element input")).to_have_count(5)
    shots.take(page, "pay-page")

    # A declined card: a clear message in Chinese, the order still waits for payment.
    _type_card(page, DECLINED_CARD)
    page.get_by_role("button", name=re.compile("付款")).click()
    alert = page.locator("#card-errors")
    expect(alert).to_be_visible()
    expect(alert).to_have_text("你的卡没有通过。请再试一次，或换一张卡。")
    expect(alert).to_have_attribute("role", "alert")
    expect(page.get_by_role("button", name=re.compile("付款"))).to_be_enabled()
    shots.take(page, "declined")
    order, events = _wait_for_event(app, number, "payment_intent.payment_failed")
    assert order.payment_status.value == "pending" and order.status.value == "open"
    assert ("payment_intent.payment_failed", "failed") in events

    # The order page says so and still offers the card payment.
    page.goto(page.url.removesuffix("/pay"))
    expect(page.locator(".status-tags")).to_contain_text("等待付款")
    page.get_by_role("link", name="银行卡付款").click()
    expect(page.locator("[data-error-summary]")).to_contain_text("上次付款没有成功")

    # The good card: the order page shows it paid, from what Stripe told the server.
    _type_card(page, GOOD_CARD)
    page.get_by_role("button", name=re.compile("付款")).click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+$"))
    expect(page.locator(".status-tags")).to_contain_text("已付款")
    expect(page.get_by_role("link", name="银行卡付款")).to_have_count(0)
    shots.take(page, "paid")

    # Stripe's signed webhook arrived and was stored once; it did not pay a second time.
    order, events = _wait_for_event(app, number, "payment_intent.succeeded")
    assert order.payment_status.value == "paid"
    assert order.paid_amount == order.total_amount
    succeeded = [outcome for kind, outcome in events if kind == "payment_intent.succeeded"]
    assert len(succeeded) == 1 and succeeded[0] in ("paid", "already paid")
    page.reload()
    expect(page.locator(".status-tags")).to_contain_text("已付款")


def test_paid_by_the_webhook_while_the_shopper_waits(stripe_webhooks, app, new_page, shots):
    """The browser's post-back never arrives (the shopper closed the tab): the webhook
    alone turns the order page to paid."""
    page = new_page(stripe_webhooks.url, width=320)
    page.goto("/")
    fill_cart(page)
    _checkout_by_card(page)
    page.get_by_role("button", name="提交订单").click()
    expect(page.locator("#card-element input")).to_have_count(5)
    order_url = page.url.removesuffix("/pay")
    number = re.search(r"订单 ([A-Za-z0-9-]+)", page.locator("main p").first.inner_text()).group(1)
    # Stop the form's post-back to the server, as a closed tab would.
    page.route("**/card-result", lambda route: route.abort())
    _type_card(page, GOOD_CARD)
    page.get_by_role("button", name=re.compile("付款")).click()
    order, events = _wait_for_event(app, number, "payment_intent.succeeded")
    assert order.payment_status.value == "paid"
    assert ("payment_intent.succeeded", "paid") in events
    page.goto(order_url)
    expect(page.locator(".status-tags")).to_contain_text("已付款")
    shots.take(page, "paid-by-webhook")
