"""`make run` serves the address that mails and calendar feeds link to."""

import os
import shutil
import subprocess

import pytest

from core.config import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _serve_line(*arguments: str, base_url: str | None = None) -> str:
    env = {key: value for key, value in os.environ.items() if key != "BASE_URL"}
    if base_url:
        env["BASE_URL"] = base_url
    # -n prints the recipes without running them.
    printed = subprocess.run(
        ["make", "-n", "run", *arguments], cwd=PROJECT_ROOT, capture_output=True,
        text=True, check=True, env=env).stdout
    return next(line for line in printed.splitlines() if "gunicorn" in line)


def test_make_run_links_to_the_port_it_serves():
    line = _serve_line("PORT=5123")
    assert "--bind 127.0.0.1:5123" in line
    assert "BASE_URL=http://127.0.0.1:5123 " in line


def test_make_run_keeps_a_base_url_given_to_it():
    line = _serve_line("PORT=5123", base_url="https://shop.example.cn")
    assert "BASE_URL=https://shop.example.cn " in line
