"""live room: pins, live prices and their claims, questions and chat, mutes, blocked
words, captions, viewers; the session's interpreter stream, recording and peak viewers;
the live price an order line was sold at

Revision ID: b7e2d9c4f1a6
Revises: a3c1e7f0b2d4
Create Date: 2026-12-05 21:29:06.984842
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'b7e2d9c4f1a6'
down_revision: str | Sequence[str] | None = 'a3c1e7f0b2d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('live_blocked_word',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=True),
    sa.Column('word', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workshop_id', 'word', name='uq_live_blocked_word')
    )
    with op.batch_alter_table('live_blocked_word', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_blocked_word_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('live_caption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_caption', schema=None) as batch_op:
        batch_op.create_index('ix_live_caption_session_at', ['session_id', 'created_at'], unique=False)

    op.create_table('live_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('is_question', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_message', schema=None) as batch_op:
        batch_op.create_index('ix_live_message_session_id', ['session_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_message_user_id'), ['user_id'], unique=False)

    op.create_table('live_mute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('muted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['muted_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'user_id', name='uq_live_mute')
    )
    op.create_table('live_pin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unpinned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pinned_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['pinned_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_pin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_pin_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_live_pin_current', ['session_id'], unique=True, sqlite_where=sa.text('unpinned_at IS NULL'), postgresql_where=sa.text('unpinned_at IS NULL'))

    op.create_table('live_viewer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('viewer_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'viewer_key', name='uq_live_viewer')
    )
    op.create_table('live_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('price_amount', sa.Integer(), nullable=False),
    sa.Column('normal_amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('quantity_limit', sa.Integer(), nullable=False),
    sa.Column('per_buyer_limit', sa.Integer(), nullable=False),
    sa.Column('sold_quantity', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name='ck_live_price_times'),
    sa.CheckConstraint('price_amount > 0 AND price_amount < normal_amount', name='ck_live_price_below_normal'),
    sa.CheckConstraint('quantity_limit > 0 AND per_buyer_limit > 0', name='ck_live_price_limits_positive'),
    sa.CheckConstraint('sold_quantity >= 0 AND sold_quantity <= quantity_limit', name='ck_live_price_sold_within_limit'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['live_session.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_price', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_price_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_live_price_session_variant', ['session_id', 'variant_id'], unique=False)

    op.create_table('live_price_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('live_price_id', sa.Integer(), nullable=False),
    sa.Column('buyer_key', sqlmodel.sql.sqltypes.AutoString(length=340), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name='ck_live_price_claim_quantity'),
    sa.ForeignKeyConstraint(['live_price_id'], ['live_price.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('live_price_id', 'buyer_key', name='uq_live_price_claim')
    )
    with op.batch_alter_table('live_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interpreter_stream_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column('recording_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column('peak_viewers', sa.Integer(), nullable=False,
                                      server_default='0'))

    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_price_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_line_live_price_id'), ['live_price_id'], unique=False)
        batch_op.create_foreign_key('fk_order_line_live_price_id', 'live_price',
                                    ['live_price_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_constraint('fk_order_line_live_price_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_line_live_price_id'))
        batch_op.drop_column('live_price_id')

    with op.batch_alter_table('live_session', schema=None) as batch_op:
        batch_op.drop_column('peak_viewers')
        batch_op.drop_column('recording_url')
        batch_op.drop_column('interpreter_stream_url')

    op.drop_table('live_price_claim')
    with op.batch_alter_table('live_price', schema=None) as batch_op:
        batch_op.drop_index('ix_live_price_session_variant')
        batch_op.drop_index(batch_op.f('ix_live_price_session_id'))

    op.drop_table('live_price')
    op.drop_table('live_viewer')
    with op.batch_alter_table('live_pin', schema=None) as batch_op:
        batch_op.drop_index('uq_live_pin_current', sqlite_where=sa.text('unpinned_at IS NULL'), postgresql_where=sa.text('unpinned_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_live_pin_session_id'))

    op.drop_table('live_pin')
    op.drop_table('live_mute')
    with op.batch_alter_table('live_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_message_user_id'))
        batch_op.drop_index('ix_live_message_session_id')

    op.drop_table('live_message')
    with op.batch_alter_table('live_caption', schema=None) as batch_op:
        batch_op.drop_index('ix_live_caption_session_at')

    op.drop_table('live_caption')
    with op.batch_alter_table('live_blocked_word', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_blocked_word_workshop_id'))

    op.drop_table('live_blocked_word')
