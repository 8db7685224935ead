"""livestream: slots, series, reminders, notices, calendar feeds

Revision ID: 5416ada2446f
Revises: 0c6574cd419d
Create Date: 2026-12-01 02:53:27.157965
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '5416ada2446f'
down_revision: str | Sequence[str] | None = '0c6574cd419d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('live_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Enum('weekly', 'daily', name='repeatfrequency', native_enum=False, length=14), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rrule', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('live_host_calendar_feed',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id'),
    sa.UniqueConstraint('token')
    )
    op.create_table('live_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_notice', schema=None) as batch_op:
        batch_op.create_index('ix_live_notice_user_created', ['user_id', 'created_at'], unique=False)

    op.create_table('live_sent_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'subject_key', 'user_id', name='uq_live_sent_reminder')
    )
    op.create_table('live_reminder_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'user_id', name='uq_live_reminder_request')
    )
    with op.batch_alter_table('live_reminder_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_reminder_request_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_reminder_request_user_id'), ['user_id'], unique=False)

    op.create_table('live_session_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('presenter', 'sign_interpreter', 'voice_interpreter', 'captioner', 'assistant', name='hostrole', native_enum=False, length=25), nullable=False),
    sa.Column('sign_language', sa.Enum('csl_national', 'zhejiang', 'shanghai', name='signlanguage', native_enum=False, length=20), nullable=True),
    sa.Column('min_level', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_required', sa.Boolean(), nullable=False),
    sa.Column('team_size', sa.Integer(), nullable=False),
    sa.Column('team_position', sa.Integer(), nullable=False),
    sa.Column('swap_minutes', sa.Integer(), nullable=True),
    sa.Column('host_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('late_release_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late_released_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name='ck_live_session_slot_times'),
    sa.CheckConstraint('min_level >= 0 AND min_level <= 3', name='ck_live_session_slot_level'),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['host_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['late_released_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_session_slot', schema=None) as batch_op:
        batch_op.create_index('ix_live_session_slot_host_time', ['host_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_session_slot_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('live_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_live_session_series_id'), ['series_id'], unique=False)
        batch_op.create_foreign_key('fk_live_session_series_id', 'live_series', ['series_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('live_session', schema=None) as batch_op:
        batch_op.drop_constraint('fk_live_session_series_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_live_session_series_id'))
        batch_op.drop_column('ended_at')
        batch_op.drop_column('started_at')
        batch_op.drop_column('series_id')

    with op.batch_alter_table('live_session_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_session_slot_session_id'))
        batch_op.drop_index('ix_live_session_slot_host_time')

    op.drop_table('live_session_slot')
    with op.batch_alter_table('live_reminder_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_reminder_request_user_id'))
        batch_op.drop_index(batch_op.f('ix_live_reminder_request_session_id'))

    op.drop_table('live_reminder_request')
    op.drop_table('live_sent_reminder')
    with op.batch_alter_table('live_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_live_notice_user_created')

    op.drop_table('live_notice')
    op.drop_table('live_host_calendar_feed')
    op.drop_table('live_series')
