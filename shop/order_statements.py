"""The statements a checkout runs, built once at import.

Building a statement and passing it through the ORM cost several times what running
it does (about 280 µs against 50 µs for a prepared insert, measured on SQLite), and a
flash purchase runs a dozen per order; these are plain table statements with bound
parameters, run on the session's connection.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalog.models import Product, ProductMaker, ProductStatus, ProductVariant
from shop.models import Order, OrderIdempotencyKey, OrderLine, OrderLineMaker, StockHold

_variant = ProductVariant.__table__
_product = Product.__table__
_maker = ProductMaker.__table__
_key = OrderIdempotencyKey.__table__
_line = OrderLine.__table__

ORDER_WITH_KEY = sa.select(_key.c.order_id).where(_key.c.key == sa.bindparam("wanted_key"))

CLAIM_KEY = {
    dialect: insert(_key).values(key=sa.bindparam("new_key"), created_at=sa.bindparam("at"),
                                 order_id=sa.bindparam("new_order_id"))
    .on_conflict_do_nothing(index_elements=["key"]).returning(_key.c.key)
    for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}

# With the commit (see place_order): a key another request holds breaks its unique key.
INSERT_KEY = _key.insert()

_order = Order.__table__
DROP_UNCLAIMED_ORDER = _order.delete().where(_order.c.id == sa.bindparam("unclaimed_id"))

# What placing needs in one read: the variants on sale with their products, and the
# order already placed with this checkout's key if there is one (a retry must find
# it, even when the stock is gone).
# One statement per number of variants in the cart, each with its own parameters
# (variant_0, variant_1, ...): a list expanded into the statement at every run cost a
# tenth of the read.
@lru_cache(maxsize=32)
def sellable(count: int):
    """The read for a cart of `count` different variants."""
    return (
        sa.select(_variant.c.id, _variant.c.name, _variant.c.sku, _variant.c.price_amount,
                  _variant.c.price_currency, _variant.c.stock,
                  _product.c.id.label("product_id"), _product.c.title, _product.c.workshop_id,
                  _product.c.is_digital, ORDER_WITH_KEY.scalar_subquery().label("placed_order_id"))
        .join_from(_variant, _product, _product.c.id == _variant.c.product_id)
        .where(_variant.c.id.in_([sa.bindparam(f"variant_{n}") for n in range(count)]),
               _variant.c.is_active.is_(True), _product.c.status == ProductStatus.PUBLISHED)
        .order_by(_variant.c.id)
    )

INSERT_LINES = _line.insert()
# Each new line's makers and their shares, as the product has them when the order is
# written: one statement that needs no line ids back (so it can travel with the commit).
_line_maker = OrderLineMaker.__table__
INSERT_LINE_MAKERS = _line_maker.insert().from_select(
    ["order_line_id", "maker_id", "share_basis_points"],
    sa.select(_line.c.id, _maker.c.maker_id, _maker.c.share_basis_points)
    .join_from(_line, _maker, _maker.c.product_id == _line.c.product_id)
    .where(_line.c.order_id == sa.bindparam("placed_order_id"))
    .order_by(_line.c.id, _maker.c.id))
INSERT_HOLDS = StockHold.__table__.insert()

TAKE_STOCK = (_variant.update().where(_variant.c.id == sa.bindparam("taken_variant"))
              .values(stock=_variant.c.stock - sa.bindparam("taken_quantity")))
