"""Factories for live sessions and hosts, built with the real services."""

from __future__ import annotations

from datetime import timedelta

from accounts import services as account_services
from accounts.models import HostRole, Role, SignLanguage
from core.db import utcnow
from livestream import services
from tests.factories import make_user


def make_host(session, *, deaf=False, capabilities=((HostRole.PRESENTER, None, 0),),
              name=None, locale="zh_Hans_CN"):
    """A host with a profile and the given (role, sign language, level) capabilities."""
    user = make_user(session, roles=(Role.HOST,), name=name, locale=locale)
    account_services.save_host_profile(session=session, user=user,
                                       public_name=user.display_name, bio="", is_deaf=deaf)
    for role, language, level in capabilities:
        account_services.set_host_capability(session=session, user=user, role=role,
                                             sign_language=language, level=level)
    return user


def make_interpreter(session, *, role=HostRole.VOICE_INTERPRETER,
                     language=SignLanguage.NATIONAL, level=2, name=None):
    """A host who interprets in one direction."""
    return make_host(session, capabilities=((role, language, level),), name=name)


def make_deaf_presenter(session, *, language=SignLanguage.NATIONAL):
    """A deaf host who presents in sign language."""
    return make_host(session, deaf=True, capabilities=((HostRole.PRESENTER, language, 3),))


def plan_session(session, *, presenter=None, hours_ahead=48, minutes=90, title="盘扣之夜",
                 repeat=None, start=None):
    """A draft session (or series) starting `hours_ahead` from now."""
    start = start or (utcnow() + timedelta(hours=hours_ahead)).replace(microsecond=0)
    plan = services.SessionPlan(title=title, planned_start=start,
                                planned_end=start + timedelta(minutes=minutes),
                                presenter_id=presenter.id if presenter else None)
    made = services.plan_sessions(session=session, plan=plan, repeat=repeat)
    return made if repeat else made[0]
