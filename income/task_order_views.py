"""Task-order pages: an organisation's request on the workshop's page, the coordinator's
list and order page (accept, decline, split, mark delivered), and pieces made."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from accounts.models import User, Workshop, WorkshopMember
from core.audit import record
from core.db import get_session
from core.errors import NotFound
from core.forms import form_view
from core.i18n import current_locale_name
from core.rate_limits import client_address, refuse_if_over, user_or_address
from income import task_orders as service
from income.access import coordinated_workshops, workshop_for
from income.task_order_forms import ConfirmForm, DeclineForm, PiecesForm, TaskOrderRequestForm
from income.task_order_models import TaskOrder, TaskOrderStatus, TaskOrderTask
from income.views import bp


def _public_workshop(slug: str) -> Workshop:
    found = get_session().exec(select(Workshop).where(Workshop.slug == slug[:80])).first()
    if found is None:
        raise NotFound()
    return found


@bp.route("/workshops/<slug>/task-order", methods=["GET", "POST"])
@form_view
def task_order_request(slug: str):
    """Ask this workshop for a task order; signed in or not (rate-limited)."""
    session = get_session()
    workshop = _public_workshop(slug)
    form = TaskOrderRequestForm()
    if request.method == "POST" and form.validate_on_submit():
        refuse_if_over({"task-order-requests-from-address": client_address(),
                        "task-order-requests-from-sender": user_or_address()})
        service.request_task_order(
            session=session, workshop=workshop, organisation=form.organisation.data,
            contact_name=form.contact_name.data,
            contact_email=(form.email.data or "").strip() or None,
            contact_phone=(form.phone.data or "").strip() or None,
            product=form.product.data, quantity=form.quantity.number,
            deadline=form.deadline.day, price_per_piece=form.price.fen,
            message=form.message.data or "",
            by_user_id=current_user.id if current_user.is_authenticated else None,
            locale=current_locale_name())
        return redirect(url_for("income.task_order_sent", slug=workshop.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("income/task_orders/request.html", workshop=workshop,
                           form=form), status


@bp.route("/workshops/<slug>/task-order/sent")
def task_order_sent(slug: str):
    """Thanks: the workshop's coordinator answers by mail or phone."""
    return render_template("income/task_orders/sent.html", workshop=_public_workshop(slug))


def _coordinated(session, workshop_id: int) -> Workshop:
    """The workshop, for its own coordinator only: writes are the workshop's (404)."""
    if not any(w.id == workshop_id for w in coordinated_workshops(session, current_user.id)):
        raise NotFound()
    return session.get(Workshop, workshop_id)


def _makers_by_id(session, ids) -> dict[int, User]:
    ids = list(ids)
    return {u.id: u for u in session.exec(select(User).where(User.id.in_(ids or [0])))}


@bp.route("/income/workshops/<int:workshop_id>/task-orders")
@login_required
def workshop_task_orders(workshop_id: int):
    """Every task order the workshop was asked for, newest first, with its progress."""
    session = get_session()
    workshop = workshop_for(session, workshop_id)
    orders = session.exec(select(TaskOrder).where(TaskOrder.workshop_id == workshop.id)
                          .order_by(TaskOrder.id.desc()).limit(200)).all()
    return render_template("income/task_orders/list.html", workshop=workshop,
                           orders=orders, made=service.pieces_made(session, orders))


def _order_page(workshop, order, *, status=200, decline_form=None, pieces_errors=None,
                split_errors=None, typed=None, problem=None):
    session = get_session()
    tasks = service.tasks_of(session, order.id)
    makers = service.workshop_makers(session, workshop.id)
    people = {m.id: m for m in makers} | _makers_by_id(
        session, {t.maker_id for t in tasks} - {m.id for m in makers})
    split_errors = split_errors or {}
    return render_template(
        "income/task_orders/order.html", workshop=workshop, order=order, tasks=tasks,
        makers=makers, people=people, pay=service.booked_by_maker(session, order.id),
        decline_form=decline_form or DeclineForm(), confirm=ConfirmForm(),
        split_errors=split_errors, typed=typed or {}, problem=problem,
        is_coordinator=any(w.id == workshop.id for w in coordinated_workshops(
            session, current_user.id)),
        has_errors=bool(split_errors or problem or (decline_form and decline_form.errors)),
    ), status


@bp.route("/income/workshops/<int:workshop_id>/task-orders/<int:task_order_id>")
@login_required
def task_order_page(workshop_id: int, task_order_id: int):
    """One task order: the request, the answer, the members' tasks and progress."""
    session = get_session()
    workshop = workshop_for(session, workshop_id)
    return _order_page(workshop, service.task_order_for(session, workshop.id, task_order_id))


def _action(workshop_id: int, task_order_id: int):
    session = get_session()
    workshop = _coordinated(session, workshop_id)
    return session, workshop, service.task_order_for(session, workshop.id, task_order_id)


def _back(workshop, order):
    return redirect(url_for("income.task_order_page", workshop_id=workshop.id,
                            task_order_id=order.id))


def _confirmed_step(workshop_id: int, task_order_id: int, step, action: str, done: str,
                    details=None):
    """A coordinator's one-button step on a task order: the service decides, the audit
    trail records it, and a refusal comes back on the order's page with nothing saved."""
    session, workshop, order = _action(workshop_id, task_order_id)
    if not ConfirmForm().validate_on_submit():
        return _order_page(workshop, order, status=400, problem=_(
            "This form had expired, so nothing was saved. Check your answers and send "
            "it again."))
    try:
        step(session=session, order=order, by_user_id=current_user.id)
    except service.TaskOrderError as exc:
        return _order_page(workshop, order, status=409, problem=exc.message)
    record(session, actor=current_user, action=action, subject_type="task_order",
           subject_id=order.id, details=details(session, order) if details else None)
    flash(done, "success")
    return _back(workshop, order)


@bp.route("/income/workshops/<int:workshop_id>/task-orders/<int:task_order_id>/accept",
          methods=["POST"])
@login_required
@form_view
def task_order_accept(workshop_id: int, task_order_id: int):
    """Accept: the asker is told by mail; the order can then be split."""
    return _confirmed_step(workshop_id, task_order_id, service.accept, "task_order.accept",
                           _("Accepted. Now share the pieces out between the members."))


@bp.route("/income/workshops/<int:workshop_id>/task-orders/<int:task_order_id>/decline",
          methods=["POST"])
@login_required
@form_view
def task_order_decline(workshop_id: int, task_order_id: int):
    """Decline with a reason; the asker is told by mail."""
    session, workshop, order = _action(workshop_id, task_order_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _order_page(workshop, order, status=400, decline_form=form)
    try:
        service.decline(session=session, order=order, reason=form.reason.data,
                        by_user_id=current_user.id)
    except service.TaskOrderError as exc:
        return _order_page(workshop, order, status=409, problem=exc.message)
    record(session, actor=current_user, action="task_order.decline",
           subject_type="task_order", subject_id=order.id)
    flash(_("Declined. We have told them why."), "success")
    return _back(workshop, order)


@bp.route("/income/workshops/<int:workshop_id>/task-orders/<int:task_order_id>/split",
          methods=["POST"])
@login_required
@form_view
def task_order_split(workshop_id: int, task_order_id: int):
    """Share the pieces out between the members; they must add up to the order."""
    session, workshop, order = _action(workshop_id, task_order_id)
    makers = service.workshop_makers(session, workshop.id)
    typed, errors, quantities = {}, {}, {}
    for maker in makers:
        text = (request.form.get(f"split-{maker.id}") or "").strip()
        typed[maker.id] = text
        number = text.replace(",", "")
        if not number:
            quantities[maker.id] = 0
        elif number.isdecimal() and len(number) <= 9:
            quantities[maker.id] = int(number)
        else:
            errors[f"split-{maker.id}"] = _("Pieces must be a whole number, 0 or more")
    if not ConfirmForm().validate_on_submit():
        errors["split"] = _("This form had expired, so nothing was saved. Check your "
                            "answers and send it again.")
    if not errors:
        try:
            service.set_split(session=session, order=order, quantities=quantities)
        except service.TaskOrderError as exc:
            errors[exc.field or "split"] = exc.message
    if errors:
        session.rollback()
        order = service.task_order_for(session, workshop.id, order.id)
        return _order_page(workshop, order, status=400, split_errors=errors, typed=typed)
    record(session, actor=current_user, action="task_order.split",
           subject_type="task_order", subject_id=order.id,
           details={"pieces": {str(k): v for k, v in quantities.items() if v}})
    flash(_("Saved. Each member can now record the pieces they make."), "success")
    return _back(workshop, order)


@bp.route("/income/workshops/<int:workshop_id>/task-orders/<int:task_order_id>/deliver",
          methods=["POST"])
@login_required
@form_view
def task_order_deliver(workshop_id: int, task_order_id: int):
    """Delivered and paid: each member's pay is booked in their income, once."""
    return _confirmed_step(
        workshop_id, task_order_id, service.deliver_and_book, "task_order.deliver",
        _("Marked delivered and paid. Each member's pay is now in their income."),
        details=lambda session, order: {"total": service.booked_total(session, order.id)})


def _task_for(session, maker_id: int, task_order_id: int):
    """(order, task, workshop) if the reader is the maker or their workshop's coordinator
    and the maker is still a member; 404 for anyone else (operators too: the workshop's
    own people record its work)."""
    row = session.exec(select(TaskOrder, TaskOrderTask).join(
        TaskOrderTask, TaskOrderTask.task_order_id == TaskOrder.id).where(
        TaskOrder.id == task_order_id, TaskOrderTask.maker_id == maker_id)).first() \
        if 0 < task_order_id < 2**31 and 0 < maker_id < 2**31 else None
    if row is None:
        raise NotFound()
    order, task = row
    member = session.exec(select(WorkshopMember.id).where(
        WorkshopMember.workshop_id == order.workshop_id,
        WorkshopMember.user_id == maker_id)).first()
    allowed = maker_id == current_user.id or any(
        w.id == order.workshop_id for w in coordinated_workshops(session, current_user.id))
    if member is None or not allowed:
        raise NotFound()
    return order, task, session.get(Workshop, order.workshop_id)


@bp.route("/income/makers/<int:maker_id>/task-orders/<int:task_order_id>/pieces",
          methods=["GET", "POST"])
@login_required
@form_view
def task_order_pieces(maker_id: int, task_order_id: int):
    """Record pieces a member made: the member themself, or their coordinator."""
    session = get_session()
    order, task, workshop = _task_for(session, maker_id, task_order_id)
    form = PiecesForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                done = service.record_pieces(session=session, order=order, maker_id=maker_id,
                                             pieces=form.pieces.number)
            except service.TaskOrderError as exc:
                form.pieces.errors = [exc.message]
                session.rollback()
                order, task, workshop = _task_for(session, maker_id, task_order_id)
            else:
                flash(_("Saved: %(done)s of %(count)s pieces made.", done=format(done, ","),
                        count=format(task.quantity, ",")), "success")
                if maker_id == current_user.id and request.args.get("from") != "order":
                    return redirect(url_for("income.my_income"))
                return _back(workshop, order)
    maker = session.get(User, maker_id)
    return render_template("income/task_orders/pieces.html", order=order, task=task,
                           workshop=workshop, maker=maker, form=form,
                           is_self=maker_id == current_user.id,
                           from_order=request.args.get("from") == "order"), status


def _maker_progress(maker_id: int):
    """The maker's task orders for their dashboard (a template global)."""
    return service.member_progress(get_session(), maker_id)


def _workshop_progress(workshop_id: int):
    """The workshop's open task orders and pieces made (a template global)."""
    session = get_session()
    orders = session.exec(select(TaskOrder).where(
        TaskOrder.workshop_id == workshop_id,
        TaskOrder.status.in_([TaskOrderStatus.REQUESTED, TaskOrderStatus.ACCEPTED]))
        .order_by(TaskOrder.deadline).limit(20)).all()
    return orders, service.pieces_made(session, orders)


bp.add_app_template_global(_maker_progress, "task_orders_of_maker")
bp.add_app_template_global(_workshop_progress, "task_orders_of_workshop")
