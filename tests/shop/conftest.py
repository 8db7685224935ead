"""Shop fixtures: mail threads and the SMTP server (localstripe is in tests/conftest.py)."""

from __future__ import annotations

import pytest

# Shared with the browser journeys, so they live in tests/conftest.py (one localstripe
# per process); shop tests import these two from here.
from tests.conftest import WEBHOOK_SECRET, wait_for  # noqa: F401


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
