"""order_line: English snapshots of the product and version names

Revision ID: a3c1e7f0b2d4
Revises: cfefc4fb237d
Create Date: 2026-12-05 19:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a3c1e7f0b2d4'
down_revision: str | Sequence[str] | None = 'cfefc4fb237d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('order_line') as batch_op:
        batch_op.add_column(sa.Column('product_name_en', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('variant_name_en', sa.String(length=60), nullable=True))
    # Lines sold before today get the English names their products have now: the best
    # snapshot there is, and it changes no Chinese name nor any figure.
    op.execute("""
        UPDATE order_line SET
          product_name_en = (SELECT title_en FROM product WHERE product.id = order_line.product_id),
          variant_name_en = (SELECT name_en FROM product_variant
                             WHERE product_variant.id = order_line.variant_id)
    """)


def downgrade() -> None:
    with op.batch_alter_table('order_line') as batch_op:
        batch_op.drop_column('variant_name_en')
        batch_op.drop_column('product_name_en')
