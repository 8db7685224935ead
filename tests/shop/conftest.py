"""Shop fixtures: a shop with stock, and localstripe wired to the app for webhooks."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.shop.localstripe_server import LocalStripe

WEBHOOK_SECRET = "whsec_test_gongfang_shop"


@pytest.fixture(scope="session")
def localstripe_server():
    """localstripe on 127.0.0.1, in memory only (its aiohttp app can start only once)."""
    server = LocalStripe().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def localstripe(localstripe_server):
    """The running localstripe, emptied and with no webhooks, for one test."""
    localstripe_server.reset()
    try:
        yield localstripe_server
    finally:
        localstripe_server.reset()


@pytest.fixture
def stripe_config(app_config, localstripe):
    """Turn card payments on, pointed at localstripe (use before `app`)."""
    app_config.update({
        "STRIPE_SECRET_KEY": "sk_test_gongfang",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_gongfang",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe.url,
        "STRIPE_JS_URL": f"{localstripe.url}/js.stripe.com/v3/",
    })
    return app_config


@pytest.fixture
def stripe_webhooks(stripe_config, localstripe, live_server):
    """localstripe delivers its signed events to the app served on 127.0.0.1."""
    body = json.dumps({"url": f"{live_server.url}/stripe/webhook",
                       "secret": WEBHOOK_SECRET}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback localstripe
        f"{localstripe.url}/_config/webhooks/gongfang", data=body,
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200
    return live_server


def wait_for(check, timeout=15.0):
    """Poll `check()` until it is truthy (webhooks arrive a second after the event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


@pytest.fixture
def shop_smtp_server(smtp_server):
    """The shared real SMTP server (tests/conftest.py), under the name the shop tests use."""
    return smtp_server


@pytest.fixture(autouse=True)
def _mail_threads_finish(request):
    """Let order mail threads finish before the test's database goes away."""
    import threading

    # Build the app (after any fixture that changes its settings) before this fixture,
    # so that this one tears down first, while the app and its database still live.
    for name in ("stripe_webhooks", "stripe_config", "smtp_config", "app"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("mail-"):
            thread.join(timeout=30)
