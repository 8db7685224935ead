"""Crash safety: processes killed with SIGKILL in the middle of their work leave the
books whole. A gunicorn worker killed during a stream of checkouts and payments (real
gunicorn, two workers); the scheduler killed while it sends mail to a real SMTP server
and while it releases expired holds. Afterwards: no half-written order, every hold in
an order or released by the expiry job, stock + sold = what there was, every paid order
in the ledger, each checkout one order, no mail lost, none sent twice but the one the
server had accepted in the instant of the kill (again with its Message-ID)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import requests
import sqlalchemy as sa
from sqlmodel import func, select

from accounts.models import Role
from catalog.models import ProductVariant
from core.db import db, utcnow
from core.mail import OutboxMail, message_id
from core.scheduler import run_job
from income.models import EntryKind, LedgerEntry
from shop.models import (
    HoldStatus,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Payment,
    PaymentStatus,
    StockHold,
)
from tests.app_processes import (
    csrf_token,
    flask_command,
    signed_in,
    start_gunicorn,
    start_process,
    stop,
)
from tests.conftest import wait_for
from tests.core.mail_server import HeldMail, MailServer
from tests.factories import make_user
from tests.shop.helpers import make_shop, place
from tests.shop.http_buyers import NUMBER, place_prepared, prepare_buyer

STOCK, PRICE = 500, 4000
BUYERS, THREADS = 36, 6
OPERATOR = "crash-operator@example.cn"


def _test_app(url: str, tmp_path: Path):
    from app import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "c" * 40, "TESTING": True,
                       "INSTANCE_DIR": str(tmp_path / "test-instance"),
                       "MAIL_DIR": str(tmp_path / "test-mail"), "SMTP_HOST": None,
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


@pytest.fixture
def shop_app(database_url, tmp_path):
    app = _test_app(database_url, tmp_path)
    yield app
    app.extensions["events"].close()
    app.extensions["database"].engine.dispose()


def _read(app, read):
    with app.app_context(), db.transaction(write=False) as session:
        return read(session)


def check_books(session, variant_ids: list[int], start_stock: dict[int, int]) -> dict:
    """Every invariant a crash could break; the counts by hold status."""
    orders = session.exec(select(Order)).all()
    for order in orders:
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert lines, f"order {order.number} has no lines"
        assert order.total_amount == sum(line.line_total_amount for line in lines)
        for line in lines:
            assert line.line_total_amount == line.unit_price_amount * line.quantity
        holds = session.exec(select(StockHold).where(StockHold.order_id == order.id)).all()
        assert sorted((h.variant_id, h.quantity) for h in holds) == sorted(
            (line.variant_id, line.quantity) for line in lines), order.number
        payments = session.exec(select(Payment).where(Payment.order_id == order.id)).all()
        assert len(payments) == 1 and payments[0].amount == order.total_amount
        held = {h.status for h in holds}
        if order.payment_status == PaymentStatus.PAID:
            assert held == {HoldStatus.SOLD} and order.paid_amount == order.total_amount
            credited = session.exec(select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.order_id == order.id,
                LedgerEntry.kind.in_([EntryKind.SALE, EntryKind.COMMISSION]))).one()
            assert credited == order.paid_amount, f"{order.number} is not in the ledger"
        elif order.status == OrderStatus.CANCELLED:
            assert held == {HoldStatus.RELEASED}, order.number
            cancellations = session.exec(select(func.count()).where(
                OrderStatusChange.order_id == order.id,
                OrderStatusChange.to_value == OrderStatus.CANCELLED.value)).one()
            assert cancellations == 1, order.number
        else:
            assert held == {HoldStatus.HELD}, order.number
    counts = {}
    for variant_id in variant_ids:
        stock = session.get(ProductVariant, variant_id).stock
        by_status = dict(session.exec(select(StockHold.status, func.sum(StockHold.quantity))
                                      .where(StockHold.variant_id == variant_id)
                                      .group_by(StockHold.status)).all())
        held, sold = by_status.get(HoldStatus.HELD, 0), by_status.get(HoldStatus.SOLD, 0)
        assert stock + held + sold == start_stock[variant_id], (variant_id, stock, by_status)
        counts[variant_id] = {"stock": stock, **{str(k): v for k, v in by_status.items()}}
    return counts


def _expire_and_release(app) -> int:
    """Time moves past every unpaid hold; the expiry job runs."""
    with app.app_context(), db.transaction() as session:
        session.execute(sa.update(Order).where(Order.payment_status == PaymentStatus.PENDING)
                        .values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    return run_job(app, "release_expired_holds")


def _workers(master: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


# --- a gunicorn worker killed during checkouts ------------------------------------


class Stream:
    """Buyers over HTTP, each retrying after a cut connection as a browser user would
    (the same "place order" form again), and an operator marking some orders paid."""

    def __init__(self, url: str, variant_id: int) -> None:
        self.url, self.variant_id = url, variant_id
        self.lock = threading.Lock()
        self.placed: dict[str, str] = {}  # idempotency key -> order number
        self.cut = 0
        self.to_mark: list[str] = []
        self.marked: set[str] = set()
        self.done = threading.Event()

    def _cut(self) -> None:
        with self.lock:
            self.cut += 1

    def buyer(self) -> None:
        for _try in range(10):
            try:
                browser, fields = prepare_buyer(self.url, self.variant_id, 1)
                break
            except requests.RequestException:
                self._cut()  # nothing placed yet: start again with a fresh cart
        else:
            raise AssertionError("a buyer could not fill the cart in 10 tries")
        for _try in range(10):
            try:
                placed = place_prepared(browser, self.url, fields)
                if placed.status_code == 503:  # busy, the page says try again: do so
                    continue
                assert placed.status_code == 302, placed.text[:300]
                page = browser.get(f"{self.url}{placed.headers['Location']}", timeout=60)
                number = NUMBER.search(page.text).group(0)
            except requests.RequestException:
                self._cut()
                continue
            with self.lock:
                assert fields["idempotency_key"] not in self.placed
                self.placed[fields["idempotency_key"]] = number
                if len(self.placed) % 3 == 0:
                    self.to_mark.append(number)
            return
        raise AssertionError("a buyer could not place the order in 10 tries")

    def operator(self) -> None:
        browser = None
        while not (self.done.is_set() and not self.to_mark):
            with self.lock:
                number = self.to_mark.pop(0) if self.to_mark else None
            if number is None:
                time.sleep(0.05)
                continue
            was_cut = False
            for _try in range(10):
                try:
                    browser = browser or signed_in(self.url, OPERATOR)
                    page = browser.get(f"{self.url}/operator/orders/{number}", timeout=60)
                    # The form's fields carry its prefix, its CSRF token's name too.
                    answer = browser.post(
                        f"{self.url}/operator/orders/{number}/mark-paid", timeout=60,
                        data={"paid-amount": f"{PRICE / 100:.2f}", "paid-method": "cash",
                              "paid-csrf_token": csrf_token(page.text)})
                except requests.RequestException:
                    self._cut()
                    was_cut = True
                    continue
                # 409 only after a cut: the try that was cut had been saved.
                assert answer.status_code in ((200, 409) if was_cut else (200,)), \
                    answer.text[:300]
                self.marked.add(number)
                break


def test_killing_a_gunicorn_worker_during_checkouts_leaves_the_books_whole(
        shop_app, database_url, tmp_path):
    with shop_app.app_context(), db.transaction() as session:
        variant_id = make_shop(session, stock=STOCK, price=PRICE)["items"][0][1].id
        make_user(session, roles=(Role.OPERATOR,), email=OPERATOR)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "crash-" + "k" * 32,
           "INSTANCE_DIR": str(tmp_path / "instance"), "EMBEDDED_SCHEDULER": "0",
           "CATALOG_PAGE_CACHE_SECONDS": "0", "SMTP_HOST": ""}
    master, url = start_gunicorn(env, workers=2)
    try:
        stream = Stream(url, variant_id)
        operator = threading.Thread(target=stream.operator)
        operator.start()
        queue = list(range(BUYERS))
        errors = []

        def run():
            while True:
                with stream.lock:
                    if not queue:
                        return
                    queue.pop()
                try:
                    stream.buyer()
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        first_workers = _workers(master)
        for after, victim in zip((6, 18), first_workers, strict=True):  # mid-stream
            assert wait_for(lambda n=after: len(stream.placed) >= n or errors, timeout=120)
            os.kill(victim, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=300)
        stream.done.set()
        operator.join(timeout=120)
        assert not errors, errors
        assert len(_workers(master)) == 2  # the master replaced what was killed
        assert not set(first_workers) & set(_workers(master))
    finally:
        stop(master)
    print(f"{len(stream.placed)} orders, {len(stream.marked)} marked paid, "
          f"{stream.cut} requests cut by the kills")

    # Each checkout is one order, whatever was cut; the operator's payments all count.
    def orders(session):
        return {o.number: o.payment_status for o in session.exec(select(Order)).all()}

    placed = _read(shop_app, orders)
    assert sorted(placed) == sorted(stream.placed.values())
    assert len(placed) == BUYERS
    assert {n for n, status in placed.items() if status == PaymentStatus.PAID} == stream.marked
    counts = _read(shop_app, lambda s: check_books(s, [variant_id], {variant_id: STOCK}))
    assert counts[variant_id]["sold"] == len(stream.marked)
    assert counts[variant_id]["held"] == BUYERS - len(stream.marked)

    assert _expire_and_release(shop_app) == BUYERS - len(stream.marked)
    counts = _read(shop_app, lambda s: check_books(s, [variant_id], {variant_id: STOCK}))
    assert "held" not in counts[variant_id]
    assert counts[variant_id]["stock"] == STOCK - len(stream.marked)


# --- the scheduler killed in the middle of its jobs ---------------------------------


def _scheduler(env: dict, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return start_process(flask_command("scheduler"), env, stdout=out,
                             stderr=subprocess.STDOUT)


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _scheduler_env(database_url: str, tmp_path: Path, smtp: MailServer | None) -> dict:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "crash-" + "k" * 32,
           "INSTANCE_DIR": str(tmp_path / "instance"), "EMBEDDED_SCHEDULER": "0",
           # The least standby: a scheduler activates check (a third) + 1 s after taking
           # the lock, and these tests start one two or three times each.
           "SCHEDULER_STANDBY_SECONDS": "1"}
    if smtp is not None:
        env.update(SMTP_HOST=smtp.host, SMTP_PORT=str(smtp.port))
    return env


@pytest.mark.parametrize("when", ["before", "received"])
def test_killing_the_scheduler_while_it_sends_mail_loses_none(
        shop_app, database_url, tmp_path, when):
    """Killed while the server has not yet got mail 3 ("before"): every mail arrives
    once. Killed after the server accepted mail 3 but before the scheduler heard so
    ("received"): mail 3 arrives twice with one Message-ID, which is what at-least-once
    delivery costs at that instant; every other mail once."""
    addresses = [f"buyer{n}@example.cn" for n in range(1, 7)]
    with shop_app.app_context(), db.transaction() as session:
        for address in addresses:
            session.add(OutboxMail(to_address=address, subject="订单", body_text="您好"))
    server = MailServer()
    server.hold = HeldMail(3, when)
    server.start()
    log = tmp_path / "scheduler.log"
    env = _scheduler_env(database_url, tmp_path, server)
    scheduler = _scheduler(env, log)
    try:
        assert server.hold.reached.wait(60), log.read_text()
        _kill(scheduler)
        server.hold.go_on.set()

        def outbox(session):
            return {m.to_address: m for m in session.exec(select(OutboxMail)).all()}

        rows = _read(shop_app, outbox)
        assert [a for a in addresses if rows[a].sent_at] == addresses[:2]
        assert rows[addresses[2]].claimed_until is not None  # the dead process's claim

        scheduler = _scheduler(env, log)
        assert wait_for(lambda: all(_read(shop_app, outbox)[a].sent_at
                                    for a in addresses[3:]), timeout=60), log.read_text()
        # Its claim has not run out: the new scheduler leaves mail 3 alone.
        assert _read(shop_app, outbox)[addresses[2]].sent_at is None
        stop(scheduler)  # SIGTERM; started again below, it runs send_outbox at once
        with shop_app.app_context(), db.transaction() as session:  # CLAIM_SECONDS pass
            session.execute(sa.update(OutboxMail).where(OutboxMail.sent_at.is_(None))
                            .values(claimed_until=utcnow() - timedelta(seconds=1)))
        scheduler = _scheduler(env, log)
        assert wait_for(lambda: _read(shop_app, outbox)[addresses[2]].sent_at,
                        timeout=60), log.read_text()
    finally:
        stop(scheduler)
        server.stop()
    rows = _read(shop_app, outbox)
    with shop_app.app_context():
        for address in addresses:
            copies = server.to(address)
            expected = 2 if when == "received" and address == addresses[2] else 1
            assert len(copies) == expected, (address, len(copies))
            assert {c["Message-ID"] for c in copies} == {message_id(rows[address])}


EXPIRED, EACH = 120, 2


def test_killing_the_scheduler_while_it_releases_holds_half_cancels_nothing(
        shop_app, database_url, tmp_path):
    """120 expired orders; the scheduler is killed part-way through releasing them:
    on PostgreSQL inside one order's transaction (its stock row is locked by the test,
    so the order is already marked cancelled, uncommitted, when the kill comes), on
    SQLite between two orders. After a restart each is cancelled once, stock right."""
    with shop_app.app_context(), db.transaction() as session:
        first, blocked = (item[1].id for item in make_shop(session, stock=500, products=2)[
            "items"])
        ids = [place(session, [(blocked if n == 10 else first, EACH)]).id
               for n in range(EXPIRED)]
        session.execute(sa.update(Order).values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    start_stock = {first: 500, blocked: 500}
    postgres = database_url.startswith("postgresql")
    log = tmp_path / "scheduler.log"
    env = _scheduler_env(database_url, tmp_path, None)

    def cancelled(session):
        return session.exec(select(func.count()).where(
            Order.status == OrderStatus.CANCELLED)).one()

    mails_before = _read(shop_app, _mail_count)
    blocker = _lock_stock_row(database_url, blocked) if postgres else None
    scheduler = _scheduler(env, log)
    try:
        if postgres:
            # Orders 1-10 are done; order 11 waits for the stock row the test holds.
            assert wait_for(lambda: _waiting_on(database_url, blocker), timeout=60), \
                log.read_text()
            assert _read(shop_app, cancelled) == 10
        else:
            blocker = _write_lock_after(database_url, cancelled_orders=5)
            assert blocker is not None, log.read_text()
        _kill(scheduler)
        blocker.rollback()
        done = _read(shop_app, cancelled)
        assert 0 < done < EXPIRED
        # The kill left no order half-cancelled: each either done in full or untouched.
        _read(shop_app, lambda s: check_books(s, [first, blocked], start_stock))

        scheduler = _scheduler(env, log)
        assert wait_for(lambda: _read(shop_app, cancelled) == EXPIRED, timeout=60), \
            log.read_text()
    finally:
        stop(scheduler)
        if blocker is not None:
            blocker.close()
    counts = _read(shop_app, lambda s: check_books(s, [first, blocked], start_stock))
    assert counts == {first: {"stock": 500, "released": (EXPIRED - 1) * EACH},
                      blocked: {"stock": 500, "released": EACH}}

    # One "cancelled" mail per order, no more.
    assert _read(shop_app, _mail_count) == mails_before + EXPIRED
    assert run_job(shop_app, "release_expired_holds") == 0
    assert sorted(ids) == sorted(_read(shop_app, lambda s: s.exec(select(Order.id)).all()))


def _write_lock_after(database_url: str, *, cancelled_orders: int):
    """SQLite's write lock, taken between two of the job's orders once it has cancelled
    `cancelled_orders`. A bare connection polls every few milliseconds and then tries
    for the lock without SQLite's busy wait, whose growing sleeps would lose every gap
    between the job's transactions until the job is done."""
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0,
                              isolation_level=None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = blocker.execute("SELECT count(*) FROM shop_order WHERE status = ?",
                               [OrderStatus.CANCELLED.value]).fetchone()[0]
        if done >= cancelled_orders:
            try:
                blocker.execute("BEGIN IMMEDIATE")
                return blocker
            except sqlite3.OperationalError:  # "database is locked": the job writes
                continue
        time.sleep(0.002)
    blocker.close()
    return None


def _mail_count(session) -> int:
    return session.exec(select(func.count()).select_from(OutboxMail)).one()


def _plain_url(database_url: str) -> tuple[str, str]:
    url = sa.engine.make_url(database_url)
    schema = dict(url.query)["options"].split("=", 1)[1]
    return url.set(drivername="postgresql", query={}).render_as_string(
        hide_password=False), schema


def _lock_stock_row(database_url: str, variant_id: int):
    plain, schema = _plain_url(database_url)
    connection = psycopg.connect(plain, options=f"-csearch_path={schema}")
    connection.execute("SELECT stock FROM product_variant WHERE id = %s FOR UPDATE",
                       [variant_id])
    return connection


def _waiting_on(database_url: str, blocker) -> bool:
    """True once some session waits for a lock the blocker's session holds."""
    plain, _schema = _plain_url(database_url)
    with psycopg.connect(plain, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            [blocker.info.backend_pid]).fetchone()[0] > 0
