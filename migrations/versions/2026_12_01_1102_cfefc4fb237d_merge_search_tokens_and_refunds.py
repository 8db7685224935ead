"""Merge the search-tokens and refund branches (nothing to change: both touch their own
tables).

Revision ID: cfefc4fb237d
Revises: 4cce82cd0e94, 7d2b41c9e5a3
Create Date: 2026-12-01 11:02:35.140801
"""
from collections.abc import Sequence

revision: str = "cfefc4fb237d"
down_revision: str | Sequence[str] | None = ("4cce82cd0e94", "7d2b41c9e5a3")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing: a merge point."""


def downgrade() -> None:
    """Nothing: a merge point."""
