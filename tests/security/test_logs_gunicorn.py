"""The shop as it is served, `gunicorn -c gunicorn.conf.py app:app`, writes no secret or
personal detail on its stdout and stderr: access lines, gunicorn's own lines, the app's
lines and tracebacks. One journey with marked values (a registration, a failed sign-in,
a reset link used, a delivery address at checkout, a secret order link, query strings,
a malformed request, a database fault answered 500), then both streams searched.
On PostgreSQL, the database gunicorn serves in production.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.app_processes import ROOT, csrf_token, free_port, stop
from tests.conftest import wait_for
from tests.security.log_search import found
from tests.security.test_logs import (
    DISABILITY,
    EMAIL,
    NEW_PASSWORD,
    PASSWORD,
    PHONE,
    SECRET_KEY,
    STREET,
    WRONG_PASSWORD,
)
from tests.shop.helpers import make_shop


@pytest.fixture
def served(app, db_session, database_url, tmp_path):
    """gunicorn with the project's gunicorn.conf.py on a free port, a product to buy;
    its address, its mail folder and the files its stdout and stderr go to."""
    with db_session() as session:
        product, variant = make_shop(session, stock=5, price=3000)["items"][0]
        variant_id, product_page = variant.id, f"/products/{product.slug}"
    app.extensions["database"].engine.dispose()
    port = free_port()
    mail_dir = tmp_path / "served-instance" / "mail"
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "WEB_CONCURRENCY", "DATABASE_URL", "GUNICORN_CMD_ARGS")}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "HOST": "127.0.0.1",
                "PORT": str(port), "INSTANCE_DIR": str(tmp_path / "served-instance"),
                "MEDIA_DIR": str(tmp_path / "served-media"),
                "GONGFANG_ENV": "development", "EMBEDDED_SCHEDULER": "0"})
    out, err = tmp_path / "gunicorn.out", tmp_path / "gunicorn.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
             "app:app"], cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return process.poll() is not None
    try:
        assert wait_for(answers, timeout=60) and process.poll() is None, err.read_text()
        yield {"url": url, "mail": mail_dir, "out": out, "err": err, "variant": variant_id,
               "product_page": product_page,
               "process": process}
    finally:
        stop(process)


def _post(browser, url, path, data, *, form_page=None):
    page = browser.get(f"{url}{form_page or path}", timeout=10).text
    return browser.post(f"{url}{path}", data={**data, "csrf_token": csrf_token(page)},
                        allow_redirects=False, timeout=10)


def _rename_accounts_table(database_url, old, new):
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")
    engine.dispose()


# What gunicorn's logs hold is the subject, not the database: PostgreSQL only, the backend
# gunicorn serves in production (the pages' own tests run on both).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_gunicorn_writes_no_secret_or_personal_detail(served, database_url):
    url, browser = served["url"], requests.Session()
    assert _post(browser, url, "/account/register", {
        "display_name": "测试", "email": EMAIL, "phone": PHONE, "password": PASSWORD,
        "password_again": PASSWORD}).status_code == 302
    assert _post(browser, url, "/account/logout", {}, form_page="/").status_code == 302
    assert _post(browser, url, "/account/login", {"login": PHONE, "password": WRONG_PASSWORD}
                 ).status_code == 400
    assert _post(browser, url, "/account/password/forgot", {"email": EMAIL}).status_code == 200
    mail = email.message_from_bytes(
        wait_for(lambda: sorted(served["mail"].glob("*.eml")))[0].read_bytes(),
        policy=email.policy.default)
    reset = re.search(r"/account/password/reset/(\S+)", mail.get_content()).group(1)
    assert _post(browser, url, f"/account/password/reset/{reset}", {
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}).status_code == 302
    # A delivery address at checkout, and the order's secret page.
    assert _post(browser, url, "/cart/add", {"variant_id": served["variant"], "quantity": 1},
                 form_page=served["product_page"]).status_code == 302
    for path, data in (("/checkout/contact", {"name": "王小明", "email": EMAIL}),
                       ("/checkout/delivery", {"method": "delivery"}),
                       ("/checkout/address", {"province": "浙江省", "city": "宁波市",
                                              "district": "海曙区", "street": STREET,
                                              "phone": PHONE}),
                       ("/checkout/payment", {"method": "offline"})):
        assert _post(browser, url, path, data).status_code == 302, path
    check = browser.get(f"{url}/checkout/check", timeout=10).text
    fields = dict(re.findall(r'name="(idempotency_key|total_amount|csrf_token)"[^>]*'
                             r'value="([^"]*)"', check))
    placed = browser.post(f"{url}/checkout/place", data=fields, allow_redirects=False,
                          timeout=10)
    assert placed.status_code == 302
    order_token = placed.headers["Location"].split("/orders/")[1].split("/")[0]
    assert browser.get(f"{url}/orders/{order_token}", timeout=10).status_code == 200
    assert browser.get(f"{url}/orders/{order_token}/pay", timeout=10).status_code in (200, 404)
    # Query strings, a page that does not exist, a malformed request.
    assert browser.get(f"{url}/search", params={"q": PHONE, "email": EMAIL},
                       timeout=10).status_code in (200, 404)
    assert browser.get(f"{url}/orders/{PHONE}-{DISABILITY}", timeout=10).status_code == 404
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as raw:
        raw.sendall(f"GET /orders/{order_token}?phone={PHONE} HTTP/9.9\r\n\r\n".encode())
        assert b"400" in raw.recv(1000)
    # A database fault while serving: the accounts table is gone for a moment.
    _rename_accounts_table(database_url, "user_account", "user_account_away")
    try:
        fault = _post(requests.Session(), url, "/account/login",
                      {"login": PHONE, "password": WRONG_PASSWORD})
    finally:
        _rename_accounts_table(database_url, "user_account_away", "user_account")
    assert fault.status_code == 500
    assert PHONE not in fault.text and "Traceback" not in fault.text
    # gunicorn.conf.py keeps an idle connection 20 s, and a stopping worker waits for it.
    browser.close()
    stop(served["process"])

    written = served["out"].read_text() + served["err"].read_text()
    assert "/orders/:token" in written and "unhandled error on POST /account/login" in written
    assert found({"password": PASSWORD, "new password": NEW_PASSWORD,
                  "wrong password": WRONG_PASSWORD, "phone": PHONE, "e-mail": EMAIL,
                  "street": STREET, "disability": DISABILITY, "reset token": reset,
                  "order link": order_token, "secret key": SECRET_KEY,
                  "session cookie": browser.cookies.get("session") or SECRET_KEY},
                 written.splitlines()) == {}
