"""Cart and checkout pages: question pages, check your answers, place the order."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask import session as web_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.db import get_session, no_write_lock
from core.errors import DomainError
from core.forms import form_view
from core.i18n import current_locale_name
from core.navigation import SIGNED_IN, add_nav, add_operator_link
from core.rate_limits import TooManyRequests, client_address, refuse_if_over
from core.written import written_message
from livestream import attribution
from shop import bank_transfer, cart, orders
from shop.checkout import complete_checkout
from shop.forms import (
    AddressForm,
    ContactForm,
    DeliveryMethodForm,
    PaymentMethodForm,
    PickupForm,
    PlaceOrderForm,
)
from shop.models import DeliveryMethod, ProviderName
from shop.orders import MAX_LINE_QUANTITY, TotalChanged
from shop.pickup import pickup_label, pickup_point
from shop.providers import available_providers

bp = Blueprint("shop", __name__)
CHECKOUT_KEY = "checkout"


def register_navigation() -> None:
    """Add the cart, order and operator links."""
    add_nav("shop.cart_page", _l("Cart"), order=60)
    add_nav("shop.my_orders", _l("My orders"), audience=SIGNED_IN, order=75)
    add_nav("shop.my_order_lines", _l("Orders to make"), audience="maker", order=72)
    add_operator_link("shop.operator_orders", _l("Orders and refunds"), order=20)
    add_operator_link("shop.operator_bank_transfer", _l("Bank account for transfers"), order=25)


def _form_page(template: str, form, **context):
    status = 400 if form.errors else 200
    return render_template(template, form=form, **context), status


def _whole_number(raw, message) -> int:
    text = (raw or "").strip()
    if not text.isdecimal() or len(text) > 9:
        raise DomainError(message)
    return int(text)


# Cart ----------------------------------------------------------------------------------

@bp.route("/cart")
def cart_page():
    """What is in the cart, with today's prices."""
    lines = cart.lines()
    problems = [line for line in lines if not line.enough_stock]
    return render_template("shop/cart.html", lines=lines, total=cart.total(),
                           problems=problems,
                           max_quantity=MAX_LINE_QUANTITY)


@bp.route("/cart/add", methods=["POST"])
def cart_add():
    """Add a variant to the cart (from the product page or the live room)."""
    variant_id = _whole_number(request.form.get("variant_id"), _("Choose which one you want"))
    quantity = _whole_number(request.form.get("quantity", "1"),
                             _("Quantity must be a whole number between 1 and %(max)d",
                               max=MAX_LINE_QUANTITY))
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise DomainError(_("Quantity must be a whole number between 1 and %(max)d",
                            max=MAX_LINE_QUANTITY))
    raw_session = request.form.get("live_session_id")
    live_session_id = attribution.session_presenting(
        get_session(), variant_id=variant_id,
        session_id=int(raw_session) if raw_session and raw_session.isdecimal()
        and len(raw_session) < 10 else attribution.watched_session(request))
    line = cart.add(variant_id, quantity, live_session_id)
    flash(written_message(_("%(name)s is in your cart (%(quantity)d)."), name=line.name,
                          quantity=line.quantity), "success")
    if request.form.get("then") == "checkout":  # "Buy now" in the live room
        return redirect(url_for("shop.checkout_start"))
    return redirect(url_for("shop.cart_page"))


@bp.route("/cart/update", methods=["POST"])
def cart_update():
    """Change the quantity of one line (0 removes it)."""
    variant_id = _whole_number(request.form.get("variant_id"), _("That item is not in your cart."))
    quantity = _whole_number(request.form.get("quantity"),
                             _("Quantity must be a whole number between 0 and %(max)d",
                               max=MAX_LINE_QUANTITY))
    cart.set_quantity(variant_id, quantity)
    flash(_("Your cart is updated."), "success")
    return redirect(url_for("shop.cart_page"))


@bp.route("/cart/remove", methods=["POST"])
def cart_remove():
    """Take one line out of the cart."""
    variant_id = _whole_number(request.form.get("variant_id"), _("That item is not in your cart."))
    cart.set_quantity(variant_id, 0)
    flash(_("The item is removed from your cart."), "success")
    return redirect(url_for("shop.cart_page"))


# Checkout ------------------------------------------------------------------------------

def _state() -> dict:
    return dict(web_session.get(CHECKOUT_KEY) or {})


def _save(**values) -> None:
    state = _state()
    state.update(values)
    web_session[CHECKOUT_KEY] = state


def _only_digital(lines) -> bool:
    return bool(lines) and all(line.product and line.product.is_digital for line in lines)


def _no_delivery_step():
    """A cart of only digital goods has no delivery or pick-up step (it is downloaded):
    its steps are contact, then payment; this page sends back to contact."""
    if _only_digital(cart.lines()):
        _save(delivery={"method": DeliveryMethod.DIGITAL.value})
        return redirect(url_for("shop.checkout_contact"))
    return None


def _need_cart():
    if not cart.lines():
        flash(_("Your cart is empty."), "info")
        return redirect(url_for("shop.cart_page"))
    return None


@bp.route("/checkout")
def checkout_start():
    """Start checking out."""
    return redirect(url_for("shop.checkout_contact"))


@bp.route("/checkout/contact", methods=["GET", "POST"])
@form_view
@no_write_lock
def checkout_contact():
    """Who is buying."""
    if (back := _need_cart()) is not None:
        return back
    state = _state()
    form = ContactForm(data=state.get("contact") or (
        {"name": current_user.display_name, "email": current_user.email,
         "phone": current_user.phone} if current_user.is_authenticated else None))
    if form.validate_on_submit():
        _save(contact={"name": form.name.data.strip(), "email": form.email.data.strip(),
                       "phone": (form.phone.data or "").strip() or None})
        if _only_digital(cart.lines()):
            _save(delivery={"method": DeliveryMethod.DIGITAL.value})
            return redirect(url_for("shop.checkout_payment"))
        return redirect(url_for("shop.checkout_delivery"))
    return _form_page("shop/checkout_contact.html", form)


@bp.route("/checkout/delivery", methods=["GET", "POST"])
@form_view
@no_write_lock
def checkout_delivery():
    """Delivery to an address or pick-up at a sales point."""
    if (back := _need_cart()) is not None:
        return back
    if (back := _no_delivery_step()) is not None:
        return back
    current = (_state().get("delivery") or {}).get("method")
    form = DeliveryMethodForm(data={"method": current} if current else None)
    if form.validate_on_submit():
        if form.method.data == DeliveryMethod.PICKUP.value:
            return redirect(url_for("shop.checkout_pickup"))
        return redirect(url_for("shop.checkout_address"))
    return _form_page("shop/checkout_delivery.html", form)


@bp.route("/checkout/address", methods=["GET", "POST"])
@form_view
@no_write_lock
def checkout_address():
    """A Chinese address: province, city, district, street, phone."""
    if (back := _need_cart()) is not None:
        return back
    if (back := _no_delivery_step()) is not None:
        return back
    saved = _state().get("delivery") or {}
    form = AddressForm(data=saved if saved.get("method") == "delivery" else None)
    if form.validate_on_submit():
        _save(delivery={"method": DeliveryMethod.DELIVERY.value,
                        **{name: getattr(form, name).data.strip() for name in
                           ("province", "city", "district", "street", "phone")}})
        return redirect(url_for("shop.checkout_payment"))
    return _form_page("shop/checkout_address.html", form)


@bp.route("/checkout/pickup", methods=["GET", "POST"])
@form_view
@no_write_lock
def checkout_pickup():
    """Which sales point."""
    if (back := _need_cart()) is not None:
        return back
    if (back := _no_delivery_step()) is not None:
        return back
    saved = _state().get("delivery") or {}
    form = PickupForm(data={"point": saved.get("point")} if saved.get("point") else None)
    if form.validate_on_submit():
        _save(delivery={"method": DeliveryMethod.PICKUP.value, "point": form.point.data})
        return redirect(url_for("shop.checkout_payment"))
    return _form_page("shop/checkout_pickup.html", form)


@bp.route("/checkout/payment", methods=["GET", "POST"])
@form_view
@no_write_lock
def checkout_payment():
    """How to pay: offline always, card when Stripe is on."""
    if (back := _need_cart()) is not None:
        return back
    providers = available_providers()
    current = _state().get("payment")
    form = PaymentMethodForm(data={"method": current} if current else None,
                             providers=providers, offline_label=_offline_label())
    if len(providers) == 1 and request.method == "GET" and not current:
        form.method.data = providers[0].value
    if form.validate_on_submit():
        _save(payment=form.method.data)
        return redirect(url_for("shop.checkout_check"))
    return _form_page("shop/checkout_payment.html", form, back_url=_payment_back_url())


def _payment_back_url() -> str:
    """The step before payment: contact for a cart of downloads, else the pick-up or
    address step the shopper answered (the delivery question when neither yet)."""
    if _only_digital(cart.lines()):
        return url_for("shop.checkout_contact")
    method = (_state().get("delivery") or {}).get("method")
    if method == DeliveryMethod.PICKUP.value:
        return url_for("shop.checkout_pickup")
    if method == DeliveryMethod.DELIVERY.value:
        return url_for("shop.checkout_address")
    return url_for("shop.checkout_delivery")


def _offline_label() -> str:
    return bank_transfer.offline_label((_state().get("delivery") or {}).get("method"))


def _missing_step():
    state = _state()
    if not state.get("contact"):
        return url_for("shop.checkout_contact")
    method = (state.get("delivery") or {}).get("method")
    if _only_digital(cart.lines()):
        if method != DeliveryMethod.DIGITAL.value:  # the cart became digital only
            _save(delivery={"method": DeliveryMethod.DIGITAL.value})
    elif not method or method == DeliveryMethod.DIGITAL.value:
        # No answer yet, or one for a cart that was digital only before goods were added.
        return url_for("shop.checkout_delivery")
    elif method == DeliveryMethod.PICKUP.value and pickup_point(
            (state.get("delivery") or {}).get("point")) is None:
        return url_for("shop.checkout_pickup")  # the stall stopped being a pick-up point
    if state.get("payment") not in {p.value for p in available_providers()}:
        return url_for("shop.checkout_payment")
    return None


def _check_page(form, status=200, message=None):
    state = _state()
    point = (state.get("delivery") or {}).get("point")
    return render_template(
        "shop/checkout_check.html", form=form, lines=cart.lines(), total=cart.total(),
        state=state,
        pickup_name=pickup_label(point),
        payment_label=(_offline_label() if state["payment"] == ProviderName.OFFLINE.value
                       else ProviderName(state["payment"]).label), message=message,
        has_errors=bool(message)), status


@bp.route("/checkout/check")
def checkout_check():
    """Check your answers before placing the order."""
    if (back := _need_cart()) is not None:
        return back
    if (missing := _missing_step()) is not None:
        return redirect(missing)
    form = PlaceOrderForm()
    form.idempotency_key.data = secrets.token_urlsafe(24)
    form.total_amount.data = str(cart.total())
    return _check_page(form)


@bp.route("/checkout/place", methods=["POST"])
@form_view
def checkout_place():
    """Place the order: hold the stock, record the payment; one key, one order."""
    form = PlaceOrderForm()
    session = get_session()
    valid = form.validate_on_submit()
    if not cart.count():
        # A second click after the first placed the order (and emptied the cart).
        if valid and (done := orders.order_with_key(session, form.idempotency_key.data)):
            return _after_placing(done)
        flash(_("Your cart is empty."), "info")
        return redirect(url_for("shop.cart_page"))
    if (missing := _missing_step()) is not None:
        return redirect(missing)
    if form.errors:
        return _check_page(form, 400)
    try:
        refuse_if_over({"orders-from-buyer": _buyer(), "orders-from-address": client_address()})
    except TooManyRequests as limited:
        page = make_response(_check_page(form, 429, limited.message))
        page.headers["Retry-After"] = str(limited.retry_after)
        return page
    shown_total = (form.total_amount.data or "").strip()
    try:
        order, created = complete_checkout(
            session=session, lines=cart.wanted_lines(), state=_state(),
            idempotency_key=form.idempotency_key.data,
            expected_total=int(shown_total) if shown_total.isdecimal() and len(shown_total) < 16
            else -1,
            user_id=current_user.id if current_user.is_authenticated else None,
            locale=current_locale_name())
    except TotalChanged as changed:
        session.rollback()
        form.idempotency_key.data = secrets.token_urlsafe(24)
        form.total_amount.data = str(cart.total())
        return _check_page(form, 400, str(changed))
    if created:
        cart.clear_saved()
        cart.forget()
        web_session.pop(CHECKOUT_KEY, None)
    return _after_placing(order)


def _buyer() -> str:
    """Who is placing orders: the account, or this browser's own mark for a guest."""
    if current_user.is_authenticated:
        return f"user-{current_user.id}"
    return "guest-" + web_session.setdefault("buyer", secrets.token_urlsafe(12))


def _after_placing(order):
    web_session.setdefault("my_orders", [])
    if order.public_token not in web_session["my_orders"]:
        web_session["my_orders"] = (web_session["my_orders"] + [order.public_token])[-20:]
    if order.payment_provider == ProviderName.STRIPE:
        return redirect(url_for("shop.order_pay", token=order.public_token))
    return redirect(url_for("shop.order_page", token=order.public_token, placed=1))


from shop import (  # noqa: E402, F401  (they add routes to bp)
    bank_transfer_views,
    operator_views,
    order_views,
    webhook_views,
)


@bp.app_template_global("shop_status_label")
def shop_status_label(value: str) -> str:
    """A stored status value shown in the reader's language."""
    from shop.models import STATUS_LABELS

    for member, label in STATUS_LABELS.items():
        if member.value == value:
            return str(label)
    return value
