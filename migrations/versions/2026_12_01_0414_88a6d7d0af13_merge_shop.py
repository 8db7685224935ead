"""merge shop

Revision ID: 88a6d7d0af13
Revises: c3a59f96f1f0, aff7159b1ea1
Create Date: 2026-12-01 04:14:56.977192
"""
from collections.abc import Sequence

revision: str = '88a6d7d0af13'
down_revision: str | Sequence[str] | None = ('c3a59f96f1f0', 'aff7159b1ea1')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
