"""The image and compose files, checked as far as this machine can without Docker:
hadolint on the Dockerfile, shellcheck on the entry script, compose.yaml's services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from core.config import PROJECT_ROOT

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    # Both are dev dependencies (pyproject.toml), so a missing one is a broken setup.
    assert path.exists(), f"{name} is missing: pip install -e '.[dev]'"
    return str(path)


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([_tool("hadolint"), "--no-color", "Dockerfile"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_entry_script():
    result = subprocess.run([_tool("shellcheck"), "--shell=sh", "deploy/entrypoint.sh"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_serves_through_the_entry_script_and_never_migrates_in_web():
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/srv/gongfang/deploy/entrypoint.sh"]' in text
    assert 'CMD ["web"]' in text and "HEALTHCHECK" in text and "/healthz" in text
    assert "db-upgrade" not in text
    web = (PROJECT_ROOT / "deploy" / "entrypoint.sh").read_text().split("    web)")[1]
    assert "gunicorn.conf.py" in web.split(";;")[0] and "db-upgrade" not in web.split(";;")[0]


def test_compose_runs_migrate_once_before_web_and_scheduler():
    services = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())["services"]
    assert {"web", "scheduler", "migrate", "edge", "postgres", "redis"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    assert services["web"]["command"] == ["web"]
    assert services["scheduler"]["command"] == ["scheduler"]
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
