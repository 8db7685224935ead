"""What the shop journeys read behind the page: stock in the database, the order, the mail.

The journeys assert what a person sees; these let them also check that the database and
the confirmation mail agree with it.
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

from sqlmodel import select

ORDER_LINK = re.compile(r"https?://\S+/orders/[A-Za-z0-9_-]+")


def variant_stock(app, sku: str) -> int:
    """How many of a variant the database says are left."""
    from catalog.models import ProductVariant
    from core.db import db

    with app.app_context(), db.transaction(write=False) as session:
        return session.exec(select(ProductVariant.stock).where(ProductVariant.sku == sku)).one()


def order_of(app, email_address: str):
    """The one order placed with this email address (a detached copy of the row)."""
    from core.db import db
    from shop.models import Order

    with app.app_context(), db.transaction(write=False) as session:
        order = session.exec(select(Order).where(Order.email == email_address)).one()
        session.expunge(order)
        return order


def mail_to(app, address: str) -> list[email.message.EmailMessage]:
    """Send the outbox as the scheduler would, then read the mail files written for `address`.

    Without SMTP settings the shop writes each message as an .eml file under MAIL_DIR.
    """
    from core.scheduler import run_job

    run_job(app, "send_outbox")
    found = []
    for path in sorted(Path(app.config["MAIL_DIR"]).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def order_link_in(message) -> str:
    """The order's secret link as the confirmation mail gives it."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    links = ORDER_LINK.findall(body)
    assert len(links) == 1, f"expected one order link in the mail, found {links}:\n{body}"
    return links[0]

