"""ledger: indexes for balances summed over every entry and a month read from the index

Revision ID: 5b1d7c2e9a40
Revises: 4e80cf97881b
Create Date: 2026-12-01 08:40:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '5b1d7c2e9a40'
down_revision: str | Sequence[str] | None = '4e80cf97881b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTH_COLUMNS = ['maker_id', 'occurred_at', 'kind', 'amount', 'product_id', 'channel',
                 'live_session_id', 'sales_point_id', 'quantity']


def upgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_maker_amount', ['maker_id', 'amount'], unique=False)
        batch_op.create_index('ix_ledger_maker_month', MONTH_COLUMNS, unique=False)
        batch_op.drop_index('ix_ledger_maker_occurred')


def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_maker_occurred',
                              ['maker_id', 'occurred_at', 'kind', 'amount'], unique=False)
        batch_op.drop_index('ix_ledger_maker_month')
        batch_op.drop_index('ix_ledger_maker_amount')
