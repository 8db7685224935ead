"""Operator screens: the week plan, planning and editing sessions, their slots and
readiness, and status changes."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from accounts.access import roles_required
from accounts.models import HostRole, Role, SignLanguage, User
from core.audit import record
from core.db import get_session
from core.errors import DomainError
from core.forms import form_view, written_choices
from core.timezones import viewer_zone
from core.written import written_message
from livestream import editing, lifecycle, queries, room, services, slots
from livestream.forms import AssignForm, SessionForm, SlotForm, read_span
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, RepeatFrequency

bp = Blueprint("operator", __name__, url_prefix="/operator/live")


def _live(session_id: int) -> LiveSession:
    return get_session().get(LiveSession, session_id) or abort(404)


def _refused(error: DomainError, target: str):
    get_session().rollback()
    flash(str(error.message), "error")
    return redirect(target, code=303)


@bp.route("/")
@roles_required(Role.OPERATOR)
def planning():
    """A week at a glance; open required slots stand out."""
    try:
        chosen = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        chosen = None
    earliest, latest = queries.week_bounds(session=get_session())
    monday = min(max(queries.week_start(chosen), earliest), latest)
    days = queries.week_plan(session=get_session(), monday=monday)
    previous, following = monday - timedelta(days=7), monday + timedelta(days=7)
    return render_template("livestream/operator/planning.html", days=days, monday=monday,
                           previous=previous if previous >= earliest else None,
                           following=following if following <= latest else None)


def _session_form(form: SessionForm, chosen=()) -> SessionForm:
    """The form's choices; the session's own products first, in their order, so saving
    without a change keeps the line-up as it was."""
    session = get_session()
    form.presenter_id.choices = written_choices([("", _("No presenter yet"))]
                                                + queries.presenter_choices(session=session))
    form.workshop_id.choices = written_choices([("", _("None"))]
                                               + queries.workshop_choices(session=session))
    place = {product_id: index for index, product_id in enumerate(chosen)}
    products = sorted(queries.product_choices(session=session),
                      key=lambda choice: place.get(choice[0], len(place)))
    form.product_ids.choices = written_choices(products)
    form.product_places = {product_id: index + 1 for product_id, index in place.items()}
    return form


def _plan_from(form: SessionForm) -> services.SessionPlan:
    start, end = form.times()
    return services.SessionPlan(
        title=form.title.data.strip(), title_en=(form.title_en.data or "").strip() or None,
        description=form.description.data or "", planned_start=start, planned_end=end,
        presenter_id=int(form.presenter_id.data) if form.presenter_id.data else None,
        workshop_id=int(form.workshop_id.data) if form.workshop_id.data else None,
        stream_url=form.stream_url.data or None, captions_url=form.captions_url.data or None,
        product_ids=getattr(form.product_ids, "ordered", tuple(form.product_ids.data or ())))


def _apply_error(form: SessionForm, error: services.InvalidSchedule) -> None:
    field = {"planned_start": "start_time", "planned_end": "end_time"}.get(
        error.field or "", error.field or "title")
    target = getattr(form, field, form.title)
    target.errors = [*target.errors, str(error.message)]


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def new_session():
    """Plan a session, or a repeating series of them."""
    form = _session_form(SessionForm())
    if form.validate_on_submit():
        repeat = None
        if form.repeat.data:
            repeat = services.Repeat(frequency=RepeatFrequency(form.repeat.data),
                                     count=form.repeat_count.data,
                                     until=form.repeat_until_utc())
        try:
            made = services.plan_sessions(session=get_session(), plan=_plan_from(form),
                                          repeat=repeat)
        except services.InvalidSchedule as error:
            get_session().rollback()
            _apply_error(form, error)
        else:
            for live in made:
                record(get_session(), actor=current_user.id, action="live_session.plan",
                       subject_type="live_session", subject_id=live.id)
            flash(_("Planned %(n)s session(s). Publish when ready.", n=len(made)), "success")
            return redirect(url_for("livestream.operator.detail", session_id=made[0].id),
                            code=303)
    status = 400 if form.errors else 200
    return render_template("livestream/operator/session_form.html", form=form,
                           live=None), status


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def edit_session(session_id: int):
    """Change a planned session; its team follows the new times and is told."""
    session = get_session()
    live = _live(session_id)
    zone = viewer_zone()
    chosen = session.exec(select(LiveSessionProduct.product_id).where(
        LiveSessionProduct.session_id == live.id).order_by(LiveSessionProduct.position)).all()
    form = _session_form(SessionForm(data={
        "title": live.title, "title_en": live.title_en, "description": live.description,
        "presenter_id": str(live.presenter_id or ""), "workshop_id": str(live.workshop_id or ""),
        "start_date": live.planned_start.astimezone(zone).date(),
        "start_time": live.planned_start.astimezone(zone).time(),
        "end_time": live.planned_end.astimezone(zone).time(),
        "stream_url": live.stream_url, "captions_url": live.captions_url,
        "product_ids": list(chosen)}), chosen)
    del form.repeat, form.repeat_count, form.repeat_until
    if form.validate_on_submit():
        try:
            change = editing.update_session(session=session, live=live, plan=_plan_from(form))
        except services.InvalidSchedule as error:
            session.rollback()
            _apply_error(form, error)
        except DomainError as error:
            return _refused(error, url_for("livestream.operator.detail", session_id=session_id))
        else:
            record(session, actor=current_user.id, action="live_session.edit",
                   subject_type="live_session", subject_id=live.id,
                   details={"hosts_told": change.people_told})
            _say_what_changed(change)
            return redirect(url_for("livestream.operator.detail", session_id=live.id), code=303)
    status = 400 if form.errors else 200
    return render_template("livestream/operator/session_form.html", form=form,
                           live=live), status


def _say_what_changed(change: editing.SessionChange) -> None:
    """Tell the operator who was told, and every slot that changed hands."""
    flash(_("Saved the changes."), "success")
    if change.people_told:
        flash(_("%(n)s host(s) were told by mail and notice.", n=change.people_told), "success")
    reasons = {
        editing.Outcome.RELEASED_BUSY: _("they have another slot at the new time"),
        editing.Outcome.RELEASED_DAILY_LIMIT: _("the new time is over their daily interpreting "
                                                "limit"),
        editing.Outcome.REMOVED: _("the slot no longer fits in the new times and was removed"),
        editing.Outcome.NO_LONGER_PRESENTING: _("you chose another presenter"),
    }
    for item in change.holders:
        if item.lost_slot:
            flash(_("%(name)s no longer has the %(role)s slot: %(reason)s.",
                    name=item.host_name, role=item.role.label, reason=reasons[item.outcome]),
                  "info")
        elif item.outcome == editing.Outcome.NOT_REQUIRED:
            flash(_("%(name)s keeps the %(role)s slot, but the new length no longer needs it.",
                    name=item.host_name, role=item.role.label), "info")


def _slot_form() -> SlotForm:
    return SlotForm(prefix="slot")


def _slot_times(form: SlotForm, live: LiveSession):
    """The slot form's times on the session's day in the viewer's zone, as UTC.

    When the session passes midnight there, a start before the session's is on the next
    day; a slot may pass midnight itself ("23:30 to 00:15"), as on the session form.
    """
    zone = viewer_zone()
    local_start = live.planned_start.astimezone(zone)
    day = local_start.date()
    if (live.planned_end.astimezone(zone).date() != day
            and form.starts_at.data < local_start.time().replace(tzinfo=None)):
        day += timedelta(days=1)
    return read_span(form.starts_at, form.ends_at, day, zone,
                     longest=live.planned_end - live.planned_start) or (None, None)


@bp.route("/<int:session_id>", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def detail(session_id: int):
    """Readiness checklist, the team and its slots, and adding a slot."""
    session = get_session()
    live = _live(session_id)
    form = _slot_form()
    zone = viewer_zone()
    if request.method == "GET":
        form.starts_at.data = live.planned_start.astimezone(zone).time()
        form.ends_at.data = live.planned_end.astimezone(zone).time()
    starts_at = ends_at = None
    if form.validate_on_submit():
        starts_at, ends_at = _slot_times(form, live)
    if starts_at is not None and ends_at is not None:
        try:
            services.add_slot(session=session, live=live, role=HostRole(form.role.data),
                              sign_language=SignLanguage(form.sign_language.data)
                              if form.sign_language.data else None,
                              min_level=form.min_level.data, starts_at=starts_at,
                              ends_at=ends_at, is_required=form.is_required.data)
        except services.InvalidSchedule as error:
            session.rollback()
            field = {"starts_at": form.starts_at, "ends_at": form.ends_at,
                     "role": form.role, "min_level": form.min_level}.get(error.field, form.role)
            field.errors = [*field.errors, str(error.message)]
        except DomainError as error:
            return _refused(error, url_for("livestream.operator.detail", session_id=live.id))
        else:
            record(session, actor=current_user.id, action="slot.add", subject_type="live_session",
                   subject_id=live.id, details={"role": form.role.data})
            flash(_("Added the slot."), "success")
            return redirect(url_for("livestream.operator.detail", session_id=live.id), code=303)
    team = queries.session_slots(session=session, live_ids=[live.id])[live.id]
    assign_forms = {}
    for slot, _name in team:
        if slot.host_id is None:
            assign = AssignForm(prefix=f"assign{slot.id}")
            hosts = queries.hosts_for_role(session=session, role=slot.role)
            assign.host_id.choices = written_choices([("", _("Choose a host"))] + hosts)
            assign_forms[slot.id] = assign
    status = 400 if form.errors else 200
    return render_template(
        "livestream/operator/session_detail.html", live=live, form=form, team=team,
        local_day=live.planned_start.astimezone(zone).date(),
        assign_forms=assign_forms, checklist=lifecycle.readiness(session=session, live=live),
        products=queries.session_products(session=session, live_id=live.id)), status


def _slot_and_page(slot_id: int) -> tuple[LiveSessionSlot, str]:
    """The slot, and its session's page to go back to."""
    slot = get_session().get(LiveSessionSlot, slot_id) or abort(404)
    return slot, url_for("livestream.operator.detail", session_id=slot.session_id)


def _carry_out(target: str, change, message, **audit):
    """Make `change`; if a rule refuses it, nothing is kept and the operator is told why.
    Done, it is recorded in the audit trail (`audit`: action, subject and details) and
    `message` is shown. Back to `target` either way."""
    try:
        change()
    except DomainError as error:
        return _refused(error, target)
    record(get_session(), actor=current_user.id, **audit)
    flash(message, "success")
    return redirect(target, code=303)


@bp.route("/slots/<int:slot_id>/assign", methods=["POST"])
@roles_required(Role.OPERATOR)
def assign(slot_id: int):
    """Give an open slot to a host (their qualifications and calendar are checked)."""
    session = get_session()
    slot, target = _slot_and_page(slot_id)
    raw = request.form.get(f"assign{slot_id}-host_id", "")
    host = session.get(User, int(raw)) if raw.isdecimal() and len(raw) < 12 else None
    if host is None:
        flash(_("Choose a host"), "error")
        return redirect(target, code=303)
    return _carry_out(
        target, lambda: slots.claim_slot(session=session, slot_id=slot_id, host=host,
                                         assigned_by=current_user),
        written_message(_("%(name)s now has the slot."), name=host.display_name),
        action="slot.assign", subject_type="live_slot", subject_id=slot_id,
        details={"live_session_id": slot.session_id, "host_id": host.id})


@bp.route("/slots/<int:slot_id>/unassign", methods=["POST"])
@roles_required(Role.OPERATOR)
def unassign(slot_id: int):
    """Take a slot back from its host."""
    session = get_session()
    slot, target = _slot_and_page(slot_id)
    holder = session.get(User, slot.host_id) if slot.host_id else None
    if holder is None:
        return redirect(target, code=303)
    return _carry_out(
        target, lambda: slots.release_slot(session=session, slot_id=slot_id, host=holder,
                                           by_operator=current_user),
        _("The slot is open again."), action="slot.unassign", subject_type="live_slot",
        subject_id=slot_id, details={"live_session_id": slot.session_id, "host_id": holder.id})


@bp.route("/slots/<int:slot_id>/remove", methods=["POST"])
@roles_required(Role.OPERATOR)
def remove(slot_id: int):
    """Remove an open optional slot."""
    slot, target = _slot_and_page(slot_id)
    return _carry_out(
        target, lambda: services.remove_slot(session=get_session(), slot=slot),
        _("Removed the slot."), action="slot.remove", subject_type="live_slot",
        subject_id=slot_id, details={"live_session_id": slot.session_id})


STATUS_ACTIONS = {
    "publish": (lifecycle.publish, _l("Published. Shoppers can see it now.")),
    # Through the room, so open rooms hear of it (and an end stops pins and live prices).
    "go-live": (room.go_live, _l("The session is live.")),
    "end": (room.end, _l("The session has ended.")),
    "cancel": (lifecycle.cancel_session, _l("The session is cancelled and its team told.")),
}


@bp.route("/<int:session_id>/<any(publish, 'go-live', end, cancel):action>", methods=["POST"])
@roles_required(Role.OPERATOR)
def change_status(session_id: int, action: str):
    """Publish, go live, end or cancel, each only when its rule allows."""
    live = _live(session_id)
    change, message = STATUS_ACTIONS[action]
    return _carry_out(
        url_for("livestream.operator.detail", session_id=live.id),
        lambda: change(session=get_session(), live=live), str(message),
        action=f"live_session.{action.replace('-', '_')}", subject_type="live_session",
        subject_id=live.id)
