"""merge catalog and livestream

Revision ID: aff7159b1ea1
Revises: b76e6418bf59, 5416ada2446f
Create Date: 2026-12-01 04:12:58.558375
"""
from collections.abc import Sequence

revision: str = 'aff7159b1ea1'
down_revision: str | Sequence[str] | None = ('b76e6418bf59', '5416ada2446f')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
