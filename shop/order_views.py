"""Order pages: a guest's secret link, card payment, history, makers' lines, downloads."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import stripe
from flask import current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from accounts.access import roles_required
from accounts.models import Role
from core.db import get_session, utcnow, writes_on_get
from core.errors import Conflict, NotFound
from shop import bank_transfer, queries
from shop.models import (
    DownloadGrant,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProviderName,
)
from shop.payments import DOWNLOAD_DAYS
from shop.providers import StripeProvider, card_payment_intent, stripe_enabled
from shop.stripe_events import reconcile
from shop.views import bp

_DOWNLOAD_SALT = "download-grant"


def _order_or_404(token: str) -> Order:
    order = queries.order_by_token(get_session(), token)
    if order is None:
        raise NotFound(_("We could not find that order. Check the link in your email."))
    return order


def download_url(grant: DownloadGrant) -> str:
    """A signed link to a grant's file; it expires with the grant."""
    token = URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                   salt=_DOWNLOAD_SALT).dumps(grant.id)
    return url_for("shop.download", token=token)


@bp.route("/orders/<token>")
def order_page(token: str):
    """An order, followed by its secret link (no sign-in needed)."""
    order = _order_or_404(token)
    detail = queries.order_detail(get_session(), order)
    payable = (order.payment_provider == ProviderName.STRIPE and stripe_enabled()
               and order.status == OrderStatus.OPEN
               and order.payment_status == PaymentStatus.PENDING)
    waiting_offline = (order.payment_provider == ProviderName.OFFLINE
                       and order.status == OrderStatus.OPEN
                       and order.payment_status == PaymentStatus.PENDING)
    return render_template("shop/order.html", order=order, placed=bool(request.args.get("placed")),
                           payable=payable, download_url=download_url,
                           bank=bank_transfer.account(get_session()) if waiting_offline else None,
                           **detail)


def _stripe_payment(order: Order) -> Payment:
    payment = get_session().exec(sa.select(Payment).where(
        Payment.order_id == order.id, Payment.provider == ProviderName.STRIPE)
        .order_by(Payment.id.desc())).scalars().first()
    if payment is None or not stripe_enabled():
        raise NotFound(_("This order is not paid by card."))
    return payment


@bp.route("/orders/<token>/pay")
def order_pay(token: str):
    """Pay by card with Stripe.js's Card Element and confirmCardPayment.

    The PaymentIntent is made here on the first visit, after the order was committed:
    if Stripe cannot be reached the order stays, with its stock held, and this page
    says to try again."""
    order = _order_or_404(token)
    payment = _stripe_payment(order)
    if order.payment_status != PaymentStatus.PENDING or order.status != OrderStatus.OPEN:
        return render_template("shop/order_pay_closed.html", order=order)
    provider = StripeProvider(current_app.config)
    intent = card_payment_intent(provider=provider, payment_id=payment.id)
    return render_template("shop/order_pay.html", order=order, client_secret=intent.client_secret,
                           publishable_key=provider.publishable_key, stripe_js_url=provider.js_url,
                           failure=payment.failure_message)


@bp.route("/orders/<token>/card-result", methods=["POST"])
def order_card_result(token: str):
    """After the browser confirmed: ask Stripe ourselves, never trust the browser."""
    order = _order_or_404(token)
    payment = _stripe_payment(order)
    provider = StripeProvider(current_app.config)
    if not payment.provider_reference:
        raise Conflict(_("We could not check your payment yet. Your order page will show "
                         "it once the bank confirms."))
    try:
        intent = provider.retrieve(payment.provider_reference)
    except stripe.StripeError as exc:
        raise Conflict(_("We could not check your payment yet. Your order page will show "
                         "it once the bank confirms.")) from exc
    reconcile(session=get_session(), payment=payment, intent=intent)
    from flask import redirect

    return redirect(url_for("shop.order_page", token=order.public_token))


@bp.route("/my/orders")
@login_required
def my_orders():
    """The signed-in shopper's orders."""
    orders = queries.orders_of_user(get_session(), current_user.id)
    return render_template("shop/my_orders.html", orders=orders)


@bp.route("/my/order-lines")
@roles_required(Role.MAKER)
def my_order_lines():
    """Paid lines a maker or their workshop must make or ship."""
    rows = queries.lines_for_maker(get_session(), current_user.id)
    return render_template("shop/my_order_lines.html", rows=rows)


@bp.route("/downloads/<token>")
@writes_on_get  # counts the download
def download(token: str):
    """A paid audiobook's file, while the link is fresh and has downloads left."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DOWNLOAD_SALT)
    try:
        grant_id = serializer.loads(token, max_age=DOWNLOAD_DAYS * 86400)
    except (BadSignature, SignatureExpired):
        raise NotFound(_("This download link is not valid or has expired.")) from None
    session = get_session()
    grant = session.get(DownloadGrant, grant_id) if isinstance(grant_id, int) else None
    line = session.get(OrderLine, grant.order_line_id) if grant else None
    order = session.get(Order, line.order_id) if line else None
    if (grant is None or grant.revoked or grant.expires_at < utcnow() or order is None
            or order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTLY_REFUNDED)):
        raise NotFound(_("This download link is not valid or has expired."))
    folder = Path(current_app.config["MEDIA_DIR"]) / "digital" / str(line.product_id)
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise NotFound(_("The file is not ready yet. Please try again later."))
    counted = session.execute(sa.update(DownloadGrant).where(
        DownloadGrant.id == grant.id, DownloadGrant.download_count < DownloadGrant.max_downloads,
    ).values(download_count=DownloadGrant.download_count + 1)).rowcount
    if counted != 1:
        raise Conflict(_("This link has been used the most times it can be. Ask us for a new "
                         "one."))
    return send_file(files[0], as_attachment=True, download_name=files[0].name)


