"""live edge: each session's push keys (presenter, interpreter) and when they publish;
when the edge's recording begins and the interpreter's recording

Revision ID: f1a7c3e9d2b8
Revises: e6fa04c3b9d5
Create Date: 2026-12-06 19:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'f1a7c3e9d2b8'
down_revision: str | Sequence[str] | None = 'e6fa04c3b9d5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'live_stream_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.Enum('presenter', 'interpreter', name='streamrole',
                                  native_enum=False, length=19), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('publishing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
        sa.UniqueConstraint('session_id', 'role', name='uq_live_stream_key_role'),
    )
    with op.batch_alter_table('live_session') as batch_op:
        batch_op.add_column(sa.Column('recording_started_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('interpreter_recording_started_at',
                                      sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('interpreter_recording_url',
                                      sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('live_session') as batch_op:
        batch_op.drop_column('interpreter_recording_started_at')
        batch_op.drop_column('interpreter_recording_url')
        batch_op.drop_column('recording_started_at')
    op.drop_table('live_stream_key')
