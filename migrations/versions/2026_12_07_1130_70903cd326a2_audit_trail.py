"""audit trail: every operator action with who, when and what; the database refuses
to change or delete an entry

Revision ID: 70903cd326a2
Revises: f1a7c3e9d2b8
Create Date: 2026-12-07 11:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '70903cd326a2'
down_revision: str | Sequence[str] | None = 'f1a7c3e9d2b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry BEGIN "
    "SELECT RAISE(ABORT, 'audit_entry is append-only: an entry cannot be changed'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry BEGIN "
    "SELECT RAISE(ABORT, 'audit_entry is append-only: an entry cannot be deleted'); END",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_entry_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
    END
    $$""",
    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()",
    # TRUNCATE skips row triggers, so it is refused on its own.
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()",
)


def upgrade() -> None:
    op.create_table(
        'audit_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('subject_type', sqlmodel.sql.sqltypes.AutoString(length=40),
                  nullable=False),
        sa.Column('subject_id', sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_entry_at', 'audit_entry', ['at'])
    op.create_index('ix_audit_entry_actor_id', 'audit_entry', ['actor_id'])
    op.create_index('ix_audit_entry_action', 'audit_entry', ['action'])
    statements = (POSTGRES_TRIGGERS if op.get_bind().dialect.name == 'postgresql'
                  else SQLITE_TRIGGERS)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('audit_entry')  # its triggers go with it
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_entry_refuse_change()")
