"""The pick-up points the shop had before stalls had a table (shop/pickup.py's list).

A migration adds them where they are missing, so orders that stored these codes still
find their stall; the test databases start with them too, as a migrated one does.
Plain SQL that reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

# slug (the code orders keep), name, English name, place, district, days, opens, closes
SEED_POINTS = (
    ("studio-haishu", "海曙区文创馆", "Creative studio, Haishu District",
     "海曙区文创馆一楼", "海曙区", "12345", "09:00", "17:00"),
    ("metro-gulou", "鼓楼地铁站小黄车", "Little yellow cart, Gulou metro station",
     "鼓楼地铁站站厅", "海曙区", "1234567", "10:00", "16:00"),
    ("museum-ningbo", "宁波博物馆小黄车", "Little yellow cart, Ningbo Museum",
     "宁波博物馆大厅", "鄞州区", "234567", "09:00", "17:00"),
)


# Our own fixed values only, quoted by _literal: no one's input reaches this SQL.
_INSERT = (
    "INSERT INTO sales_point (slug, name, name_en, place, district, opening_days, "
    "opens_at, closes_at, is_pickup_point, is_active, created_at) "
    "SELECT {values}, TRUE, TRUE, CURRENT_TIMESTAMP WHERE NOT EXISTS "
    "(SELECT 1 FROM sales_point WHERE slug = {slug})")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def insert_missing_sql() -> list[str]:
    """One INSERT per seeded point, each adding its row only if the slug is not there."""
    statements = []
    for slug, name, name_en, place, district, days, opens, closes in SEED_POINTS:
        values = ", ".join(_literal(v) for v in (
            slug, name, name_en, place, district, days, opens, closes))
        statements.append(_INSERT.format(values=values, slug=_literal(slug)))
    return statements
