"""What the audit trail holds, for the tests of each operator action."""

from __future__ import annotations

from sqlmodel import select

from core.audit import AuditEntry


def entries(db_session) -> list[tuple]:
    """Every entry as (actor_id, action, subject_type, subject_id, details), oldest first."""
    with db_session(write=False) as session:
        return [(e.actor_id, e.action, e.subject_type, e.subject_id, e.details)
                for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def actions(db_session) -> list[str]:
    return [entry[1] for entry in entries(db_session)]
