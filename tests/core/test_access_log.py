"""Log lines keep no secret link, query string, e-mail address or client address."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.access_log import RedactingFilter, redact_path, redact_text
from core.config import PROJECT_ROOT


@pytest.mark.parametrize(("path", "logged"), [
    ("/orders/q8Zk3_abc-DEF/pay?email=a@b.cn", "/orders/:token/pay"),
    ("/orders/abc", "/orders/:token"),
    ("/orders/x/card-result", "/orders/:token/card-result"),
    ("/downloads/MQ.Z2xhbmQ.abc-DEF12", "/downloads/:token"),
    ("/calendar/host/kkkkk.ics", "/calendar/host/:token.ics"),
    ("/account/password/reset/IjEi.Zk3.ab", "/account/password/reset/:token"),
    ("/password/reset/IjEi", "/password/reset/:token"),
    ("/someday/AbCdEfGhIjKlMnOpQr12", "/someday/:token"),
    ("/someday/buyer@example.cn", "/someday/:email"),
    ("/products/hand-woven-bamboo-basket-2026", "/products/hand-woven-bamboo-basket-2026"),
    ("/operator/orders/GF-20261207-0001", "/operator/orders/GF-20261207-0001"),
    ("/live/basket/events?last=5", "/live/basket/events"),
    ("/a\nforged line", "/a\\x0aforged line"),
])
def test_secret_segments_and_query_strings_are_left_out(path, logged):
    assert redact_path(path) == logged


def test_an_error_line_keeps_no_client_address_or_link():
    text = redact_text("Invalid request from ip=10.1.2.3: Invalid HTTP request line: "
                       "'GET /orders/secret?email=a@b.cn HTTP/1.1'")
    assert "10.1.2.3" not in text and "secret" not in text and "a@b.cn" not in text
    assert "/orders/:token" in text


def test_the_apps_own_lines_are_redacted():
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "Exception on %s [%s]",
                               ("/orders/secret-token/pay", "GET"), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "Exception on /orders/:token/pay [GET]"


def _print_config(**env) -> str:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("REDIS_URL", "WEB_CONCURRENCY", "PORT", "HOST")}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
         "--print-config", "app:app"], cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**environment, **env}, timeout=120)
    return result.stdout + result.stderr


def test_one_worker_without_redis_one_per_core_with_it_and_overrides():
    assert "\nworkers                            = 1\n" in _print_config()
    cores = os.cpu_count()
    assert f"\nworkers                            = {cores}\n" in _print_config(
        REDIS_URL="redis://127.0.0.1:6379/0")
    printed = _print_config(WEB_CONCURRENCY="3", PORT="9123", HOST="127.0.0.1")
    assert "\nworkers                            = 3\n" in printed
    assert "['127.0.0.1:9123']" in printed
    assert "logger_class                       = core.access_log.RedactingLogger" in printed


def test_a_malformed_port_is_named():
    assert "PORT must be a whole number from 1 to 65535, got 'eighty'" in _print_config(
        PORT="eighty")
