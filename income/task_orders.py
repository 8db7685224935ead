"""Task orders: asked for by an organisation, answered by the workshop's coordinator,
split into member tasks, pieces recorded, then booked in the maker ledger.

When money is booked: when the coordinator marks the order delivered and paid (the
organisation has paid for every piece). Then the order's total (pieces x price per
piece) is split: the platform's fee by the existing commission rules (the workshop's
rate, else the default), the rest between the members by the pieces each made, both by
largest remainder, so the parts add up to the total to the fen. The money is available
at once: the organisation has paid and there is no buyer to send goods back. Each entry
has a unique key ("task:<id>:maker:<id>", "task:<id>:platform"), so booking twice is
refused by the database as well as by the order's status.

Services flush, never commit; mail goes out after the request commits (core.mail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import Session, func, select

from accounts.models import Role, User, UserRole, Workshop, WorkshopMember
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.mail import queue_mail
from core.money import Money
from income.ledger import commission_rate
from income.models import EntryKind, LedgerEntry
from income.task_order_models import TaskOrder, TaskOrderStatus, TaskOrderTask

MAX_QUANTITY = 1_000_000
MAX_PRICE_FEN = 1_000_000          # ¥10,000 a piece
MAX_TOTAL_FEN = 1_000_000_000      # ¥10,000,000 an order
MAX_DEADLINE_DAYS = 730


class TaskOrderError(DomainError):
    """A refused task-order action; `field` names the form field it is about."""

    def __init__(self, message, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def today_local() -> date:
    """Today in the shop's zone (Asia/Shanghai by default)."""
    from income.queries import local_zone

    return datetime.now(local_zone()).date()


def check_request(*, quantity, deadline, price_per_piece) -> None:
    """Refuse a quantity, deadline or price no workshop could take (TaskOrderError)."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise TaskOrderError(_("Quantity must be a whole number of pieces, 1 or more"),
                             field="quantity")
    if quantity > MAX_QUANTITY:
        raise TaskOrderError(_("Quantity must be 1,000,000 pieces or fewer"), field="quantity")
    if not isinstance(price_per_piece, int) or price_per_piece <= 0:
        raise TaskOrderError(_("Price per piece must be more than ¥0.00"), field="price")
    if price_per_piece > MAX_PRICE_FEN:
        raise TaskOrderError(_("Price per piece must be ¥10,000 or less"), field="price")
    if quantity * price_per_piece > MAX_TOTAL_FEN:
        raise TaskOrderError(_("The whole order must come to ¥10,000,000 or less"),
                             field="price")
    if not isinstance(deadline, date) or deadline <= today_local():
        raise TaskOrderError(_("The deadline must be a date after today"), field="deadline")
    if deadline > today_local() + timedelta(days=MAX_DEADLINE_DAYS):
        raise TaskOrderError(_("The deadline must be within two years"), field="deadline")


def coordinators(session: Session, workshop_id: int) -> list[User]:
    return list(session.exec(select(User).join(
        WorkshopMember, WorkshopMember.user_id == User.id).where(
        WorkshopMember.workshop_id == workshop_id, WorkshopMember.is_coordinator)
        .order_by(User.id)).all())


def request_task_order(*, session: Session, workshop: Workshop, organisation: str,
                       contact_name: str, contact_email: str | None,
                       contact_phone: str | None, product: str, quantity: int,
                       deadline: date, price_per_piece: int, message: str = "",
                       by_user_id: int | None = None, locale: str = "zh_Hans_CN"
                       ) -> TaskOrder:
    """Save an organisation's request and tell the workshop's coordinators by mail."""
    check_request(quantity=quantity, deadline=deadline, price_per_piece=price_per_piece)
    if not (contact_email or contact_phone):
        raise TaskOrderError(_("Enter a phone number or an email address"), field="email")
    order = TaskOrder(workshop_id=workshop.id, organisation=organisation.strip(),
                      contact_name=contact_name.strip(), contact_email=contact_email or None,
                      contact_phone=contact_phone or None, product=product.strip(),
                      quantity=quantity, deadline=deadline,
                      price_per_piece_amount=price_per_piece, message=(message or "").strip(),
                      requested_by_id=by_user_id, locale=locale)
    session.add(order)
    session.flush()
    for person in coordinators(session, workshop.id):
        with force_locale(person.locale or "zh_Hans_CN"):
            queue_mail(session=session, to=person.email, subject=_(
                "New task order request from %(name)s", name=order.organisation),
                body=_("%(name)s asks %(workshop)s for %(count)s × %(product)s by %(date)s, "
                       "at %(price)s a piece. Open your task orders to answer.",
                       name=order.organisation, workshop=workshop.name,
                       count=format(order.quantity, ","), product=order.product,
                       date=order.deadline.isoformat(),
                       price=Money(order.price_per_piece_amount).format()))
    return order


def task_order_for(session: Session, workshop_id: int, task_order_id: int,
                   *, lock: bool = False) -> TaskOrder:
    """The workshop's task order (404 for another workshop's); row-locked if asked."""
    query = select(TaskOrder).where(TaskOrder.id == task_order_id,
                                    TaskOrder.workshop_id == workshop_id)
    if lock:
        # One writer per order at a time (PostgreSQL; SQLite's BEGIN IMMEDIATE already
        # is), and the row as it is now, not as this session last saw it.
        query = query.with_for_update().execution_options(populate_existing=True)
    order = session.exec(query).first() if 0 < task_order_id < 2**31 else None
    if order is None:
        raise NotFound()
    return order


def _tell_asker(session: Session, order: TaskOrder, workshop: Workshop) -> None:
    if not order.contact_email:
        return
    with force_locale(order.locale or "zh_Hans_CN"):
        if order.status == TaskOrderStatus.ACCEPTED:
            subject = _("%(workshop)s accepted your task order", workshop=workshop.name)
            body = _("%(workshop)s will make %(count)s × %(product)s for %(name)s by %(date)s.",
                     workshop=workshop.name, count=format(order.quantity, ","),
                     product=order.product, name=order.organisation,
                     date=order.deadline.isoformat())
        else:
            subject = _("%(workshop)s cannot take your task order", workshop=workshop.name)
            body = _("%(workshop)s cannot make %(count)s × %(product)s for %(name)s. "
                     "Their reason: %(reason)s", workshop=workshop.name,
                     count=format(order.quantity, ","), product=order.product,
                     name=order.organisation, reason=order.decline_reason)
        queue_mail(session=session, to=order.contact_email, subject=subject, body=body)


def _answer(session: Session, order: TaskOrder, status: TaskOrderStatus, by_user_id: int,
            reason: str | None = None) -> TaskOrder:
    done = session.execute(sa.update(TaskOrder).where(
        TaskOrder.id == order.id, TaskOrder.status == TaskOrderStatus.REQUESTED).values(
        status=status, decline_reason=reason, decided_by_id=by_user_id,
        decided_at=utcnow())).rowcount
    session.refresh(order)
    if not done:
        raise TaskOrderError(_("This task order has already been answered"))
    _tell_asker(session, order, session.get(Workshop, order.workshop_id))
    return order


def accept(*, session: Session, order: TaskOrder, by_user_id: int) -> TaskOrder:
    """Accept a requested task order; the asker is told by mail."""
    return _answer(session, order, TaskOrderStatus.ACCEPTED, by_user_id)


def decline(*, session: Session, order: TaskOrder, reason: str, by_user_id: int) -> TaskOrder:
    """Decline with a reason the asker is told by mail."""
    reason = (reason or "").strip()
    if not reason:
        raise TaskOrderError(_("Enter the reason you cannot take it"), field="reason")
    if len(reason) > 300:
        raise TaskOrderError(_("Reason must be 300 characters or fewer"), field="reason")
    return _answer(session, order, TaskOrderStatus.DECLINED, by_user_id, reason)


def workshop_makers(session: Session, workshop_id: int) -> list[User]:
    """The workshop's members who are makers, in a stable order."""
    return list(session.exec(select(User).join(
        WorkshopMember, WorkshopMember.user_id == User.id).join(
        UserRole, sa.and_(UserRole.user_id == User.id, UserRole.role == Role.MAKER)).where(
        WorkshopMember.workshop_id == workshop_id).order_by(User.id)).all())


def tasks_of(session: Session, order_id: int) -> list[TaskOrderTask]:
    return list(session.exec(select(TaskOrderTask).where(
        TaskOrderTask.task_order_id == order_id).order_by(TaskOrderTask.maker_id)).all())


def _must_be_open(order: TaskOrder) -> None:
    if order.status != TaskOrderStatus.ACCEPTED:
        raise TaskOrderError(_("Only an accepted task order that is not yet delivered "
                               "can be changed"))


def set_split(*, session: Session, order: TaskOrder, quantities: dict[int, int]) -> None:
    """Give each member their quantity; they must add up to the order. Editable while
    the order is open; a member's quantity never goes below the pieces they made."""
    order = task_order_for(session, order.workshop_id, order.id, lock=True)
    _must_be_open(order)
    members = {m.id for m in workshop_makers(session, order.workshop_id)}
    for maker_id, quantity in quantities.items():
        if maker_id not in members:
            raise NotFound()
        if not isinstance(quantity, int) or quantity < 0:
            raise TaskOrderError(_("Pieces must be a whole number, 0 or more"),
                                 field=f"split-{maker_id}")
    total = sum(quantities.values())
    if total != order.quantity:
        raise TaskOrderError(_("The members' pieces add up to %(count)s; they must add up "
                               "to the order's %(total)s", count=format(total, ","),
                               total=format(order.quantity, ",")), field="split")
    existing = {t.maker_id: t for t in tasks_of(session, order.id)}
    for maker_id, quantity in sorted(quantities.items()):
        task = existing.get(maker_id)
        if task is None:
            if quantity:
                session.add(TaskOrderTask(task_order_id=order.id, maker_id=maker_id,
                                          quantity=quantity))
            continue
        done = session.execute(sa.update(TaskOrderTask).where(
            TaskOrderTask.id == task.id, TaskOrderTask.pieces_done <= quantity).values(
            quantity=quantity, updated_at=utcnow())).rowcount
        if not done:
            raise TaskOrderError(_("A member cannot have fewer pieces than they have "
                                   "already made"), field=f"split-{maker_id}")
    session.flush()


def record_pieces(*, session: Session, order: TaskOrder, maker_id: int, pieces: int) -> int:
    """Add pieces a member made; never past their task (so never past the order).
    Returns the member's pieces done now. The database decides, so two people recording
    the last pieces at once cannot both pass."""
    order = task_order_for(session, order.workshop_id, order.id, lock=True)
    _must_be_open(order)
    if not isinstance(pieces, int) or pieces <= 0 or pieces > MAX_QUANTITY:
        raise TaskOrderError(_("Pieces must be a whole number, 1 or more"), field="pieces")
    task = session.exec(select(TaskOrderTask).where(
        TaskOrderTask.task_order_id == order.id, TaskOrderTask.maker_id == maker_id)).first()
    if task is None:
        raise NotFound()
    done = session.execute(sa.update(TaskOrderTask).where(
        TaskOrderTask.id == task.id,
        TaskOrderTask.pieces_done + pieces <= TaskOrderTask.quantity).values(
        pieces_done=TaskOrderTask.pieces_done + pieces, updated_at=utcnow())).rowcount
    session.refresh(task)
    if not done:
        left = task.quantity - task.pieces_done
        raise TaskOrderError(_("That is more than this task: %(left)s of %(count)s pieces "
                               "are left to make", left=format(left, ","),
                               count=format(task.quantity, ",")), field="pieces")
    return task.pieces_done


def split_task_pay(total: Money, *, rate_basis_points: int,
                   pieces: list[int]) -> tuple[Money, list[Money]]:
    """(platform's fee, each member's part) of a task order's total, by largest
    remainder: the fee by the rate, the rest by pieces made. They add up exactly."""
    fee, makers = total.allocate([rate_basis_points, 10000 - rate_basis_points])
    if not pieces or sum(pieces) <= 0:
        return total, [Money(0, total.currency) for _ in pieces]
    return fee, makers.allocate(pieces)


def deliver_and_book(*, session: Session, order: TaskOrder, by_user_id: int) -> int:
    """Mark the order delivered and paid, and book each member's pay; once only.
    Every piece must be recorded first. Returns the entries written."""
    order = task_order_for(session, order.workshop_id, order.id, lock=True)
    if order.status == TaskOrderStatus.DELIVERED:
        raise TaskOrderError(_("This task order is already delivered and booked"))
    _must_be_open(order)
    tasks = [t for t in tasks_of(session, order.id) if t.pieces_done]
    made = sum(t.pieces_done for t in tasks)
    if made != order.quantity:
        raise TaskOrderError(_("%(made)s of %(count)s pieces are recorded. Record every "
                               "piece before you mark it delivered.", made=format(made, ","),
                               count=format(order.quantity, ",")))
    now = utcnow()
    session.execute(sa.update(TaskOrder).where(TaskOrder.id == order.id).values(
        status=TaskOrderStatus.DELIVERED, delivered_by_id=by_user_id, delivered_at=now))
    total = Money(made * order.price_per_piece_amount, order.currency)
    rate = commission_rate(session, product_id=None, workshop_id=order.workshop_id)
    fee, parts = split_task_pay(total, rate_basis_points=rate,
                                pieces=[t.pieces_done for t in tasks])
    description = f"{order.organisation} · {order.product}"[:200]
    common = dict(currency=order.currency, workshop_id=order.workshop_id,
                  task_order_id=order.id, description=description, occurred_at=now,
                  available_at=now, created_by_id=by_user_id)
    written = 0
    for task, part in zip(tasks, parts, strict=True):
        if part.amount:
            session.add(LedgerEntry(entry_key=f"task:{order.id}:maker:{task.maker_id}",
                                    maker_id=task.maker_id, kind=EntryKind.TASK_WORK,
                                    amount=part.amount, quantity=task.pieces_done, **common))
            written += 1
    if fee.amount:
        session.add(LedgerEntry(entry_key=f"task:{order.id}:platform",
                                kind=EntryKind.COMMISSION, amount=fee.amount,
                                quantity=made, **common))
        written += 1
    session.flush()
    session.refresh(order)
    return written


def booked_total(session: Session, order_id: int) -> int:
    """Everything booked for the task order (members' pay and the platform's fee)."""
    return int(session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.task_order_id == order_id)).one())


@dataclass(frozen=True)
class MemberProgress:
    """One member's part of a task order, as their dashboard says it."""

    order: TaskOrder
    task: TaskOrderTask
    workshop: Workshop
    pay: int          # booked, or what the pieces made so far will bring
    booked: bool


def member_progress(session: Session, maker_id: int) -> list[MemberProgress]:
    """The maker's task orders, open ones first, newest first: pieces made and pay."""
    rows = session.exec(select(TaskOrder, TaskOrderTask, Workshop).join(
        TaskOrderTask, TaskOrderTask.task_order_id == TaskOrder.id).join(
        Workshop, Workshop.id == TaskOrder.workshop_id).where(
        TaskOrderTask.maker_id == maker_id,
        TaskOrder.status.in_([TaskOrderStatus.ACCEPTED, TaskOrderStatus.DELIVERED]))
        .order_by(TaskOrder.status, TaskOrder.id.desc()).limit(20)).all()
    booked = dict(session.exec(select(LedgerEntry.task_order_id, LedgerEntry.amount).where(
        LedgerEntry.maker_id == maker_id, LedgerEntry.kind == EntryKind.TASK_WORK,
        LedgerEntry.task_order_id.in_([o.id for o, _t, _w in rows] or [0]))).all())
    progress = []
    for order, task, workshop in rows:
        if order.status == TaskOrderStatus.DELIVERED:
            pay, is_booked = int(booked.get(order.id, 0)), True
        else:
            rate = commission_rate(session, product_id=None, workshop_id=order.workshop_id)
            pay = split_task_pay(Money(task.pieces_done * order.price_per_piece_amount),
                                 rate_basis_points=rate, pieces=[1])[1][0].amount
            is_booked = False
        progress.append(MemberProgress(order, task, workshop, pay, is_booked))
    return progress


def pieces_made(session: Session, orders) -> dict[int, int]:
    """Pieces made so far, by task order id."""
    ids = [o.id for o in orders]
    return {order_id: int(made) for order_id, made in session.exec(
        select(TaskOrderTask.task_order_id, func.sum(TaskOrderTask.pieces_done))
        .where(TaskOrderTask.task_order_id.in_(ids or [0]))
        .group_by(TaskOrderTask.task_order_id)).all()}


def booked_by_maker(session: Session, order_id: int) -> dict[int | None, int]:
    """What was booked for the task order, by maker (None: the platform's fee)."""
    return {maker_id: int(amount) for maker_id, amount in session.exec(
        select(LedgerEntry.maker_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.task_order_id == order_id)
        .group_by(LedgerEntry.maker_id)).all()}


def task_work_split(session: Session, maker_id: int, period) -> tuple[int, int]:
    """(the maker's task-order pay, their part of those orders' platform fee) booked in
    `period`, for the month's "how it adds up": each order's fee is split between its
    members in proportion to their pay (largest remainder), as a shared line's is."""
    mine = dict(session.exec(select(LedgerEntry.task_order_id, LedgerEntry.amount).where(
        LedgerEntry.maker_id == maker_id, LedgerEntry.kind == EntryKind.TASK_WORK,
        LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end)).all())
    if not mine:
        return 0, 0
    fee = 0
    rows = session.exec(select(LedgerEntry.task_order_id, LedgerEntry.maker_id,
                               LedgerEntry.amount).where(
        LedgerEntry.task_order_id.in_(list(mine)))).all()
    for order_id, my_part in mine.items():
        platform = sum(a for o, m, a in rows if o == order_id and m is None)
        others = sum(a for o, m, a in rows if o == order_id and m not in (None, maker_id))
        if platform and my_part + others:
            fee += Money(platform).allocate([my_part, others])[0].amount
    return sum(mine.values()), fee
