"""a3c1e7f0b2d4: order lines sold before lines kept English names get their products'
English names as they were at the upgrade (none where a product had no English), on
SQLite and on PostgreSQL; nothing else about the line changes."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

from core.cli import alembic_config
from core.db import make_engine

BEFORE, BACKFILL = "cfefc4fb237d", "a3c1e7f0b2d4"


def _filler(column: sa.Column):
    """A value any NOT NULL column of these tables accepts (enums are plain VARCHARs)."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 11, 1, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 11, 1)
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(connection, table: sa.Table, **given) -> int:
    """A row of `table` as it was at the old revision: `given`, and fillers elsewhere."""
    values = {c.name: _filler(c) for c in table.columns
              if not c.nullable and c.server_default is None and not c.primary_key}
    values.update(given)
    return connection.execute(table.insert().values(**values)
                              .returning(table.c.id)).scalar_one()


def _old_lines_get_english_names(url: str, tmp_path) -> None:
    from app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "m" * 40,
                      "INSTANCE_DIR": str(tmp_path / "instance")})
    with app.app_context():
        config = alembic_config()
        command.upgrade(config, BEFORE)
        engine = make_engine(url)
        try:
            meta = sa.MetaData()
            meta.reflect(engine, only=["workshop", "product", "product_variant",
                                       "shop_order", "order_line"])
            t = meta.tables
            with engine.begin() as connection:
                workshop = _insert(connection, t["workshop"], slug="w", name="工坊")
                order = _insert(connection, t["shop_order"], number="GF-OLD-1",
                                public_token="old-token")
                lines = []
                for n, (title, title_en, name_en) in enumerate(
                        [("盘扣", "Knot buttons", "Red"), ("书签", None, None)]):
                    product = _insert(connection, t["product"], slug=f"p{n}", title=title,
                                      title_en=title_en, workshop_id=workshop)
                    variant = _insert(connection, t["product_variant"], product_id=product,
                                      sku=f"SKU-{n}", name="红色", name_en=name_en)
                    lines.append(_insert(
                        connection, t["order_line"], order_id=order, product_id=product,
                        variant_id=variant, workshop_id=workshop, product_name=title,
                        variant_name="红色", sku=f"SKU-{n}", unit_price_amount=1000,
                        quantity=2, line_total_amount=2000))
                # A line whose product has since been deleted keeps no English name.
                lines.append(_insert(connection, t["order_line"], order_id=order,
                                     product_id=None, variant_id=None, workshop_id=workshop,
                                     product_name="旧商品", sku="SKU-GONE",
                                     unit_price_amount=500, quantity=1,
                                     line_total_amount=500))
            command.upgrade(config, BACKFILL)
            with engine.connect() as connection:
                rows = connection.execute(sa.text(
                    "SELECT id, product_name, product_name_en, variant_name_en, quantity, "
                    "line_total_amount FROM order_line ORDER BY id")).all()
        finally:
            engine.dispose()
            app.extensions["database"].engine.dispose()
    assert [tuple(r) for r in rows] == [
        (lines[0], "盘扣", "Knot buttons", "Red", 2, 2000),
        (lines[1], "书签", None, None, 2, 2000),
        (lines[2], "旧商品", None, None, 1, 500)]


def test_backfill_on_sqlite(tmp_path):
    _old_lines_get_english_names(f"sqlite:///{tmp_path / 'old.db'}", tmp_path)


def test_backfill_on_postgresql(postgres_server_url, tmp_path):
    if postgres_server_url is None:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required but not reachable")
        pytest.skip("PostgreSQL is not reachable")
    schema = f"gf_backfill_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        base = postgres_server_url.replace("postgresql://", "postgresql+psycopg://", 1)
        separator = "&" if "?" in base else "?"
        _old_lines_get_english_names(f"{base}{separator}options=-csearch_path%3D{schema}",
                                     tmp_path)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
