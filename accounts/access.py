"""Who may see what: role checks for views and the current user's roles."""

from __future__ import annotations

from functools import wraps

from flask import g
from flask_login import current_user
from sqlmodel import select

from accounts.models import Role, UserRole
from core.db import get_session
from core.errors import NotAllowed


def current_roles() -> frozenset[Role]:
    """The signed-in user's roles, read once per request."""
    if "current_roles" not in g:
        if not current_user.is_authenticated:
            g.current_roles = frozenset()
        else:
            rows = get_session().exec(
                select(UserRole.role).where(UserRole.user_id == current_user.id)).all()
            g.current_roles = frozenset(Role(r) for r in rows)
    return g.current_roles


def has_role(role: Role | str) -> bool:
    """True when the signed-in user holds `role`."""
    return Role(role) in current_roles()


def roles_required(*roles: Role):
    """A view decorator: sign in first, then hold at least one of `roles` (or 403)."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask import current_app

            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_roles() & set(roles):
                raise NotAllowed()
            return view(*args, **kwargs)

        return wrapped

    return decorate
