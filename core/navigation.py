"""The main navigation, built per role from what each package registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app, g, request, url_for
from flask_babel import get_locale
from flask_login import current_user

ANYONE = "anyone"
SIGNED_OUT = "signed_out"
SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy translated string
    audience: str  # ANYONE, SIGNED_OUT, SIGNED_IN or a role's value
    order: int


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


_entries: list[NavEntry] = []
# Audiences that are not roles, each with its test for the signed-in reader (a package
# registers it: shop says who runs a stall). Tested once per request, signed in only.
_audiences: dict[str, Callable[[], bool]] = {}


def add_audience(name: str, test: Callable[[], bool]) -> None:
    """Let links be shown to readers for whom `test()` is true (signed in)."""
    _audiences.setdefault(name, test)


def _reader_kinds() -> frozenset[str]:
    from accounts.access import current_roles

    if "nav_reader_kinds" not in g:
        kinds = {r.value for r in current_roles()}
        kinds.update(name for name, test in _audiences.items() if test())
        g.nav_reader_kinds = frozenset(kinds)
    return g.nav_reader_kinds


def add_nav(endpoint: str, label, *, audience: str = ANYONE, order: int = 50) -> None:
    """Show a link to `endpoint` to `audience` (once per endpoint)."""
    if not any(e.endpoint == endpoint for e in _entries):
        _entries.append(NavEntry(endpoint, label, audience, order))


def nav_items() -> list[NavItem]:
    """The links the current reader should see, in order."""
    signed_in = current_user.is_authenticated
    roles = _reader_kinds() if signed_in else frozenset()
    links = _links(current_app._get_current_object(), request.script_root,
                   str(get_locale()), signed_in, roles, len(_entries))
    path = request.path
    return [NavItem(url, label, path == url or (url != "/" and path.startswith(url)))
            for url, label in links]


@lru_cache(maxsize=256)
def _links(app: Flask, _script_root: str, _locale: str, signed_in: bool,
           roles: frozenset[str], _entry_count: int) -> tuple[tuple[str, str], ...]:
    # The same for every reader of one kind, in one language: built once, not on every
    # page (each link was a URL build and a translation).
    links = []
    for entry in sorted(_entries, key=lambda e: e.order):
        if entry.audience == SIGNED_OUT and signed_in:
            continue
        if entry.audience == SIGNED_IN and not signed_in:
            continue
        if entry.audience not in {ANYONE, SIGNED_OUT, SIGNED_IN} and entry.audience not in roles:
            continue
        links.append((url_for(entry.endpoint), str(entry.label)))
    return tuple(links)


def init_app(app: Flask) -> None:
    """Make `nav_items()` and `operator_links()` available to every template."""
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["reader_kinds"] = lambda: (
        _reader_kinds() if current_user.is_authenticated else frozenset())
    app.jinja_env.globals["operator_links"] = operator_links


_operator_links: list[NavEntry] = []


def add_operator_link(endpoint: str, label, *, order: int = 50) -> None:
    """List a section on the operator's dashboard."""
    if not any(e.endpoint == endpoint for e in _operator_links):
        _operator_links.append(NavEntry(endpoint, label, "operator", order))


def operator_links() -> list[NavItem]:
    """The sections other packages add to the operator's dashboard."""
    return [NavItem(url_for(e.endpoint), str(e.label), False)
            for e in sorted(_operator_links, key=lambda e: e.order)]
