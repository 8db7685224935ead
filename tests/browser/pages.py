"""Every page the accessibility gate visits, by endpoint, and the routes that are not pages.

When a package adds a GET route, add it to PAGES (how to reach it, as whom, and which
states to check: a failed submit, an opened menu or dialog) or, if it is no page, to
NOT_PAGES with the reason. tests/browser/test_gate_coverage.py fails until you do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

# --- States to check besides the page as loaded --------------------------------------


def submit_with_text_cleared(page: Page) -> None:
    """Empty every text box of the main form and send it: the GOV.UK error state."""
    form = page.locator("main form[method=post]").last
    fields = form.locator("input[type=text], input[type=email], input[type=tel], "
                          "input[type=password], input:not([type]), textarea")
    for index in range(fields.count()):
        fields.nth(index).fill("")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()


def submit_forgot_password(page: Page) -> None:
    """Ask for a reset link: the 'check your email' page."""
    page.locator("#email").fill("shopper@demo.gongfang.cn")
    # Wait for the new page itself: "no form" alone is also true of the blank document
    # between the two pages, and axe injected then finds no <head> to load into.
    with page.expect_navigation(wait_until="load"):
        page.locator("main form[method=post] button[type=submit]").click()
    expect(page.locator("main h1")).to_have_text(re.compile("请查看你的邮箱|Check your email"))
    expect(page.locator("main form")).to_have_count(0)


@dataclass(frozen=True)
class State:
    """A state of the page reached by `act` from the page as loaded."""

    name: str
    act: Callable[[Page], None]


ERRORS = State("errors", submit_with_text_cleared)


def send_an_empty_question(page: Page) -> None:
    """The room's question box sent empty: its error, shown without leaving the room."""
    page.locator("[data-chat-form] button[type=submit]").click()
    expect(page.locator("[data-chat-error]")).to_be_visible()


def start_a_live_price_without_a_price(page: Page) -> None:
    """The control room's live-price form sent without a price: the GOV.UK error state."""
    page.locator(".price-form #price").fill("")
    with page.expect_navigation(wait_until="load"):
        page.locator(".price-form button[type=submit]").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()


def move_the_captions_up(page: Page) -> None:
    """Captions over the top of the picture, the signer's picture and captions both on."""
    page.locator("[data-move-captions]").click()
    expect(page.locator("[data-caption-overlay]")).to_have_class(re.compile("caption-top"))
    expect(page.locator("[data-signer]")).to_be_visible()


QUESTION_ERROR = State("question-error", send_an_empty_question)
PRICE_ERROR = State("price-error", start_a_live_price_without_a_price)
CAPTIONS_MOVED = State("captions-top", move_the_captions_up)


@dataclass(frozen=True)
class Visit:
    """One URL to check: `path` may name demo samples ({user_id}, {workshop_id}...)."""

    name: str
    path: str
    # A key of ROLE_ACCOUNTS (signed in), "cart-guest" (signed out, one product in the
    # cart), "checkout-guest" (cart-guest with contact, pick-up and offline payment
    # chosen) or None (signed out, empty cart).
    role: str | None = None
    status: int = 200
    states: tuple[State, ...] = ()

    def url(self, samples: dict) -> str:
        return self.path.format(**samples)


# Endpoint -> the visits that show each of its pages.
PAGES: dict[str, tuple[Visit, ...]] = {
    "catalog.home": (
        Visit("home", "/"),
        Visit("home-signed-in-operator", "/", role="operator"),
    ),
    "site.help_page": (Visit("help", "/help"),),
    "site.time_zone": (
        Visit("time-zone", "/time-zone?next=/live"),
        Visit("time-zone-unknown", "/time-zone?zone=Mars%2FBase&next=/live", status=400),
    ),
    "accounts.register": (Visit("register", "/account/register", states=(ERRORS,)),),
    "accounts.login": (Visit("login", "/account/login", states=(ERRORS,)),),
    "accounts.forgot_password": (
        Visit("forgot-password", "/account/password/forgot",
              states=(ERRORS, State("sent", submit_forgot_password))),
    ),
    "accounts.reset_password": (
        Visit("reset-password", "/account/password/reset/{reset_token}", states=(ERRORS,)),
        Visit("reset-link-invalid", "/account/password/reset/not-a-token", status=400),
    ),
    "accounts.account": (Visit("my-account", "/account/", role="shopper", states=(ERRORS,)),),
    "accounts.maker_profile": (
        Visit("maker-profile", "/account/maker-profile", role="maker", states=(ERRORS,)),
    ),
    "accounts.host_profile": (
        Visit("host-profile", "/account/host-profile", role="host", states=(ERRORS,)),
    ),
    "privacy.personal_data": (Visit("personal-data", "/account/personal-data", role="maker"),),
    # The demo shopper's orders may still be under way: the page then says what must
    # happen first, and has no form to fail.
    "privacy.erase_me": (Visit("erase-me", "/account/erase", role="shopper"),),
    "privacy.erased": (Visit("erased", "/account/erased"),),
    "privacy.operator_erase": (
        Visit("operator-erase", "/operator/users/{user_id}/erase", role="operator"),
    ),
    "operator_accounts.dashboard": (Visit("operator", "/operator/", role="operator"),),
    "operator_accounts.audit.entries": (
        Visit("operator-audit", "/operator/audit", role="operator"),
        Visit("operator-audit-bad-date", "/operator/audit?date_from=2026-13-01",
              role="operator", status=400),
    ),
    "operator_accounts.users": (
        Visit("operator-users", "/operator/users", role="operator"),
        Visit("operator-users-search", "/operator/users?q=%E7%8E%8B", role="operator"),
    ),
    # No failed-submit state: its form has no text box, so any submit saves.
    "operator_accounts.user_detail": (
        Visit("operator-user", "/operator/users/{user_id}", role="operator"),
    ),
    "operator_accounts.workshops": (
        Visit("operator-workshops", "/operator/workshops", role="operator"),
    ),
    "operator_accounts.workshop_new": (
        Visit("operator-workshop-new", "/operator/workshops/new", role="operator",
              states=(ERRORS,)),
    ),
    "operator_accounts.workshop_detail": (
        Visit("operator-workshop", "/operator/workshops/{workshop_id}", role="operator",
              states=(ERRORS,)),
    ),
    # Catalogue ------------------------------------------------------------------------
    "catalog.catalogue": (
        Visit("catalogue", "/products"),
        Visit("catalogue-search", "/products?q=%E7%9B%98%E6%89%A3"),
    ),
    "catalog.product": (
        Visit("product", "/products/pankou-plum-set"),
        # Made by one workshop, sold by the studio: "由…制作，…销售".
        Visit("product-sold-by-studio", "/products/fabric-tote"),
        # Made to order, none in stock: "做好后发货，约 7 天" and the ship date.
        Visit("product-made-to-order", "/products/pankou-straight"),
    ),
    "catalog.workshop": (Visit("workshop", "/workshops/hexin-pankou"),),
    "catalog.maker": (Visit("maker", "/makers/{user_id}"),),
    "catalog.my_products": (Visit("my-products", "/my/products", role="maker"),),
    "catalog.new_product": (
        Visit("new-product", "/my/products/new/{workshop_id}", role="maker",
              states=(ERRORS,)),
    ),
    "catalog.edit_product": (
        Visit("edit-product", "/my/products/{product_id}", role="maker"),
    ),
    "catalog.review_queue": (Visit("review-queue", "/operator/products", role="operator"),),
    "catalog.review_product": (
        Visit("review-product", "/operator/products/{product_id}", role="operator"),
    ),
    # Shop: cart and checkout ------------------------------------------------------------
    "shop.cart_page": (
        Visit("cart-empty", "/cart"),
        Visit("cart", "/cart", role="cart-guest"),
    ),
    # /checkout only redirects to /checkout/contact; visited so the redirect is checked.
    "shop.checkout_start": (Visit("checkout-start", "/checkout", role="cart-guest"),),
    "shop.checkout_contact": (
        Visit("checkout-contact", "/checkout/contact", role="cart-guest", states=(ERRORS,)),
    ),
    "shop.checkout_delivery": (
        Visit("checkout-delivery", "/checkout/delivery", role="cart-guest"),
    ),
    "shop.checkout_address": (
        Visit("checkout-address", "/checkout/address", role="cart-guest", states=(ERRORS,)),
    ),
    "shop.checkout_pickup": (
        Visit("checkout-pickup", "/checkout/pickup", role="cart-guest"),
    ),
    "shop.checkout_payment": (
        Visit("checkout-payment", "/checkout/payment", role="cart-guest"),
    ),
    "shop.checkout_check": (
        Visit("checkout-check", "/checkout/check", role="checkout-guest"),
    ),
    "shop.order_page": (Visit("order", "/orders/{order_token}"),),
    # The card payment page exists only for card orders with Stripe switched on; the gate
    # server has no Stripe and the demo orders are offline, so here only its 404 is
    # checked. test_journey_card.py puts the real page through the same gate (both
    # languages, every width) against localstripe.
    "shop.order_pay": (Visit("order-pay", "/orders/{order_token}/pay", status=404),),
    "shop.my_orders": (Visit("my-orders", "/my/orders", role="shopper"),),
    "shop.my_order_lines": (Visit("my-order-lines", "/my/order-lines", role="maker"),),
    "shop.operator_orders": (Visit("operator-orders", "/operator/orders", role="operator"),),
    "shop.operator_bank_transfer": (
        Visit("bank-transfer", "/operator/bank-transfer", role="operator", states=(ERRORS,)),
    ),
    "shop.operator_order": (
        # Its last form is the refund's (the demo orders are paid): its error state.
        Visit("operator-order", "/operator/orders/{order_number}", role="operator",
              states=(ERRORS,)),
    ),
    # Income -----------------------------------------------------------------------------
    "income.my_income": (Visit("my-income", "/income", role="maker"),),
    "income.maker_income": (
        Visit("maker-income", "/income/makers/{user_id}", role="maker"),
    ),
    "income.statement": (
        Visit("statement", "/income/makers/{user_id}/statement/{month}", role="maker"),
    ),
    "income.workshop_income": (
        Visit("workshop-income", "/income/workshops/{workshop_id}", role="maker"),
        # The studio's own income: what it earned selling other workshops' goods.
        Visit("studio-income", "/income/workshops/{studio_id}", role="operator"),
    ),
    "income.workshop_studio_sales": (
        Visit("workshop-studio-sales", "/income/workshops/{workshop_id}/studio-sales",
              role="maker", states=(ERRORS,)),
    ),
    "income.operator_studios": (
        Visit("operator-studios", "/operator/studios", role="operator", states=(ERRORS,)),
    ),
    # Task orders: the public request form (its error state), the coordinator's list and
    # the demo's order (the last form is "delivered and paid", refused while pieces are
    # missing: its error state), and a member's pieces form.
    "income.task_order_request": (
        Visit("task-order-request", "/workshops/hexin-pankou/task-order", states=(ERRORS,)),
    ),
    "income.task_order_sent": (
        Visit("task-order-sent", "/workshops/hexin-pankou/task-order/sent"),
    ),
    "income.workshop_task_orders": (
        Visit("task-orders", "/income/workshops/{workshop_id}/task-orders", role="maker"),
    ),
    "income.task_order_page": (
        Visit("task-order", "/income/workshops/{workshop_id}/task-orders/{task_order_id}",
              role="maker", states=(ERRORS,)),
    ),
    "income.task_order_pieces": (
        Visit("task-order-pieces",
              "/income/makers/{user_id}/task-orders/{task_order_id}/pieces", role="maker",
              states=(ERRORS,)),
    ),
    "income.my_stalls": (Visit("my-stalls", "/stall", role="stall"),),
    # Today at the demo's cart is open: the empty close-of-day form is the error state.
    "income.till": (Visit("till", "/stall/{point_id}", role="stall", states=(ERRORS,)),),
    "income.stall_day": (
        Visit("stall-day", "/stall/{point_id}/day?day={yesterday}", role="stall"),
    ),
    "income.stall_month": (Visit("stall-month", "/stall/{point_id}/month", role="stall"),),
    "income.operator_new_sales_point": (
        Visit("stall-new", "/operator/sales-points/new", role="operator", states=(ERRORS,)),
    ),
    "income.operator_edit_sales_point": (
        Visit("stall-edit", "/operator/sales-points/{point_id}", role="operator",
              states=(ERRORS,)),
    ),
    "income.impact_report": (Visit("impact", "/operator/impact", role="operator"),),
    "income.operator_payouts": (Visit("payouts", "/operator/payouts", role="operator"),),
    # The demo has no payout batch yet: only the not-found page is checked here.
    "income.operator_batch": (
        Visit("payout-batch-missing", "/operator/payout-batches/999999", role="operator",
              status=404),
    ),
    "income.operator_commission": (
        Visit("platform-fee", "/operator/platform-fee", role="operator"),
    ),
    "income.operator_sales_points": (
        Visit("sales-points", "/operator/sales-points", role="operator"),
    ),
    # Livestream -------------------------------------------------------------------------
    "livestream.schedule": (Visit("live-schedule", "/live"),),
    "livestream.session_page": (
        Visit("live-session", "/live/pankou-evening"),
        Visit("live-room", "/live/live-now", states=(CAPTIONS_MOVED,)),
        Visit("live-room-signed-in", "/live/live-now", role="shopper",
              states=(QUESTION_ERROR,)),
        Visit("live-replay", "/live/pankou-last-week"),
    ),
    "livestream.control_room": (
        Visit("live-control", "/live/live-now/control", role="host", states=(PRICE_ERROR,)),
    ),
    "livestream.stream_report": (
        Visit("live-report", "/live/pankou-last-week/report", role="host"),
    ),
    "livestream.host_schedule": (
        Visit("host-schedule", "/host/schedule", role="interpreter"),
    ),
    "livestream.notices": (Visit("notices", "/notices", role="interpreter"),),
    "livestream.operator.planning": (
        Visit("live-planning", "/operator/live/", role="operator"),
    ),
    "livestream.operator.new_session": (
        Visit("live-new", "/operator/live/new", role="operator", states=(ERRORS,)),
    ),
    "livestream.operator.detail": (
        Visit("live-detail", "/operator/live/{session_id}", role="operator"),
    ),
    "livestream.operator.edit_session": (
        Visit("live-edit", "/operator/live/{session_id}/edit", role="operator"),
    ),
}

# Pages that belong to no endpoint of their own: the error pages.
ERROR_PAGES: tuple[Visit, ...] = (
    Visit("error-404", "/no-such-page", status=404),
    Visit("error-403", "/operator/", role="shopper", status=403),
)

# GET routes that are not pages a person reads, and why.
NOT_PAGES: dict[str, str] = {
    "static": "CSS, JavaScript and images",
    "site.health": "/healthz: JSON for the load balancer",
    "site.readiness": "/readyz: JSON for the load balancer and the operator",
    "site.security_txt": "/.well-known/security.txt: plain text for security researchers",
    "site.metrics": "/metrics: Prometheus text for the operator's scraper",
    "site.switch_language": "/language/<code>: sets a cookie and redirects back",
    # Files
    "catalog.product_image_file": "/media/products/<name>: product pictures",
    "catalog.sample_file": "/media/samples/<name>: audio/video samples of a product",
    "shop.download": "/downloads/<token>: a bought digital file",
    "income.export_income": "a maker's income as .csv or .xlsx",
    "income.workshop_export": "a workshop's income as .csv",
    "income.impact_csv": "/operator/impact.csv: the impact report as .csv",
    "income.stall_day_csv": "/stall/<id>/day.csv: a stall's day sheet as .csv",
    "income.stall_month_csv": "/stall/<id>/month.csv: a stall's month as .csv",
    "operator_accounts.audit.entries_csv": "/operator/audit.csv: the audit trail as .csv",
    "income.operator_batch_csv": "a payout batch as .csv for the bank",
    "livestream.host_feed": "/calendar/host/<token>.ics: a host's calendar feed",
    "livestream.session_calendar": "/live/<slug>/calendar.ics: one session as .ics",
    "livestream.room_events": "/live/<slug>/events: the room's Server-Sent Events",
    "livestream.room_state": "/live/<slug>/state.json: the room now, for polling",
    "livestream.room_captions": "/live/<slug>/captions.vtt: the captions track",
    "livestream.control_figures": "/live/<slug>/control/figures.json: running figures",
    "livestream.stream_report_csv": "/live/<slug>/report.csv: the stream report as .csv",
    "livestream.recording_file": "/media/recordings/<name>: a replay's video file",
    "livestream.edge_authorize_events": "/edge/events/authorize: the live edge asks it "
                                        "whether a viewer may subscribe (an empty answer)",
    # JSON APIs and their OpenAPI documents
    "catalog.api.products": "JSON API",
    "catalog.api.product_detail": "JSON API",
    "catalog.api.workshops": "JSON API",
    "catalog.api.workshop_detail": "JSON API",
    "catalog.api.maker_detail": "JSON API",
    "site.openapi.document": "/api/openapi.json: the OpenAPI document",
    "site.openapi.old_document_0": "the OpenAPI document's old address: a redirect",
    "site.openapi.old_document_1": "the OpenAPI document's old address: a redirect",
    "site.openapi.old_document_2": "the OpenAPI document's old address: a redirect",
    "income.api_maker": "JSON API",
    "income.api_workshop": "JSON API",
    "livestream.api.list_sessions": "JSON API",
    "livestream.api.get_session_detail": "JSON API",
    "livestream.api.list_slots": "JSON API",
    "livestream.api.my_open_slots": "JSON API",
}


def all_visits() -> list[tuple[str, Visit]]:
    """(endpoint, visit) for every page the gate checks, error pages last."""
    visits = [(endpoint, visit) for endpoint, group in PAGES.items() for visit in group]
    return visits + [("errors", visit) for visit in ERROR_PAGES]


def unvisited_endpoints(app) -> list[str]:
    """GET routes of `app` that the gate neither visits nor lists as not a page."""
    missing = set()
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint not in PAGES \
                and rule.endpoint not in NOT_PAGES:
            missing.add(f"{rule.endpoint} ({rule.rule})")
    return sorted(missing)


def stale_endpoints(app) -> list[str]:
    """Endpoints named here that the app no longer has."""
    known = {rule.endpoint for rule in app.url_map.iter_rules()}
    return sorted((set(PAGES) | set(NOT_PAGES)) - known)
