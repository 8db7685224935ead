"""ledger: indexes for balances summed over every entry and a month read from the index;
the database refuses to change an entry's money once written

Revision ID: 5b1d7c2e9a40
Revises: 7d2f4c1a9b3e
Create Date: 2026-12-01 08:40:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '5b1d7c2e9a40'
down_revision: str | Sequence[str] | None = '7d2f4c1a9b3e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns that make an entry's money. Others may still change: product_id is set to
# NULL when a product is deleted. Deleting rows stays possible (tests empty tables).
MONEY_COLUMNS = "entry_key, maker_id, kind, amount, currency, occurred_at, available_at"
REFUSAL = "ledger entries are append-only: book a correcting entry instead"

MONTH_COLUMNS = ['maker_id', 'occurred_at', 'kind', 'amount', 'product_id', 'channel',
                 'live_session_id', 'sales_point_id', 'quantity']


def upgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_maker_amount', ['maker_id', 'amount'], unique=False)
        batch_op.create_index('ix_ledger_maker_month', MONTH_COLUMNS, unique=False)
        batch_op.drop_index('ix_ledger_maker_occurred')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION ledger_entry_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$""")
        op.execute(f"""
            CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OF {MONEY_COLUMNS}
            ON ledger_entry FOR EACH ROW EXECUTE FUNCTION ledger_entry_refuse_change()""")
    else:
        op.execute(f"""
            CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OF {MONEY_COLUMNS}
            ON ledger_entry BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only"
               + (" ON ledger_entry" if op.get_bind().dialect.name == 'postgresql' else ""))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS ledger_entry_refuse_change()")
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_maker_occurred',
                              ['maker_id', 'occurred_at', 'kind', 'amount'], unique=False)
        batch_op.drop_index('ix_ledger_maker_month')
        batch_op.drop_index('ix_ledger_maker_amount')
