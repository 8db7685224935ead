"""The audit trail: who did what to which thing, and when, for every operator action.

An entry is added to the session of the action it records, so it is saved or rolled
back with the action: a refund that fails leaves no entry, a refund that is saved
always has one. The database refuses to change or delete an entry (triggers made by
the migration, on SQLite and PostgreSQL), so not even the shop's own code can rewrite
the trail.

`details` holds ids, amounts and short codes only: never a password, token, card
detail, e-mail, phone, address or disability value. `record` refuses keys that name
such fields, so a careless caller fails in its tests rather than leaking into the trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from core.db import UTCDateTime, utcnow

# Words that, inside a details key, mean personal or secret data.
FORBIDDEN_DETAIL_WORDS = ("password", "token", "secret", "card", "phone", "address",
                          "email", "disability", "key")


class AuditEntry(SQLModel, table=True):
    """One operator (or system) action, as it happened. Never changed once written."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # None: the system (the scheduler, a command) did it. No ON DELETE: erasure
    # pseudonymises a person, it never deletes the row, so the reference stays valid.
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    action: str = Field(max_length=40, index=True)  # "order.refund", "role.grant", ...
    subject_type: str = Field(max_length=40)        # "order", "product", "user", ...
    subject_id: str = Field(max_length=64)
    details: dict = Field(default_factory=dict,
                          sa_column=sa.Column(sa.JSON, nullable=False))


def record(session: Session, *, actor: Any, action: str, subject_type: str,
           subject_id: Any, details: dict | None = None) -> AuditEntry:
    """Add an entry for `action` on (`subject_type`, `subject_id`) to `session`.

    `actor` is a user, a user id, or None for the system. The caller's transaction
    saves it with the action, or drops it with the action.
    """
    details = dict(details or {})
    _check_details(details)
    entry = AuditEntry(actor_id=_actor_id(actor), action=action,
                       subject_type=subject_type, subject_id=str(subject_id),
                       details=details)
    session.add(entry)
    return entry


def _actor_id(actor: Any) -> int | None:
    if actor is None:
        return None
    if isinstance(actor, bool):
        raise TypeError("actor must be a user, a user id or None")
    if isinstance(actor, int):
        return actor
    actor_id = getattr(actor, "id", None)
    if not isinstance(actor_id, int):  # an anonymous visitor or an unsaved user
        raise TypeError("actor must be a saved user, a user id or None")
    return actor_id


def _check_details(details: dict, path: str = "") -> None:
    for key, value in details.items():
        name = str(key).lower()
        if any(word in name for word in FORBIDDEN_DETAIL_WORDS):
            raise ValueError(f"audit details may not hold {path}{key!r}: ids and amounts only")
        if isinstance(value, dict):
            _check_details(value, f"{path}{key}.")
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, dict):
                    _check_details(item, f"{path}{key}[].")
                elif not isinstance(item, str | int | float | bool | type(None)):
                    raise TypeError(f"audit detail {path}{key!r} holds a {type(item)}")
        elif not isinstance(value, str | int | float | bool | type(None)):
            raise TypeError(f"audit detail {path}{key!r} is a {type(value).__name__}; "
                            "give ids, amounts and codes")
