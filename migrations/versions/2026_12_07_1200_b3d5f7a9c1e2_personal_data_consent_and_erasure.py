"""personal data: consents to keep a disability category (given, withdrawn), and the
pseudonym and erasure time of a person whose data was erased

Revision ID: b3d5f7a9c1e2
Revises: 70903cd326a2
Create Date: 2026-12-07 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'b3d5f7a9c1e2'
down_revision: str | Sequence[str] | None = '70903cd326a2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'data_consent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_data_consent_user_category', 'data_consent', ['user_id', 'category'])
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonym', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_user_account_pseudonym', ['pseudonym'])
    # A maker who ticked consent before this table existed gave it when they last saved.
    op.execute(
        "INSERT INTO data_consent (user_id, category, given_at) "
        "SELECT user_id, 'disability', updated_at FROM maker_profile "
        "WHERE disability_consent AND disability_category IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_user_account_pseudonym', type_='unique')
        batch_op.drop_column('erased_at')
        batch_op.drop_column('pseudonym')
    op.drop_index('ix_data_consent_user_category', table_name='data_consent')
    op.drop_table('data_consent')
