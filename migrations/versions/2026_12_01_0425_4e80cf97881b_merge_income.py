"""merge income

Revision ID: 4e80cf97881b
Revises: 96203661471c, 88a6d7d0af13
Create Date: 2026-12-01 04:25:34.276730
"""
from collections.abc import Sequence

revision: str = '4e80cf97881b'
down_revision: str | Sequence[str] | None = ('96203661471c', '88a6d7d0af13')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
