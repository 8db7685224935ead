"""Real-browser fixtures: Debian's Chromium through Playwright, the demo shop served for real.

- `browser`: one Chromium for the whole run (sync Playwright, started once per session);
  `new_page(width=..., locale=...)` gives a fresh context (cookies, storage) per call.
- `app` / `live_server` (journeys): the app of tests/conftest.py with CSRF switched ON and
  the demo data loaded, on a fresh SQLite file or PostgreSQL schema per test.
- `gate_server` (accessibility gate): one demo shop per database for the whole run, never
  written to except by failed (400) form submits, so the many page visits share it.
Chromium missing -> the tests skip with the reason; REQUIRE_BROWSER=1 makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.browser import csp
from tests.browser.browsers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    axe_source,
    cannot_run,
    chromium_problem,
)
from tests.browser.helpers import Screenshots, browser_locale, set_language, sign_in
from tests.conftest import BACKENDS, DEFAULT_POSTGRES, _migrate

# Demo accounts the gate and journeys sign in as (password: core.demo.DEMO_PASSWORD).
ROLE_ACCOUNTS = {
    "shopper": "shopper@demo.gongfang.cn",
    "maker": "knot1@demo.gongfang.cn",
    "host": "host.yang@demo.gongfang.cn",
    "operator": "operator@demo.gongfang.cn",
    "stall": "cart1@demo.gongfang.cn",  # sells at the metro cart (/stall)
    "interpreter": "interp.li@demo.gongfang.cn",  # sign-language host (/host/schedule)
}

# Signed-out visitors with something in the session, for the cart and checkout pages.
CART_GUEST = "cart-guest"
CHECKOUT_GUEST = "checkout-guest"
CART_PRODUCT = "/products/pankou-plum-set"


def fill_cart(page) -> None:
    """Put the demo's plum-knot set in the cart through the product page's form."""
    page.goto(CART_PRODUCT)
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/cart")


def fill_checkout(page) -> None:
    """Answer the checkout questions: a guest, pick-up at the metro cart, pay offline."""
    page.goto("/checkout/contact")
    page.locator("#name").fill("测试顾客")
    page.locator("#email").fill("guest@example.cn")
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url("**/checkout/delivery")
    page.locator("input[name=method][value=pickup]").check()
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url("**/checkout/pickup")
    page.locator("input[name=point][value=metro-gulou]").check()
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url("**/checkout/payment")
    page.locator("input[name=method][value=offline]").check()
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url("**/checkout/check")


# --- Browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_url():
    """Where pages load axe-core from: npm's copy (`make setup`) or the Python wrapper's.

    A tiny static server on 127.0.0.1 with long cache headers, so that each browser
    context compiles the script once rather than after every navigation.
    """
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    found = axe_source()
    if found is None:
        cannot_run("axe-core not found: run `make setup` (npm install axe-core) or install "
                   "axe-playwright-python")
    path, description = found

    class Handler(SimpleHTTPRequestHandler):
        def end_headers(self):
            self.send_header("Cache-Control", "public, max-age=86400, immutable")
            super().end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Handler, directory=str(path.parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"\naccessibility gate uses {description}")
    try:
        yield f"http://127.0.0.1:{server.server_port}/{path.name}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, launched once; never a browser Playwright downloads itself."""
    problem = chromium_problem()
    if problem:
        cannot_run(problem)
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                  args=CHROMIUM_ARGS)
        except Error as exc:
            cannot_run(f"Chromium at {CHROMIUM} did not start: {exc}")
        chromium.new_context = csp.watched_new_context(chromium.new_context)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def no_csp_violation():
    """Fail the test if any page it drove reported a Content-Security-Policy violation."""
    csp.VIOLATIONS.clear()
    yield
    found, csp.VIOLATIONS[:] = list(csp.VIOLATIONS), []
    if found:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context: `new_page(base_url, width=, locale=, state=)`."""
    contexts = []

    def open_page(base_url: str, *, width: int = 1280, locale: str | None = None,
                  storage_state: dict | None = None, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      storage_state=storage_state, base_url=base_url,
                                      locale=browser_locale(locale))
        context.set_default_timeout(15_000)
        contexts.append(context)
        if locale:
            set_language(context, base_url, locale)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shots(request) -> Screenshots:
    """Screenshots for this test under test-artifacts/screenshots/<test>/."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return Screenshots(SCREENSHOTS / request.node.module.__name__.rsplit(".", 1)[-1] / name)


def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.rglob("*.png")):
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"Screenshots of the journeys and gate: {SCREENSHOTS}")


# --- Databases with the demo shop ----------------------------------------------------


def _load_demo(app) -> None:
    from core.demo import load_demo

    with app.app_context():
        load_demo()


def _app_settings(url: str, folder: Path) -> dict:
    return {
        "DATABASE_URL": url,
        "TESTING": False,
        "SECRET_KEY": "browser-test-secret-" + "x" * 32,
        "INSTANCE_DIR": str(folder / "instance"),
        "MEDIA_DIR": str(folder / "media"),
        "MAIL_DIR": str(folder / "mail"),
        "SMTP_HOST": None,
        "WTF_CSRF_ENABLED": True,  # the real forms, tokens and all
        "SERVER_NAME": None,
    }


def _copy_demo_sqlite(template: Path, database: Path, media_dir: str | Path) -> None:
    """The demo database file and, beside it, the product photos it refers to."""
    shutil.copyfile(template, database)
    shutil.copytree(template.parent / "media", media_dir, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def demo_sqlite_template(sqlite_template, tmp_path_factory) -> Path:
    """A migrated SQLite file with the demo shop loaded once (hashing 30 passwords is slow);
    its photos are under `media/` beside it."""
    from app import create_app

    folder = tmp_path_factory.mktemp("demo-template")
    path = folder / "demo.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(_app_settings(f"sqlite:///{path}", folder))
    engine = app.extensions["database"].engine
    _load_demo(app)
    engine.dispose()
    return path


def _schema_of(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1].split("&", 1)[0]


def _copy_demo_postgres(template: dict, url: str, media_dir: str | Path) -> None:
    """Copy the demo's rows from the template schema into the (empty, migrated) schema
    of `url`, parents first, then move each id sequence past the copied ids; and the
    product photos. Loading the demo afresh took 15-45 s a test (30 password hashes,
    image renditions); copying rows within the server takes well under one."""
    from psycopg import sql
    from sqlmodel import SQLModel

    import models_registry  # noqa: F401 - every table in the metadata

    source, target = template["schema"], _schema_of(url)
    server = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)
    with psycopg.connect(server) as connection:
        # Triggers (the product's search tokens) name tables as the app does, unqualified.
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(target)))
        # The migrations' seeded rows (the pick-up stalls) come with the demo's copy.
        connection.execute(sql.SQL("DELETE FROM {}").format(
            sql.Identifier(target, "sales_point")))
        for table in SQLModel.metadata.sorted_tables:
            columns = [sql.Identifier(row[0]) for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
                (source, table.name))]
            names = sql.SQL(", ").join(columns)
            connection.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                sql.Identifier(target, table.name), names, names,
                sql.Identifier(source, table.name)))
            qualified = sql.Identifier(target, table.name).as_string(connection)
            if sql.Identifier("id") in columns and connection.execute(
                    "SELECT pg_get_serial_sequence(%s, 'id')", (qualified,)).fetchone()[0]:
                connection.execute(sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "(SELECT COALESCE(max(id), 0) + 1 FROM {}), false)").format(
                        sql.Identifier(target, table.name)), (qualified,))
    shutil.copytree(template["media"], media_dir, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def demo_postgres_template(tmp_path_factory):
    """A PostgreSQL schema with the demo shop loaded once for the run, and its photos
    (None when PostgreSQL is not reachable: the tests that need it skip)."""
    from app import create_app

    with _postgres_schema() as url:
        if url is None:
            yield None
            return
        folder = tmp_path_factory.mktemp("demo-postgres-template")
        app = create_app(_app_settings(url, folder))
        engine = app.extensions["database"].engine
        _load_demo(app)
        engine.dispose()
        yield {"schema": _schema_of(url), "media": folder / "media"}


@pytest.fixture
def app_config(app_config) -> dict:
    """Browser journeys use the real CSRF tokens."""
    return {**app_config, "WTF_CSRF_ENABLED": True, "TESTING": False}


@pytest.fixture
def app(app_config, request):
    """The app on a fresh database holding the demo shop (served by `live_server`)."""
    from app import create_app

    url = str(app_config["DATABASE_URL"])
    if url.startswith("sqlite:///"):
        _copy_demo_sqlite(request.getfixturevalue("demo_sqlite_template"),
                          Path(url.removeprefix("sqlite:///")), app_config["MEDIA_DIR"])
    else:
        _copy_demo_postgres(request.getfixturevalue("demo_postgres_template"), url,
                            app_config["MEDIA_DIR"])
    application = create_app(app_config)
    # core.db's `db` is one object per process: the next create_app() replaces its engine,
    # so keep this app's own engine to dispose of it.
    engine = application.extensions["database"].engine
    yield application
    engine.dispose()


@contextlib.contextmanager
def _postgres_schema():
    """A migrated PostgreSQL schema of the gate's own, dropped afterwards (or None)."""
    server = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)
    try:
        psycopg.connect(server, connect_timeout=3).close()
    except psycopg.Error:
        yield None
        return
    schema = f"gf_browser_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    base = server.replace("postgresql://", "postgresql+psycopg://", 1)
    separator = "&" if "?" in base else "?"
    try:
        url = f"{base}{separator}options=-csearch_path%3D{schema}"
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass
class DemoServer:
    """A demo shop served on 127.0.0.1, with sample ids for the routes that need them.

    `page(browser, role, locale)` opens a tab in a browser context kept for that role and
    language (signed in once through the real form), so the gate's many visits share
    cookies and the compiled axe-core.
    """

    backend: str
    url: str
    app: object
    samples: dict
    browser: object
    _contexts: dict = field(default_factory=dict)

    def page(self, role: str | None, locale: str, width: int):
        key = (role, locale)
        if key not in self._contexts:
            from core.demo import DEMO_PASSWORD

            context = self.browser.new_context(base_url=self.url,
                                               locale=browser_locale(locale))
            context.set_default_timeout(15_000)
            if role in ROLE_ACCOUNTS:
                sign_page = context.new_page()
                sign_in(sign_page, self.url, ROLE_ACCOUNTS[role], DEMO_PASSWORD)
                sign_page.close()
            set_language(context, self.url, locale)
            if role in (CART_GUEST, CHECKOUT_GUEST):
                fill_page = context.new_page()
                fill_cart(fill_page)
                if role == CHECKOUT_GUEST:
                    fill_checkout(fill_page)
                fill_page.close()
            self._contexts[key] = context
        page = self._contexts[key].new_page()
        page.set_viewport_size({"width": width, "height": 900})
        return page

    def close(self) -> None:
        for context in self._contexts.values():
            context.close()


def demo_samples(app) -> dict:
    """Ids and tokens from the demo data for routes with parameters."""
    from datetime import timedelta

    from sqlmodel import select

    from accounts.auth import make_reset_token
    from accounts.models import User, Workshop
    from catalog.models import Product
    from core.db import db, utcnow
    from income.models import SalesPoint
    from income.stall_days import business_day
    from livestream.models import LiveSession
    from shop.models import Order

    with app.test_request_context(), db.transaction(write=False) as session:
        maker = session.exec(select(User).where(User.email == ROLE_ACCOUNTS["maker"])).one()
        shopper = session.exec(select(User).where(User.email == ROLE_ACCOUNTS["shopper"])).one()
        workshop = session.exec(select(Workshop).where(Workshop.slug == "hexin-pankou")).one()
        studio = session.exec(select(Workshop).where(Workshop.slug == "canyi-studio")).one()
        product = session.exec(select(Product).where(Product.slug == "pankou-plum-set")).one()
        order = session.exec(select(Order).order_by(Order.id)).first()
        point = session.exec(select(SalesPoint).where(
            SalesPoint.slug == "metro-gulou")).one()
        live = session.exec(select(LiveSession).where(
            LiveSession.slug == "pankou-evening")).one()
        return {"user_id": maker.id, "workshop_id": workshop.id, "studio_id": studio.id,
                "reset_token": make_reset_token(shopper), "product_id": product.id,
                "order_token": order.public_token, "order_number": order.number,
                "point_id": point.id, "session_id": live.id,
                # The demo cart's closed day (income/demo.py).
                "yesterday": (business_day() - timedelta(days=1)).isoformat(),
                "month": utcnow().strftime("%Y-%m"),
                # The demo's 2,000-button task order (income/task_order_demo.py).
                "task_order_id": _demo_task_order(session, workshop.id)}


def _demo_task_order(session, workshop_id: int) -> int:
    from sqlmodel import select

    from income.task_order_models import TaskOrder

    return session.exec(select(TaskOrder.id).where(TaskOrder.workshop_id == workshop_id)
                        .order_by(TaskOrder.id)).first()


def _serve(app) -> tuple[object, threading.Thread, str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module", params=BACKENDS)
def gate_server(request, tmp_path_factory, browser):
    """One demo shop per database for the gate's module (its browser contexts close
    before the browser does, hence `browser` here).

    Module scope, not session: core.db keeps one engine per process, so no other app may
    be created while this one serves; the gate's module never does.
    """
    from app import create_app

    folder = tmp_path_factory.mktemp(f"gate-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            path = folder / "gate.db"
            _copy_demo_sqlite(request.getfixturevalue("demo_sqlite_template"), path,
                              folder / "media")
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(_postgres_schema())
            if url is None:
                if os.environ.get("REQUIRE_POSTGRES") == "1":
                    pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable")
                pytest.skip("PostgreSQL is not reachable at TEST_DATABASE_URL")
            _copy_demo_postgres(request.getfixturevalue("demo_postgres_template"), url,
                                folder / "media")
        app = create_app(_app_settings(url, folder))
        engine = app.extensions["database"].engine  # see `app` above
        server, thread, base_url = _serve(app)
        demo = DemoServer(request.param, base_url, app, demo_samples(app), browser)
        try:
            yield demo
        finally:
            demo.close()
            server.shutdown()
            thread.join(timeout=5)
            engine.dispose()
