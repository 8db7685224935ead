"""made to order: a product's lead time and weekly capacity, the units ordered beyond
stock per ISO week, and the made-to-order part of stock holds and order lines

Revision ID: c4e8a1f2d7b6
Revises: b3d5f7a9c1e2
Create Date: 2026-12-07 15:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c4e8a1f2d7b6'
down_revision: str | Sequence[str] | None = 'b3d5f7a9c1e2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on `product` (no batch copy): on SQLite, recreating it fails
    # while its search triggers and readers hold it.
    op.add_column('product', sa.Column('made_to_order', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column('product', sa.Column('lead_time_days', sa.Integer(), nullable=False,
                                       server_default='0'))
    op.add_column('product', sa.Column('weekly_capacity', sa.Integer(), nullable=False,
                                       server_default='0'))
    op.create_table(
        'made_to_order_week',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('units_ordered', sa.Integer(), nullable=False),
        sa.CheckConstraint('units_ordered >= 0', name='ck_made_to_order_week_units'),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('product_id', 'week_start', name='uq_made_to_order_week'),
    )
    op.create_index('ix_made_to_order_week_product_id', 'made_to_order_week', ['product_id'])
    with op.batch_alter_table('stock_hold', schema=None) as batch_op:
        batch_op.add_column(sa.Column('made_to_order_quantity', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('made_in_week', sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            'ck_stock_hold_made_to_order',
            'made_to_order_quantity >= 0 AND made_to_order_quantity <= quantity')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('made_to_order_quantity', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('lead_time_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ships_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_column('ships_on')
        batch_op.drop_column('lead_time_days')
        batch_op.drop_column('made_to_order_quantity')
    with op.batch_alter_table('stock_hold', schema=None) as batch_op:
        batch_op.drop_constraint('ck_stock_hold_made_to_order', type_='check')
        batch_op.drop_column('made_in_week')
        batch_op.drop_column('made_to_order_quantity')
    op.drop_index('ix_made_to_order_week_product_id', table_name='made_to_order_week')
    op.drop_table('made_to_order_week')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in upgrade.
    for column in ('weekly_capacity', 'lead_time_days', 'made_to_order'):
        op.drop_column('product', column)
