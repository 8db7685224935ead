"""Operator screens for people and workshops: onboarding makers, hosts and workshops."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import func, or_, select

from accounts import services
from accounts.access import roles_required
from accounts.forms import AddMemberForm, HostCapabilityForm, UserRolesForm, WorkshopForm
from accounts.models import (
    HostCapability,
    HostRole,
    Role,
    SignLanguage,
    User,
    UserRole,
    Workshop,
    WorkshopKind,
    WorkshopMember,
)
from core.audit import record
from core.db import get_session
from core.errors import Conflict
from core.forms import form_view
from core.written import as_written, written_message

bp = Blueprint("operator_accounts", __name__, url_prefix="/operator")
PAGE_SIZE = 50


def person_or_404(user_id: int) -> User:
    """The person the operator's page is about."""
    return get_session().get(User, user_id) or abort(404)


def form_page(template: str, form, **context):
    """A page with a form: answered 400 when it shows errors (GOV.UK pattern), else 200."""
    return render_template(template, form=form, **context), 400 if form.errors else 200


def done(message, endpoint: str, **values):
    """Say the change is saved and go to `endpoint`'s page (a redirect after the POST)."""
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def back_to_person(user: User, message):
    """Say the change to `user` is saved, on their page."""
    return done(message, "operator_accounts.user_detail", user_id=user.id)


@bp.route("/")
@roles_required(Role.OPERATOR)
def dashboard():
    """The operator's starting page."""
    session = get_session()
    counts = {
        "users": session.exec(select(func.count()).select_from(User)).one(),
        "workshops": session.exec(select(func.count()).select_from(Workshop)).one(),
    }
    return render_template("accounts/operator/dashboard.html", counts=counts)


@bp.route("/users")
@roles_required(Role.OPERATOR)
def users():
    """Find people by name, e-mail or phone."""
    query = (request.args.get("q") or "").strip()[:100]
    page = request.args.get("page", 1, type=int) or 1
    page = max(1, min(page, 10_000))
    statement = select(User).order_by(User.id)
    if query:
        like = f"%{query}%"
        statement = statement.where(or_(User.display_name.ilike(like), User.email.ilike(like),
                                        User.phone.ilike(like)))
    rows = get_session().exec(statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    roles = _roles_by_user([u.id for u in rows[:PAGE_SIZE]])
    return render_template("accounts/operator/users.html", users=rows[:PAGE_SIZE],
                           roles=roles, query=query, page=page,
                           has_next=len(rows) > PAGE_SIZE)


def _roles_by_user(user_ids: list[int]) -> dict[int, list[Role]]:
    result: dict[int, list[Role]] = {uid: [] for uid in user_ids}
    if user_ids:
        for row in get_session().exec(select(UserRole).where(UserRole.user_id.in_(user_ids))):
            result[row.user_id].append(Role(row.role))
    return result


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def user_detail(user_id: int):
    """Change a person's roles or stop them signing in."""
    session = get_session()
    user = person_or_404(user_id)
    held = _roles_by_user([user.id])[user.id]
    form = UserRolesForm(data={"roles": [r.value for r in held],
                               "is_active_account": user.is_active_account})
    if form.validate_on_submit():
        chosen = {Role(value) for value in form.roles.data or []}
        if user.id == current_user.id and Role.OPERATOR not in chosen:
            form.roles.errors = [_("You cannot take the operator role from yourself")]
        else:
            services.set_roles(session=session, user=user, roles=chosen, by=current_user)
            active = bool(form.is_active_account.data or user.id == current_user.id)
            _audit_account_change(user, before=set(held), after=chosen, active=active)
            user.is_active_account = active
            session.add(user)
            return back_to_person(user, written_message(_("Saved the changes to %(name)s."),
                                                        name=user.display_name))
    return _user_page(user, form=form,
                      capability_form=HostCapabilityForm(prefix="qualification"))


def _audit_account_change(user: User, *, before: set[Role], after: set[Role],
                          active: bool) -> None:
    """One entry per role given or taken, and one if signing in was stopped or allowed."""
    session = get_session()
    changes = [("role.grant", role) for role in sorted(after - before)]
    changes += [("role.revoke", role) for role in sorted(before - after)]
    for action, role in changes:
        record(session, actor=current_user.id, action=action, subject_type="user",
               subject_id=user.id, details={"role": role.value})
    if active != user.is_active_account:
        record(session, actor=current_user.id,
               action="account.reactivate" if active else "account.deactivate",
               subject_type="user", subject_id=user.id)


def _user_page(user: User, *, form, capability_form):
    capabilities = get_session().exec(
        select(HostCapability).where(HostCapability.user_id == user.id)
        .order_by(HostCapability.role, HostCapability.sign_language)).all()
    has_errors = bool(form.errors or capability_form.errors)
    return render_template("accounts/operator/user_detail.html", user=user, form=form,
                           capability_form=capability_form, capabilities=capabilities,
                           has_errors=has_errors), 400 if has_errors else 200


@bp.route("/users/<int:user_id>/host-capabilities", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def host_capability_add(user_id: int):
    """Record a role a host can take, with its sign language and level (which the
    operator has checked: hosts do not grade themselves)."""
    session = get_session()
    user = person_or_404(user_id)
    capability_form = HostCapabilityForm(prefix="qualification")
    if capability_form.validate_on_submit():
        language = capability_form.sign_language.data or None
        services.set_host_capability(
            session=session, user=user, role=HostRole(capability_form.role.data),
            sign_language=SignLanguage(language) if language else None,
            level=int(capability_form.level.data))
        record(session, actor=current_user.id, action="host.qualify", subject_type="user",
               subject_id=user.id, details={"role": capability_form.role.data,
                                            "sign_language": language,
                                            "level": int(capability_form.level.data)})
        return back_to_person(user, written_message(_("Saved the qualification for %(name)s."),
                                                    name=user.display_name))
    held = _roles_by_user([user.id])[user.id]
    form = UserRolesForm(data={"roles": [r.value for r in held],
                               "is_active_account": user.is_active_account},
                         formdata=None)
    return _user_page(user, form=form, capability_form=capability_form)


@bp.route("/users/<int:user_id>/host-capabilities/<int:capability_id>/remove",
          methods=["POST"])
@roles_required(Role.OPERATOR)
def host_capability_remove(user_id: int, capability_id: int):
    """Take a qualification away (future slot claims check it; past ones stand)."""
    session = get_session()
    capability = session.get(HostCapability, capability_id)
    if capability is None or capability.user_id != user_id:
        abort(404)
    session.delete(capability)
    record(session, actor=current_user.id, action="host.unqualify", subject_type="user",
           subject_id=user_id, details={
               "role": str(capability.role),
               "sign_language": str(capability.sign_language) if capability.sign_language
               else None})
    return done(_("The qualification was removed."), "operator_accounts.user_detail",
                user_id=user_id)


@bp.route("/workshops")
@roles_required(Role.OPERATOR)
def workshops():
    """Every workshop, with how many members each has."""
    session = get_session()
    rows = session.exec(
        select(Workshop, func.count(WorkshopMember.id))
        .join(WorkshopMember, WorkshopMember.workshop_id == Workshop.id, isouter=True)
        .group_by(Workshop.id).order_by(Workshop.name)).all()
    return render_template("accounts/operator/workshops.html", rows=rows)


@bp.route("/workshops/new", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def workshop_new():
    """Onboard a workshop, home, studio or individual maker."""
    form = WorkshopForm()
    if form.validate_on_submit():
        try:
            workshop = services.create_workshop(
                session=get_session(), slug=form.slug.data, name=form.name.data,
                name_en=form.name_en.data or None, kind=WorkshopKind(form.kind.data),
                district=form.district.data or None, story=form.story.data or "",
                is_featured=form.is_featured.data)
        except Conflict:
            form.slug.errors = [_("Another workshop already uses this web address name")]
        else:
            record(get_session(), actor=current_user.id, action="workshop.create",
                   subject_type="workshop", subject_id=workshop.id)
            return done(written_message(_("Added %(name)s."), name=as_written(workshop, "name")),
                        "operator_accounts.workshop_detail", workshop_id=workshop.id)
    return form_page("accounts/operator/workshop_new.html", form)


@bp.route("/workshops/<int:workshop_id>", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def workshop_detail(workshop_id: int):
    """A workshop's members: add one, make one coordinator, remove one."""
    session = get_session()
    workshop = session.get(Workshop, workshop_id) or abort(404)
    form = AddMemberForm()
    if form.validate_on_submit():
        user = services.find_user_by_login(session=session, login=form.login.data)
        if user is None:
            form.login.errors = [_("No account has this email address or mobile number. "
                                   "Ask the maker to register first.")]
        else:
            services.add_member(session=session, workshop=workshop, user=user,
                                is_coordinator=form.is_coordinator.data)
            record(session, actor=current_user.id, action="workshop.member_add",
                   subject_type="workshop", subject_id=workshop.id,
                   details={"user_id": user.id,
                            "coordinator": bool(form.is_coordinator.data)})
            return done(written_message(_("%(name)s is now a member."), name=user.display_name),
                        "operator_accounts.workshop_detail", workshop_id=workshop.id)
    members = session.exec(
        select(WorkshopMember, User).join(User, User.id == WorkshopMember.user_id)
        .where(WorkshopMember.workshop_id == workshop.id).order_by(User.display_name)).all()
    return form_page("accounts/operator/workshop_detail.html", form, workshop=workshop,
                     members=members)


@bp.route("/workshops/<int:workshop_id>/members/<int:user_id>/remove", methods=["POST"])
@roles_required(Role.OPERATOR)
def workshop_member_remove(workshop_id: int, user_id: int):
    """Take a member out of the workshop."""
    session = get_session()
    workshop = session.get(Workshop, workshop_id) or abort(404)
    services.remove_member(session=session, workshop=workshop, user_id=user_id)
    record(session, actor=current_user.id, action="workshop.member_remove",
           subject_type="workshop", subject_id=workshop.id, details={"user_id": user_id})
    return done(_("The member was removed."), "operator_accounts.workshop_detail",
                workshop_id=workshop.id)


# The audit trail's pages live under /operator too (accounts/audit_views.py).
from accounts.audit_views import bp as audit_bp  # noqa: E402

bp.register_blueprint(audit_bp)
