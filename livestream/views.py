"""Public schedule and session pages, the host's schedule and slots, notices, calendars.

Operator screens are in operator_views.py and the JSON API in api.py; both are
registered under this blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlmodel import select

from accounts.access import has_role, roles_required
from accounts.models import HostProfile, Role, User
from core.db import get_session, writes_on_get
from core.errors import DomainError
from core.navigation import ANYONE, SIGNED_IN, add_nav, add_operator_link
from livestream import calendars, lifecycle, queries, replay, slots
from livestream.models import LiveSession, Notice, ReminderRequest, SessionStatus
from livestream.notices import notices_for
from livestream.room_models import LiveCaption
from livestream.rules import team_rota

bp = Blueprint("livestream", __name__)
PUBLIC = (SessionStatus.SCHEDULED, SessionStatus.LIVE, SessionStatus.ENDED,
          SessionStatus.CANCELLED)


def register_navigation() -> None:
    """Links to the schedule, the host's schedule, notices and the planning view."""
    add_nav("livestream.schedule", _l("Live schedule"), audience=ANYONE, order=20)
    add_nav("livestream.host_schedule", _l("My slots"), audience=Role.HOST.value, order=72)
    add_nav("livestream.notices", _l("Notices"), audience=SIGNED_IN, order=79)
    add_operator_link("livestream.operator.planning", _l("Live sessions: week plan"), order=30)


def _refused(error: DomainError, target: str):
    """Undo anything the refused action started and say why on the page it came from."""
    get_session().rollback()
    flash(str(error.message), "error")
    return redirect(target, code=303)


def _visible_session(slug: str) -> LiveSession:
    live = get_session().exec(select(LiveSession).where(LiveSession.slug == slug)).first()
    if live is None:
        abort(404)
    if live.status not in PUBLIC and not has_role(Role.OPERATOR):
        abort(404)  # drafts are the operators' business
    return live


@bp.route("/live")
def schedule():
    """Sessions live now and coming up."""
    session = get_session()
    sessions = queries.public_schedule(session=session)
    presenters = {p.user_id: p.public_name for p in session.exec(select(HostProfile).where(
        HostProfile.user_id.in_([s.presenter_id for s in sessions if s.presenter_id])))}
    return render_template("livestream/schedule.html", sessions=sessions, presenters=presenters)


@bp.route("/live/<slug>")
def session_page(slug: str):
    """One session: when, who presents and interprets, what is shown, reminders."""
    session = get_session()
    live = _visible_session(slug)
    if live.status == SessionStatus.LIVE:
        from livestream.room_views import room_page

        return room_page(live)
    team = queries.session_slots(session=session, live_ids=[live.id])[live.id]
    rotas = {slot.id: team_rota(starts_at=slot.starts_at, ends_at=slot.ends_at,
                                team_size=slot.team_size, swap_minutes=slot.swap_minutes)
             for slot, _name in team if slot.team_size > 1 and slot.team_position == 1}
    reminded = current_user.is_authenticated and session.exec(select(ReminderRequest.id).where(
        ReminderRequest.session_id == live.id,
        ReminderRequest.user_id == current_user.id)).first() is not None
    products = queries.session_products(session=session, live_id=live.id)
    context = dict(live=live, team=team, rotas=rotas, products=products, reminded=reminded,
                   workshops=queries.session_workshops(session=session, live=live,
                                                       products=products))
    if live.status == SessionStatus.ENDED:
        from livestream.room import lineup

        return render_template(
            "livestream/replay.html", **context,
            chapters=replay.chapters(session=session, live=live),
            answered=replay.answered_questions(session=session, live=live),
            lineup=lineup(session=session, live_id=live.id),
            has_captions=session.exec(select(LiveCaption.id).where(
                LiveCaption.session_id == live.id)).first() is not None)
    return render_template("livestream/session.html", **context)


@bp.route("/live/<slug>/remind", methods=["POST"])
@login_required
def remind(slug: str):
    """Ask for a reminder 15 minutes before the start."""
    live = _visible_session(slug)
    target = url_for("livestream.session_page", slug=slug)
    try:
        lifecycle.remind_me(session=get_session(), live=live, user=current_user)
    except DomainError as error:
        return _refused(error, target)
    flash(_("We will remind you 15 minutes before it starts."), "success")
    return redirect(target, code=303)


@bp.route("/live/<slug>/calendar.ics")
def session_calendar(slug: str):
    """An "add to calendar" file for one session."""
    live = _visible_session(slug)
    return Response(calendars.session_calendar(live), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{live.slug}.ics"'})


@bp.route("/host/schedule")
@roles_required(Role.HOST)
@writes_on_get  # the calendar feed token is made on the first visit
def host_schedule():
    """The host's own slots, the open slots they qualify for, and their calendar feed."""
    session = get_session()
    token = calendars.feed_token(session=session, user_id=current_user.id)
    return render_template(
        "livestream/host_schedule.html",
        mine=queries.host_schedule(session=session, host_id=current_user.id),
        open_slots=slots.qualified_open_slots(session=session, host_id=current_user.id),
        feed_url=url_for("livestream.host_feed", token=token, _external=True))


@bp.route("/host/slots/<int:slot_id>/claim", methods=["POST"])
@roles_required(Role.HOST)
def claim(slot_id: int):
    """Take an open slot."""
    target = url_for("livestream.host_schedule")
    try:
        slot = slots.claim_slot(session=get_session(), slot_id=slot_id, host=current_user)
    except DomainError as error:
        return _refused(error, target)
    flash(_("The slot is yours: %(role)s.", role=slot.role.label), "success")
    return redirect(target, code=303)


@bp.route("/host/slots/<int:slot_id>/release", methods=["POST"])
@roles_required(Role.HOST)
def release(slot_id: int):
    """Give a slot back; late releases are flagged to operators."""
    target = url_for("livestream.host_schedule")
    try:
        slot = slots.release_slot(session=get_session(), slot_id=slot_id, host=current_user)
    except DomainError as error:
        return _refused(error, target)
    if slot.late_release_at:
        flash(_("You gave up the slot less than 24 hours before it starts. The operators "
                "have been told so they can find someone."), "info")
    else:
        flash(_("You gave up the slot. It is open for others now."), "success")
    return redirect(target, code=303)


@bp.route("/host/calendar/renew", methods=["POST"])
@roles_required(Role.HOST)
def renew_feed():
    """Make a new private calendar address; the old one stops working."""
    calendars.feed_token(session=get_session(), user_id=current_user.id, renew=True)
    flash(_("Your calendar address has changed. Add the new one to your calendar app."),
          "success")
    return redirect(url_for("livestream.host_schedule"), code=303)


@bp.route("/calendar/host/<token>.ics")
def host_feed(token: str):
    """A host's private feed; the secret token is the only key."""
    session = get_session()
    host_id = calendars.host_for_token(session=session, token=token)
    if host_id is None:
        abort(404)
    profile = session.get(HostProfile, host_id)
    name = profile.public_name if profile else session.get(User, host_id).display_name
    return Response(calendars.host_calendar(session=session, host_id=host_id, host_name=name),
                    mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})


@bp.route("/notices")
@login_required
def notices():
    """The signed-in person's reminders and alerts."""
    session = get_session()
    items = notices_for(session=session, user_id=current_user.id)
    return render_template("livestream/notices.html", items=items)


@bp.route("/notices/read", methods=["POST"])
@login_required
def notices_read():
    """Mark every notice read."""
    from sqlalchemy import update

    from core.db import utcnow

    get_session().execute(update(Notice).where(Notice.user_id == current_user.id,
                                               Notice.read_at.is_(None))
                          .values(read_at=utcnow()))
    flash(_("All notices are marked as read."), "success")
    return redirect(url_for("livestream.notices"), code=303)


from livestream import (  # noqa: E402  (they register on bp)
    api,
    control_views,
    edge_views,
    operator_views,
    report_views,
    room_views,
)

bp.register_blueprint(operator_views.bp)
bp.register_blueprint(api.bp)
ROOM_VIEWS = (room_views, control_views, report_views, edge_views)  # their routes are on bp itself
