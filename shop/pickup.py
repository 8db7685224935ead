"""Where a shopper can pick up: the stalls ("little yellow carts") and the studio.

A fixed list until the sales-points issue gives stalls their own table; the code is
what an order keeps, with the name as it was.
"""

from flask_babel import lazy_gettext as _l

PICKUP_POINTS = {
    "studio-haishu": _l("Creative studio, Haishu District (weekdays 9:00-17:00)"),
    "metro-gulou": _l("Little yellow cart, Gulou metro station (daily 10:00-16:00)"),
    "museum-ningbo": _l("Little yellow cart, Ningbo Museum (Tuesday to Sunday)"),
}
