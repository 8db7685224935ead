"""payment: how an offline payment came and its reference, as the operator recorded them

Revision ID: e6fa04c3b9d5
Revises: d5e9f3b2a8c4
Create Date: 2026-12-06 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'e6fa04c3b9d5'
down_revision: str | Sequence[str] | None = 'd5e9f3b2a8c4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payment') as batch_op:
        batch_op.add_column(sa.Column('received_method', sa.Enum(
            'bank_transfer', 'cash', 'wallet', 'other', name='offlinemethod',
            native_enum=False, length=21), nullable=True))
        batch_op.add_column(sa.Column(
            'received_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment') as batch_op:
        batch_op.drop_column('received_reference')
        batch_op.drop_column('received_method')
