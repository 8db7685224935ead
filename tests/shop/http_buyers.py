"""Buyers over real HTTP (requests against live_server or gunicorn): fill the cart and
every checkout question, then place the order, as a browser does."""

from __future__ import annotations

import re

import requests

NUMBER = re.compile(r"GF\d{6}-[0-9A-Z]{6}")


def _csrf_token(browser: requests.Session, base: str) -> dict:
    # Flask-WTF's token belongs to the browser's session, so one from any form serves
    # every form; a test app with CSRF turned off renders none.
    page = browser.get(f"{base}/account/login", timeout=60).text
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return {"csrf_token": found.group(1)} if found else {}


def prepare_buyer(base: str, variant_id: int, quantity: int) -> tuple[requests.Session, dict]:
    """Fill the cart and every checkout question; return the 'place order' form."""
    browser = requests.Session()
    browser.cookies.set("lang", "en")
    token = _csrf_token(browser, base)
    add = browser.post(f"{base}/cart/add", data={"variant_id": variant_id,
                                                 "quantity": quantity, **token}, timeout=60)
    assert add.status_code == 200, add.text[:300]
    for path, answers in (("/checkout/contact", {"name": "买家", "email": "b@example.cn"}),
                          ("/checkout/pickup", {"point": "metro-gulou"}),
                          ("/checkout/payment", {"method": "offline"})):
        answered = browser.post(f"{base}{path}", data={**answers, **token}, timeout=60)
        assert answered.status_code == 200, answered.text[:300]
    page = browser.get(f"{base}/checkout/check", timeout=60).text
    fields = dict(re.findall(r'name="(idempotency_key|total_amount)"[^>]*value="([^"]*)"',
                             page))
    assert set(fields) == {"idempotency_key", "total_amount"}, page[:500]
    return browser, {**fields, **token}


def place_prepared(browser: requests.Session, base: str, fields: dict) -> requests.Response:
    """Press "place order" (no redirect followed: 302 placed, 409 sold out)."""
    return browser.post(f"{base}/checkout/place", data=fields,
                        headers={"Accept": "application/json"}, allow_redirects=False,
                        timeout=120)


def order_number(browser: requests.Session, base: str, placed: requests.Response) -> str:
    """The number the order page shows after a 302 from "place order"."""
    page = browser.get(f"{base}{placed.headers['Location']}" if placed.headers[
        "Location"].startswith("/") else placed.headers["Location"], timeout=60).text
    return NUMBER.search(page).group(0)
