"""refund: failed_at, for card refunds that fail at the provider after they were made

Revision ID: 7d2b41c9e5a3
Revises: 5b1d7c2e9a40
Create Date: 2026-12-01 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7d2b41c9e5a3'
down_revision: str | Sequence[str] | None = '5b1d7c2e9a40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('refund') as batch_op:
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refund') as batch_op:
        batch_op.drop_column('failed_at')
