"""Where a shopper can pick up: the stalls ("little yellow carts") and the studio that
operators mark as pick-up points (income.models.SalesPoint; one list for both).

An order keeps the stall's code (`SalesPoint.slug`) and its name as it was when the
order was placed, so an order stays readable after a stall is renamed or closed.
"""

from __future__ import annotations

from core.db import get_session
from core.written import as_written
from income.models import SalesPoint
from income.sales_points import opening_hours, pickup_points


def _label(point: SalesPoint):
    from core.written import WrittenText, language_of

    name = as_written(point, "name")
    # The place as typed only beside a name in its language (a Chinese place in an
    # English option would be read with the wrong voice); the hours in the page's.
    place = point.place if language_of(point.place) in (None, name.lang) else None
    if name.lang == "en":
        where = ", ".join(part for part in (place, opening_hours(point)) if part)
        return WrittenText(f"{name.text} ({where})" if where else name.text, name.lang)
    where = "，".join(part for part in (place, opening_hours(point)) if part)
    return WrittenText(f"{name.text}（{where}）" if where else name.text, name.lang)


def pickup_choices() -> list[tuple[str, object]]:
    """(code, label) for each stall a shopper can choose now, for the checkout form."""
    return [(point.slug, _label(point)) for point in pickup_points(get_session())]


def pickup_point(code: str | None) -> SalesPoint | None:
    """The open pick-up stall with this code, or None."""
    if not code:
        return None
    return next((p for p in pickup_points(get_session()) if p.slug == code), None)


def pickup_label(code: str | None):
    """What the checkout's summary says for the chosen stall (None if it is gone)."""
    point = pickup_point(code)
    return _label(point) if point is not None else None


def pickup_name(code: str | None) -> str | None:
    """The name an order keeps for the stall, in the buyer's language."""
    point = pickup_point(code)
    return as_written(point, "name").text[:100] if point is not None else None
