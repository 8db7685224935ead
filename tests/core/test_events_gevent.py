"""The in-process bus under gevent's monkey-patching (the planned gunicorn gevent worker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_under_gevent_every_one_of_500_subscriptions_gets_a_published_event():
    # A process of its own: monkey-patching cannot be undone in the test process.
    finished = subprocess.run(
        [sys.executable, "-W", "error", "-m", "tests.core.event_processes", "gevent-fanout",
         "500"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["patched"] is True
    assert result["received"] == 500
    assert result["connected_after"] == 0
