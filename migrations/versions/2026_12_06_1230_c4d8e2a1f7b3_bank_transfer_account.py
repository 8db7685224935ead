"""bank_transfer_account: the shop's account for buyers paying by bank transfer

Revision ID: c4d8e2a1f7b3
Revises: b7e2d9c4f1a6
Create Date: 2026-12-06 12:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'c4d8e2a1f7b3'
down_revision: str | Sequence[str] | None = 'b7e2d9c4f1a6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'bank_transfer_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('bank_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('account_number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('bank_transfer_account')
