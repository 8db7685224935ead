"""stall days: a stall's place, opening days and hours and whether it is a pick-up
point; each stall sale's business day; closed days with the cash counted; the fixed
pick-up list's points as rows

Revision ID: d7e2a9c4b1f3
Revises: d7a2e5c9b431
Create Date: 2026-12-07 15:35:00.000000
"""
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = 'd7e2a9c4b1f3'
down_revision: str | Sequence[str] | None = 'd7a2e5c9b431'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    with op.batch_alter_table('sales_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('place', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('opening_days', sa.String(length=7), nullable=False,
                                      server_default='1234567'))
        batch_op.add_column(sa.Column('opens_at', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('is_pickup_point', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('stall_sale', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_day', sa.Date(), nullable=True))
        batch_op.create_index('ix_stall_sale_point_day', ['sales_point_id', 'business_day'])
    # Sales already made belong to their Asia/Shanghai day.
    connection = op.get_bind()
    stall_sale = sa.table('stall_sale', sa.column('id', sa.Integer),
                          sa.column('created_at', sa.DateTime(timezone=True)),
                          sa.column('business_day', sa.Date))
    zone = ZoneInfo('Asia/Shanghai')
    for sale_id, created in connection.execute(
            sa.select(stall_sale.c.id, stall_sale.c.created_at)).all():
        if isinstance(created, str):
            from datetime import datetime
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        connection.execute(stall_sale.update().where(stall_sale.c.id == sale_id)
                           .values(business_day=created.astimezone(zone).date()))
    op.create_table(
        'stall_day_close',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sales_point_id', sa.Integer(), nullable=False),
        sa.Column('business_day', sa.Date(), nullable=False),
        sa.Column('sales_count', sa.Integer(), nullable=False),
        sa.Column('total_amount', sa.Integer(), nullable=False),
        sa.Column('cash_recorded_amount', sa.Integer(), nullable=False),
        sa.Column('other_recorded_amount', sa.Integer(), nullable=False),
        sa.Column('cash_counted_amount', sa.Integer(), nullable=False),
        sa.Column('difference_amount', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=False),
        sa.Column('closed_by_id', sa.Integer(), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('cash_counted_amount >= 0', name='ck_stall_day_cash_counted'),
        sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['sales_point_id'], ['sales_point.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sales_point_id', 'business_day', name='uq_stall_day_close'),
    )
    op.create_index('ix_stall_day_close_sales_point_id', 'stall_day_close',
                    ['sales_point_id'])
    from income.pickup_seed import insert_missing_sql

    for statement in insert_missing_sql():
        op.execute(statement)


def downgrade() -> None:
    op.drop_index('ix_stall_day_close_sales_point_id', table_name='stall_day_close')
    op.drop_table('stall_day_close')
    with op.batch_alter_table('stall_sale', schema=None) as batch_op:
        batch_op.drop_index('ix_stall_sale_point_day')
        batch_op.drop_column('business_day')
    with op.batch_alter_table('sales_point', schema=None) as batch_op:
        batch_op.drop_column('is_pickup_point')
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
        batch_op.drop_column('opening_days')
        batch_op.drop_column('place')
        batch_op.drop_column('name_en')
