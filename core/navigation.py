"""The main navigation, built per role from what each package registers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app, request, url_for
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


def add_nav(endpoint: str, label, *, audience: str = ANYONE, order: int = 50) -> None:
    """Show a link to `endpoint` to `audience` (once per endpoint)."""
    if not any(e.endpoint == endpoint for e in _entries):
        _entries.append(NavEntry(endpoint, label, audience, order))


def nav_items() -> list[NavItem]:
    """The links the current reader should see, in order."""
    from accounts.access import current_roles

    signed_in = current_user.is_authenticated
    roles = frozenset(r.value for r in current_roles()) if signed_in else frozenset()
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
