"""Scheduled income job: last month's statement for every maker with entries."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import select

from core.db import db
from core.scheduler import register_job
from income import queries as q
from income.models import LedgerEntry, MonthlyStatement

logger = logging.getLogger(__name__)


def make_statements(period: q.Period) -> int:
    """One statement per maker for `period`; makers who already have one are skipped."""
    with db.transaction(write=False) as session:
        makers = session.exec(select(LedgerEntry.maker_id).where(
            LedgerEntry.maker_id.is_not(None), LedgerEntry.occurred_at < period.end)
            .distinct()).all()
    made = 0
    for maker_id in sorted(makers):
        with db.transaction() as session:
            if session.exec(select(MonthlyStatement.id).where(
                    MonthlyStatement.maker_id == maker_id,
                    MonthlyStatement.month == period.month_key)).first():
                continue
            figures = q.statement(session, maker_id, period)
            session.add(MonthlyStatement(
                maker_id=maker_id, month=period.month_key, opening_amount=figures["opening"],
                earned_amount=figures["earned"], paid_out_amount=figures["paid_out"],
                closing_amount=figures["closing"]))
            made += 1
    return made


@register_job("monthly_income_statements", "cron", day=1, hour=2, minute=0)
def monthly_income_statements(now: datetime | None = None) -> int:
    """On the 1st (02:00 UTC), statements for the month that has just ended."""
    made = make_statements(q.previous_month(q.this_month(now)))
    logger.info("made %d monthly statements", made)
    return made
