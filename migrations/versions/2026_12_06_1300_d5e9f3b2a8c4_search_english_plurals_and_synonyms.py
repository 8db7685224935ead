"""search: every product's document again, with English singulars and synonyms

Revision ID: d5e9f3b2a8c4
Revises: c4d8e2a1f7b3
Create Date: 2026-12-06 13:00:00

catalog.english_words now cuts a query's English word to its singular ("brooches" ->
"brooch"), so documents written before need those forms too, or an old product stops
being found by its own plural. The texts are read with plain SQL, as product_texts
reads them today, so later changes to the models cannot break this step.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.search import document_tokens

revision: str = 'd5e9f3b2a8c4'
down_revision: str | Sequence[str] | None = 'c4d8e2a1f7b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    products = connection.execute(sa.text("""
        SELECT p.id, p.title, p.title_en, p.description, p.description_en,
               w.name, w.name_en, c.name, c.name_en
        FROM product p
        LEFT JOIN workshop w ON w.id = p.workshop_id
        LEFT JOIN category c ON c.id = p.category_id""")).all()
    makers: dict[int, list[str]] = {}
    for product_id, name in connection.execute(sa.text("""
            SELECT pm.product_id, mp.public_name FROM product_maker pm
            JOIN maker_profile mp ON mp.user_id = pm.maker_id
            WHERE mp.show_name_publicly ORDER BY pm.id""")):
        makers.setdefault(product_id, []).append(name)
    for product_id, *texts in products:
        document = " ".join(document_tokens([*texts, *makers.get(product_id, [])]))
        connection.execute(sa.text(
            "UPDATE product_search_document SET document = :document "
            "WHERE product_id = :product_id"), {"document": document, "product_id": product_id})


def downgrade() -> None:
    pass  # the extra tokens find more, and harm nothing under the older rules
