"""The task-order invariant, by a property test on both databases: whatever the split and
the order pieces are recorded in, the members' credits and the platform's fee add up to
pieces x price exactly, each member's credit follows their pieces, and booking twice
books nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from income import ledger
from income import task_orders as service
from income.models import EntryKind, LedgerEntry
from tests.factories import make_workshop
from tests.income.helpers import quick_user

PROPERTY = settings(max_examples=40, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@PROPERTY
@given(split=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=4)
       .filter(lambda parts: sum(parts) > 0),
       price=st.integers(min_value=1, max_value=99_999),
       rate=st.one_of(st.just(0), st.just(10000), st.integers(min_value=0, max_value=10000)),
       chunks=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=6))
def test_task_order_books_add_up_exactly_and_once(app, db_session, split, price, rate,
                                                  chunks):
    with app.test_request_context(), db_session() as session:
        makers = [quick_user(session) for _ in split]
        coordinator = quick_user(session)
        workshop = make_workshop(session, makers=makers, coordinator=coordinator)
        ledger.set_commission(session=session, rate_basis_points=rate,
                              workshop_id=workshop.id)
        order = service.request_task_order(
            session=session, workshop=workshop, organisation="公司", contact_name="陈",
            contact_email=None, contact_phone="057488886666", product="盘扣",
            quantity=sum(split), deadline=service.today_local() + timedelta(days=5),
            price_per_piece=price)
        service.accept(session=session, order=order, by_user_id=coordinator.id)
        service.set_split(session=session, order=order,
                          quantities={m.id: q for m, q in zip(makers, split, strict=True)})
        # Pieces arrive in chunks, member by member; a chunk past a task is refused and
        # changes nothing; whatever is left is recorded at the end.
        for index, chunk in enumerate(chunks):
            maker, quantity = makers[index % len(makers)], split[index % len(makers)]
            if not quantity:
                continue
            task = next(t for t in service.tasks_of(session, order.id)
                        if t.maker_id == maker.id)
            before = task.pieces_done
            try:
                service.record_pieces(session=session, order=order, maker_id=maker.id,
                                      pieces=chunk)
            except service.TaskOrderError:
                session.refresh(task)
                assert before + chunk > quantity and task.pieces_done == before
        for task in service.tasks_of(session, order.id):
            if task.pieces_done < task.quantity:
                service.record_pieces(session=session, order=order, maker_id=task.maker_id,
                                      pieces=task.quantity - task.pieces_done)
        written = service.deliver_and_book(session=session, order=order,
                                           by_user_id=coordinator.id)
        with pytest.raises(service.TaskOrderError):
            service.deliver_and_book(session=session, order=order, by_user_id=coordinator.id)
        entries = session.exec(select(LedgerEntry).where(
            LedgerEntry.task_order_id == order.id)).all()
        assert len(entries) == written
        assert sum(e.amount for e in entries) == sum(split) * price
        credits = {e.maker_id: e.amount for e in entries if e.kind == EntryKind.TASK_WORK}
        fee = sum(e.amount for e in entries if e.kind == EntryKind.COMMISSION)
        assert all(amount > 0 for amount in credits.values())
        makers_part = sum(split) * price - fee
        # Each member within a fen of their exact share of the makers' part.
        for maker, quantity in zip(makers, split, strict=True):
            exact = makers_part * quantity / sum(split)
            assert abs(credits.get(maker.id, 0) - exact) < 1
        # The fee within a fen of the rate, and never a member's credit twice.
        assert abs(fee - sum(split) * price * rate / 10000) < 1
        keys = session.exec(select(func.count(LedgerEntry.id.distinct())).where(
            LedgerEntry.task_order_id == order.id)).one()
        assert keys == len(entries) == len({e.entry_key for e in entries})
