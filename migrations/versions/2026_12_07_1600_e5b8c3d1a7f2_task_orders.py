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
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_order_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_ledger_entry_task_order_id', ['task_order_id'])
        batch_op.create_foreign_key('fk_ledger_entry_task_order_id_task_order', 'task_order',
                                    ['task_order_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ledger_entry_task_order_id_task_order',
                                 type_='foreignkey')
        batch_op.drop_index('ix_ledger_entry_task_order_id')
        batch_op.drop_column('task_order_id')
    op.drop_index('ix_task_order_task_maker_id', table_name='task_order_task')
    op.drop_index('ix_task_order_task_task_order_id', table_name='task_order_task')
    op.drop_table('task_order_task')
    op.drop_index('ix_task_order_workshop_status', table_name='task_order')
    op.drop_table('task_order')
