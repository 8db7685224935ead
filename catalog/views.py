"""Storefront pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalog import queries
from core.db import get_session

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    """The storefront: streams live and coming up, workshops, new goods."""
    session = get_session()
    return render_template(
        "catalog/home.html",
        sessions=queries.upcoming_sessions(session=session),
        workshops=queries.featured_workshops(session=session),
        products=queries.new_products(session=session),
    )


def register_navigation() -> None:
    """Storefront links in the main navigation."""
    from flask_babel import lazy_gettext as _l

    from core.navigation import add_nav

    add_nav("catalog.home", _l("Home"), order=10)
