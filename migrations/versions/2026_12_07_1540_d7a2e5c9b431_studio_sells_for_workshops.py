"""studio sells for workshops: a product's selling studio, the studio's commission rate,
and the studio named on ledger entries of the lines it sold

Revision ID: d7a2e5c9b431
Revises: c4e8a1f2d7b6
Create Date: 2026-12-07 15:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd7a2e5c9b431'
down_revision: str | Sequence[str] | None = 'c4e8a1f2d7b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# On SQLite the columns are added and dropped in place (ALTER TABLE ... ADD/DROP COLUMN),
# never by batch mode's copy of the table: with foreign keys on, dropping the old
# product table deletes every row that cascades from it (variants, photos, makers), and
# copying ledger_entry would drop its append-only trigger.
NEW_COLUMNS = (("product", "selling_studio_id"), ("ledger_entry", "studio_id"))
# The append-only trigger of 5b1d7c2e9a40, word for word: made again after a downgrade
# that has to copy ledger_entry (a later migration's copy turned the column's inline
# REFERENCES into a table constraint, which SQLite's DROP COLUMN refuses).
MONEY_COLUMNS = "entry_key, maker_id, kind, amount, currency, occurred_at, available_at"
REFUSAL = "ledger entries are append-only: book a correcting entry instead"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, column in NEW_COLUMNS:
        if sqlite:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                       "REFERENCES workshop (id)")
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(f'fk_{table}_{column}_workshop', table, 'workshop',
                                  [column], ['id'])
        op.create_index(f'ix_{table}_{column}', table, [column])
    op.create_table(
        'studio_commission',
        sa.Column('studio_id', sa.Integer(), nullable=False),
        sa.Column('rate_basis_points', sa.Integer(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('rate_basis_points >= 0 AND rate_basis_points <= 10000',
                           name='ck_studio_commission_rate'),
        sa.ForeignKeyConstraint(['studio_id'], ['workshop.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('studio_id'),
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_table('studio_commission')
    for table, column in reversed(NEW_COLUMNS):
        op.drop_index(f'ix_{table}_{column}', table_name=table)
        if sqlite and table == 'ledger_entry':
            # Nothing cascades from ledger_entry, so its copy loses no rows.
            with op.batch_alter_table(table, recreate='always') as batch_op:
                batch_op.drop_column(column)
            op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only")
            op.execute(f"CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OF "
                       f"{MONEY_COLUMNS} ON ledger_entry BEGIN SELECT RAISE(ABORT, "
                       f"'{REFUSAL}'); END")
        elif sqlite:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_constraint(f'fk_{table}_{column}_workshop', table, type_='foreignkey')
            op.drop_column(table, column)
