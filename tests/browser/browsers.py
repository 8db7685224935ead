"""Finding Debian's Chromium and axe-core, and saying clearly why a browser test cannot run.

Nothing here downloads a browser: Playwright drives the system Chromium through
`executable_path`. REQUIRE_BROWSER=1 (set by CI) turns every "cannot run" into a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# The flags from ACCESSIBILITY.md that work offline here, plus --disable-quic.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
NPM_AXE = PROJECT_ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


def browser_required() -> bool:
    """True when a missing browser or axe must fail the run (CI sets REQUIRE_BROWSER=1)."""
    return os.environ.get("REQUIRE_BROWSER") == "1"


def cannot_run(reason: str):
    """Skip with a visible reason, or fail when REQUIRE_BROWSER=1."""
    if browser_required():
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def chromium_problem() -> str | None:
    """Why the system Chromium cannot be used, or None when it can."""
    path = Path(CHROMIUM)
    if not path.exists():
        return (f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
                "(or set CHROMIUM_PATH)")
    if not os.access(path, os.X_OK):
        return f"Chromium at {CHROMIUM} is not executable"
    return None


def axe_source() -> tuple[Path, str] | None:
    """(axe.min.js, a description): npm's axe-core first, then a Python wrapper's."""
    candidates = []
    if os.environ.get("AXE_CORE_JS"):
        candidates.append(Path(os.environ["AXE_CORE_JS"]))
    candidates.append(NPM_AXE)
    try:
        import axe_playwright_python

        candidates.append(Path(axe_playwright_python.__file__).parent / "axe.min.js")
    except ImportError:
        pass
    for path in candidates:
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                head = handle.read(200)
            match = re.search(r"axe v(\d+\.\d+\.\d+)", head)
            version = match.group(1) if match else "unknown version"
            return path, f"axe-core {version} from {path}"
    return None
