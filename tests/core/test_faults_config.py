"""A missing or malformed DATABASE_URL or REDIS_URL stops flask and gunicorn with one
line naming the setting and what it expects: no traceback, no password, exit code 4."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT, ConfigError, load_config

BIN = Path(sys.executable).parent
PASSWORD = "hunter2-do-not-show"

BAD_SETTINGS = [
    ("DATABASE_URL", f"mysql://root:{PASSWORD}@db.example/shop", "sqlite:///"),
    ("DATABASE_URL", "postgresql://", "host and a database name"),
    ("DATABASE_URL", f"postgresql://u:{PASSWORD}@db.example:port/shop", "port"),
    ("DATABASE_URL", "sqlite:////nonexistent/dir/x.db", "/nonexistent/dir does not exist"),
    ("DATABASE_URL", "", "set but empty"),
    ("REDIS_URL", f"http://u:{PASSWORD}@x", "redis://host:port/db"),
    ("REDIS_URL", "redis://:bad port", "port that is not a number"),
    ("REDIS_URL", "redis://127.0.0.1:6379/zero", "database number"),
]


def _environment(tmp_path: Path, name: str, value: str) -> dict:
    env = {key: val for key, val in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "EMBEDDED_SCHEDULER"}}
    return {**env, "INSTANCE_DIR": str(tmp_path / "instance"),
            "SECRET_KEY": "config-fault-" + "k" * 40, name: value}


def _assert_one_clear_line(output: str, name: str, expected: str) -> None:
    lines = [line for line in output.splitlines() if "configuration error" in line]
    assert lines, output
    assert len(set(line.split(" CRITICAL ", 1)[1] for line in lines)) == 1, output
    assert name in lines[0] and expected in lines[0], lines[0]
    assert "Traceback" not in output, output
    assert PASSWORD not in output, output


@pytest.mark.parametrize("name, value, expected", BAD_SETTINGS)
def test_flask_command_stops_with_one_line(tmp_path, name, value, expected):
    result = subprocess.run([str(BIN / "flask"), "--app", "app", "routes"], cwd=PROJECT_ROOT,
                            env=_environment(tmp_path, name, value), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 4, result.stderr
    _assert_one_clear_line(result.stderr, name, expected)


@pytest.mark.parametrize("name, value, expected", [BAD_SETTINGS[0], BAD_SETTINGS[3],
                                                    BAD_SETTINGS[6]])
def test_gunicorn_with_the_shops_config_stops_before_any_worker(tmp_path, name, value,
                                                                expected):
    # As production runs it: the master checks the settings once and forks nothing.
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--chdir",
         str(PROJECT_ROOT), "-w", "2", "-b", "127.0.0.1:0", "app:app"],
        cwd=tmp_path, env=_environment(tmp_path, name, value), capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 4, result.stderr
    assert "Booting worker" not in result.stderr
    _assert_one_clear_line(result.stderr.replace("[CRITICAL]", " CRITICAL "), name, expected)


@pytest.mark.parametrize("name, value, expected", [BAD_SETTINGS[0], BAD_SETTINGS[3],
                                                    BAD_SETTINGS[6]])
def test_bare_gunicorn_stops_instead_of_rebooting_workers(tmp_path, name, value, expected):
    # Without the config file the worker's app says it once and the master stops ("App
    # failed to load"). One worker: with two failing at once gunicorn's master itself
    # can halt with a traceback and exit code 1 (seen in CI), which is gunicorn's race,
    # and the config file above is how the shop is run.
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--chdir", str(PROJECT_ROOT), "-w", "1", "-b",
         "127.0.0.1:0", "--control-socket", str(tmp_path / "gunicorn.ctl"), "app:app"],
        cwd=tmp_path, env=_environment(tmp_path, name, value), capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 4, result.stderr
    assert "App failed to load" in result.stderr
    _assert_one_clear_line(result.stderr, name, expected)


@pytest.mark.parametrize("name, value, expected", BAD_SETTINGS)
def test_create_app_raises_config_error(tmp_path, monkeypatch, name, value, expected):
    from app import create_app

    monkeypatch.setenv(name, value)
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=name) as info:
        create_app({"SECRET_KEY": "k" * 40})
    assert expected in str(info.value) and PASSWORD not in str(info.value)


@pytest.mark.parametrize("good", ["redis://127.0.0.1:6379/0", "rediss://:pw@redis.example:6380",
                                  "unix:///run/redis.sock", ""])
def test_good_redis_urls_are_accepted(tmp_path, good):
    config = load_config({"INSTANCE_DIR": str(tmp_path), "REDIS_URL": good})
    assert config["REDIS_URL"] == (good or None)


@pytest.mark.parametrize("good", ["postgresql://u@db.example/shop",
                                  "postgresql:///shop?host=/var/run/postgresql",
                                  "sqlite:///:memory:", "sqlite://"])
def test_good_database_urls_are_accepted(tmp_path, good):
    assert load_config({"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": good})["DATABASE_URL"]
