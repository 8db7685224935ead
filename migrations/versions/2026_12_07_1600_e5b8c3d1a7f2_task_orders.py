"""task orders: an organisation's request for a batch of pieces, the members' tasks and
pieces made, and the task order named on the ledger entries that pay for it

Revision ID: e5b8c3d1a7f2
Revises: d7e2a9c4b1f3
Create Date: 2026-12-07 16:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5b8c3d1a7f2'
down_revision: str | Sequence[str] | None = 'd7e2a9c4b1f3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS = "entry_key, maker_id, kind, amount, currency, occurred_at, available_at"
REFUSAL = "ledger entries are append-only: book a correcting entry instead"


def upgrade() -> None:
    op.create_table(
        'task_order',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workshop_id', sa.Integer(), nullable=False),
        sa.Column('organisation', sa.String(length=100), nullable=False),
        sa.Column('contact_name', sa.String(length=60), nullable=False),
        sa.Column('contact_email', sa.String(length=320), nullable=True),
        sa.Column('contact_phone', sa.String(length=20), nullable=True),
        sa.Column('product', sa.String(length=100), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('price_per_piece_amount', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('locale', sa.String(length=12), nullable=False),
        sa.Column('status', sa.Enum('requested', 'accepted', 'declined', 'delivered',
                                    name='taskorderstatus', native_enum=False,
                                    create_constraint=False, length=17), nullable=False),
        sa.Column('decline_reason', sa.String(length=300), nullable=True),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivered_by_id', sa.Integer(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('quantity > 0', name='ck_task_order_quantity'),
        sa.CheckConstraint('price_per_piece_amount > 0', name='ck_task_order_price'),
        sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id']),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['delivered_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_task_order_workshop_status', 'task_order', ['workshop_id', 'status'])
    op.create_table(
        'task_order_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_order_id', sa.Integer(), nullable=False),
        sa.Column('maker_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('pieces_done', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('pieces_done >= 0 AND pieces_done <= quantity',
                           name='ck_task_order_task_pieces'),
        sa.ForeignKeyConstraint(['task_order_id'], ['task_order.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['maker_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('task_order_id', 'maker_id', name='uq_task_order_task'),
    )
    op.create_index('ix_task_order_task_task_order_id', 'task_order_task', ['task_order_id'])
    op.create_index('ix_task_order_task_maker_id', 'task_order_task', ['maker_id'])
    # On SQLite a batch copy of ledger_entry would drop its append-only trigger: add the
    # column in place there, with its reference inline.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE ledger_entry ADD COLUMN task_order_id INTEGER "
                   "REFERENCES task_order (id)")
    else:
        op.add_column('ledger_entry', sa.Column('task_order_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_ledger_entry_task_order_id_task_order', 'ledger_entry',
                              'task_order', ['task_order_id'], ['id'])
    op.create_index('ix_ledger_entry_task_order_id', 'ledger_entry', ['task_order_id'])


def downgrade() -> None:
    op.drop_index('ix_ledger_entry_task_order_id', table_name='ledger_entry')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite's DROP COLUMN refuses a referencing column: copy the table, then make the
        # append-only trigger of 5b1d7c2e9a40 again, word for word.
        with op.batch_alter_table('ledger_entry', recreate='always') as batch_op:
            batch_op.drop_column('task_order_id')
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only")
        op.execute(f"CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OF "
                   f"{MONEY_COLUMNS} ON ledger_entry BEGIN SELECT RAISE(ABORT, "
                   f"'{REFUSAL}'); END")
    else:
        op.drop_constraint('fk_ledger_entry_task_order_id_task_order', 'ledger_entry',
                           type_='foreignkey')
        op.drop_column('ledger_entry', 'task_order_id')
    op.drop_index('ix_task_order_task_maker_id', table_name='task_order_task')
    op.drop_index('ix_task_order_task_task_order_id', table_name='task_order_task')
    op.drop_table('task_order_task')
    op.drop_index('ix_task_order_workshop_status', table_name='task_order')
    op.drop_table('task_order')
