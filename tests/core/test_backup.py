"""Backups taken while the shop serves: real gunicorn, buyers and an operator in threads,
the real `flask backup` and `flask restore` commands; the restored shop holds every
order committed before the backup began, and every order in it is whole."""

from __future__ import annotations

import io
import json
import re
import resource
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import func, select

from accounts.models import Role
from catalog.media import add_image
from catalog.models import ProductVariant
from core.backup import file_sha256, referenced_media
from core.db import db
from income import ledger
from shop.models import (
    HoldStatus,
    Order,
    OrderIdempotencyKey,
    OrderLine,
    Payment,
    PaymentStatus,
    StockHold,
)
from tests.app_processes import (
    flask_command,
    signed_in,
    start_gunicorn,
    start_process,
    stop,
)
from tests.conftest import wait_for
from tests.factories import make_user
from tests.shop.helpers import make_shop
from tests.shop.http_buyers import order_number, place_prepared, prepare_buyer

STOCK = 500
PRICE = 3000
OPERATOR = "op-backup@example.cn"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
postgres_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _photo(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _env(config: dict, **extra) -> dict:
    return {"DATABASE_URL": config["DATABASE_URL"], "MEDIA_DIR": config["MEDIA_DIR"],
            "INSTANCE_DIR": config["INSTANCE_DIR"], "SECRET_KEY": config["SECRET_KEY"],
            "EMBEDDED_SCHEDULER": "0", "CATALOG_PAGE_CACHE_SECONDS": "0", **extra}


def _run(arguments, env, **options):
    process = start_process(flask_command(*arguments), env, stdout=-1, stderr=-1, text=True,
                            **options)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


@pytest.fixture
def shop_with_photos(app, db_session):
    """Two products with a photo each and plenty of stock; an operator."""
    with db_session() as session:
        made = make_shop(session, stock=STOCK, price=PRICE, products=2)
        operator = make_user(session, roles=(Role.OPERATOR,), email=OPERATOR)
        for (product, _variant), colour in zip(made["items"], ("red", "navy"), strict=True):
            add_image(session=session, user=operator, product=product,
                      data=_photo(colour), filename="photo.png", alt="盘扣", alt_en=None,
                      media_dir=app.config["MEDIA_DIR"])
        return [variant.id for _product, variant in made["items"]]


class Shoppers:
    """Buyers placing offline orders and an operator marking every other one paid, over
    HTTP until stopped; each success is noted with the moment its response came."""

    def __init__(self, url: str, variant_ids: list[int], buyers: int = 3):
        self.url, self.variant_ids = url, variant_ids
        self.stopping = threading.Event()
        self.placed: list[tuple[float, str, str]] = []   # (when, idempotency key, number)
        self.paid: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._buy, args=(n,)) for n in range(buyers)]
        self.threads.append(threading.Thread(target=self._mark_paid))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def _buy(self, n: int):
        try:
            while not self.stopping.is_set():
                variant_id = self.variant_ids[(n + len(self.placed)) % len(self.variant_ids)]
                browser, fields = prepare_buyer(self.url, variant_id, 1)
                response = place_prepared(browser, self.url, fields)
                assert response.status_code == 302, response.text[:300]
                self.placed.append((time.monotonic(), fields["idempotency_key"],
                                    order_number(browser, self.url, response)))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(exc))

    def _mark_paid(self):
        try:
            operator = signed_in(self.url, OPERATOR)
            done = 0
            while not self.stopping.is_set():
                if len(self.placed) <= done:
                    time.sleep(0.05)
                    continue
                number = self.placed[done][2]
                done += 2
                page = operator.get(f"{self.url}/operator/orders/{number}", timeout=60).text
                # The form has the prefix "paid", its CSRF field too.
                token = re.search(r'name="paid-csrf_token"[^>]*value="([^"]+)"', page)
                response = operator.post(
                    f"{self.url}/operator/orders/{number}/mark-paid", timeout=60, data={
                        "paid-amount": f"{PRICE // 100}.{PRICE % 100:02d}",
                        "paid-method": "cash", "paid-csrf_token": token.group(1)})
                assert response.status_code in (200, 302), response.text[:300]
                self.paid.append((time.monotonic(), number))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(exc))


def _check_restored_shop(url: str, *, before_keys, before_paid, variant_ids, media_dir):
    """Every order committed before the backup is there; every order there is whole."""
    from app import create_app

    restored = create_app({"DATABASE_URL": url, "SECRET_KEY": "r" * 40, "TESTING": True})
    try:
        with restored.app_context(), db.transaction(write=False) as session:
            keys = set(session.exec(select(OrderIdempotencyKey.key)).all())
            assert before_keys <= keys
            paid = set(session.exec(select(Order.number).where(
                Order.payment_status == PaymentStatus.PAID)).all())
            assert before_paid <= paid
            orders = session.exec(select(Order)).all()
            assert len(orders) == len(keys)
            for order in orders:
                lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
                assert lines and order.total_amount == sum(x.line_total_amount for x in lines)
                held = session.exec(select(func.sum(StockHold.quantity)).where(
                    StockHold.order_id == order.id)).one()
                assert held == sum(x.quantity for x in lines)
                payment = session.exec(select(Payment).where(Payment.order_id == order.id)).one()
                assert payment.amount == order.total_amount
                assert ledger.order_gap(session, order.id) == 0
                assert (order.payment_status == PaymentStatus.PAID) == (
                    order.paid_amount == order.total_amount)
            for variant_id in variant_ids:
                # Stock taken by holds plus what is left is what there was: a copy torn
                # between an order's hold and its stock would not add up.
                left = session.get(ProductVariant, variant_id).stock
                taken = session.exec(select(func.coalesce(func.sum(StockHold.quantity), 0)).where(
                    StockHold.variant_id == variant_id,
                    StockHold.status != HoldStatus.RELEASED)).one()
                assert left + taken == STOCK
        return len(orders)
    finally:
        restored.extensions["database"].engine.dispose()


@sqlite_only
def test_backup_during_checkouts_restores_every_committed_order(app_config, shop_with_photos,
                                                                tmp_path):
    server, url = start_gunicorn(_env(app_config))
    try:
        with Shoppers(url, shop_with_photos) as shoppers:
            assert wait_for(lambda: len(shoppers.placed) >= 6 or shoppers.errors, 60)
            began = time.monotonic()
            code, out, err = _run(["backup", "--out", str(tmp_path / "backups")],
                                  _env(app_config))
            ended = time.monotonic()
            during = sum(1 for when, _k, _n in shoppers.placed if began <= when <= ended)
            assert wait_for(lambda: sum(1 for w, _k, _n in shoppers.placed if w > ended) >= 3
                            or shoppers.errors, 60)
        assert not shoppers.errors, shoppers.errors
    finally:
        stop(server)
    assert code == 0, err
    print(f"backup took {ended - began:.2f} s with its start-up; {during} orders were "
          f"placed meanwhile; {out}")
    folder = next((tmp_path / "backups").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    copy = folder / manifest["database"]["file"]
    assert file_sha256(copy) == manifest["database"]["sha256"]
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert manifest["missing_media"] == []

    # A new place for the shop, made first as an operator would: the app refuses a
    # DATABASE_URL whose folder does not exist (a typo there must not start a new shop).
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    restored_env = {"DATABASE_URL": f"sqlite:///{restored_dir / 'shop.db'}",
                    "MEDIA_DIR": str(restored_dir / "media"),
                    "INSTANCE_DIR": str(restored_dir), "SECRET_KEY": "r" * 40}
    code, out, err = _run(["restore", "--from", str(folder)], restored_env)
    assert code == 0, err
    before_keys = {k for when, k, _n in shoppers.placed if when < began}
    before_paid = {n for when, n in shoppers.paid if when < began}
    found = _check_restored_shop(restored_env["DATABASE_URL"], before_keys=before_keys,
                                 before_paid=before_paid, variant_ids=shop_with_photos,
                                 media_dir=restored_dir / "media")
    assert found == manifest["database"]["tables"]["shop_order"] >= len(before_keys)
    # Every file the restored products show is there, byte for byte.
    names = referenced_media(restored_dir / "shop.db")
    assert len(names) == 2 * 2 * 2  # two photos, two widths, WebP and JPEG
    live_media = Path(app_config["MEDIA_DIR"])
    for name in names:
        assert (restored_dir / "media" / name).read_bytes() == (live_media / name).read_bytes()


def _content(database: Path) -> list[str]:
    # What the database holds, not its bytes: closing a connection may move pages from
    # the WAL file into the main file.
    with sqlite3.connect(database) as connection:
        return list(connection.iterdump())


@sqlite_only
def test_restore_refuses_a_database_with_data_unless_forced(app_config, shop_with_photos,
                                                            tmp_path):
    env = _env(app_config)
    code, _out, err = _run(["backup", "--out", str(tmp_path / "b")], env)
    assert code == 0, err
    folder = next((tmp_path / "b").iterdir())
    live = Path(app_config["DATABASE_URL"].removeprefix("sqlite:///"))
    before = _content(live)
    code, _out, err = _run(["restore", "--from", str(folder)], env)
    assert code != 0 and "already has data" in err and "--force" in err
    assert _content(live) == before
    code, out, err = _run(["restore", "--from", str(folder), "--force"], env)
    assert code == 0, err
    kept = next(live.parent.glob("*.before-restore-*"))
    assert "kept in" in out and str(kept) in out
    assert _content(kept) == before
    # A backup whose database file changed after it was written is refused.
    with (folder / "gongfang.db").open("r+b") as handle:
        handle.seek(5000)
        handle.write(b"\x00garbage")
    code, _out, err = _run(["restore", "--from", str(folder), "--force"], env)
    assert code != 0 and "SHA-256" in err
    code, _out, err = _run(["restore", "--from", str(tmp_path)], env)
    assert code != 0 and "not a backup" in err


@sqlite_only
def test_bad_places_give_a_clear_error_and_leave_nothing(app_config, shop_with_photos, tmp_path):
    env = _env(app_config)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    code, _out, err = _run(["backup", "--out", str(a_file)], env)
    assert code != 0 and "is a file, not a folder" in err
    code, _out, err = _run(["backup", "--out", str(a_file / "inside")], env)
    assert code != 0 and "cannot write backups in" in err and "Not a directory" in err
    assert a_file.read_text() == "not a folder"
    # The disk fills up part-way (no file may grow past 64 KiB, far below the database).
    full = tmp_path / "full" / "backups"

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    code, _out, err = _run(["backup", "--out", str(full)], env, preexec_fn=small_disk)
    assert code != 0 and "Error:" in err and "Traceback" not in err
    assert list((tmp_path / "full").iterdir()) == []


@postgres_only
def test_postgresql_is_pointed_to_pg_dump_and_its_media_copied(app_config, shop_with_photos,
                                                               tmp_path):
    env = _env(app_config)
    code, _out, err = _run(["backup", "--out", str(tmp_path / "b")], env)
    assert code != 0 and "pg_dump" in err
    assert not (tmp_path / "b").exists()
    code, out, err = _run(["backup", "--media-only", "--out", str(tmp_path / "b")], env)
    assert code == 0, err
    folder = next((tmp_path / "b").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"] is None and manifest["media"]["files"] == 8
    code, _out, err = _run(["restore", "--from", str(folder)], env)
    assert code != 0 and "pg_restore" in err
    restored_media = tmp_path / "restored-media"
    code, out, err = _run(["restore", "--from", str(folder), "--media-only"],
                          {**env, "MEDIA_DIR": str(restored_media)})
    assert code == 0, err
    assert len([p for p in restored_media.rglob("*") if p.is_file()]) == 8
