"""Every page the accessibility gate visits, by endpoint, and the routes that are not pages.

When a package adds a GET route, add it to PAGES (how to reach it, as whom, and which
states to check: a failed submit, an opened menu or dialog) or, if it is no page, to
NOT_PAGES with the reason. tests/browser/test_gate_coverage.py fails until you do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

# --- States to check besides the page as loaded --------------------------------------


def submit_with_text_cleared(page: Page) -> None:
    """Empty every text box of the main form and send it: the GOV.UK error state."""
    form = page.locator("main form[method=post]").last
    fields = form.locator("input[type=text], input[type=email], input[type=tel], "
                          "input[type=password], input:not([type]), textarea")
    for index in range(fields.count()):
        fields.nth(index).fill("")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()


def submit_forgot_password(page: Page) -> None:
    """Ask for a reset link: the 'check your email' page."""
    page.locator("#email").fill("shopper@demo.gongfang.cn")
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page.locator("main form")).to_have_count(0)


@dataclass(frozen=True)
class State:
    """A state of the page reached by `act` from the page as loaded."""

    name: str
    act: Callable[[Page], None]


ERRORS = State("errors", submit_with_text_cleared)


@dataclass(frozen=True)
class Visit:
    """One URL to check: `path` may name demo samples ({user_id}, {workshop_id}...)."""

    name: str
    path: str
    role: str | None = None  # shopper, maker, host, operator; None = signed out
    status: int = 200
    states: tuple[State, ...] = ()

    def url(self, samples: dict) -> str:
        return self.path.format(**samples)


# Endpoint -> the visits that show each of its pages.
PAGES: dict[str, tuple[Visit, ...]] = {
    "catalog.home": (
        Visit("home", "/"),
        Visit("home-signed-in-operator", "/", role="operator"),
    ),
    "site.help_page": (Visit("help", "/help"),),
    "accounts.register": (Visit("register", "/account/register", states=(ERRORS,)),),
    "accounts.login": (Visit("login", "/account/login", states=(ERRORS,)),),
    "accounts.forgot_password": (
        Visit("forgot-password", "/account/password/forgot",
              states=(ERRORS, State("sent", submit_forgot_password))),
    ),
    "accounts.reset_password": (
        Visit("reset-password", "/account/password/reset/{reset_token}", states=(ERRORS,)),
        Visit("reset-link-invalid", "/account/password/reset/not-a-token", status=400),
    ),
    "accounts.account": (Visit("my-account", "/account/", role="shopper", states=(ERRORS,)),),
    "accounts.maker_profile": (
        Visit("maker-profile", "/account/maker-profile", role="maker", states=(ERRORS,)),
    ),
    "accounts.host_profile": (
        Visit("host-profile", "/account/host-profile", role="host", states=(ERRORS,)),
    ),
    "operator_accounts.dashboard": (Visit("operator", "/operator/", role="operator"),),
    "operator_accounts.users": (
        Visit("operator-users", "/operator/users", role="operator"),
        Visit("operator-users-search", "/operator/users?q=%E7%8E%8B", role="operator"),
    ),
    # No failed-submit state: its form has no text box, so any submit saves.
    "operator_accounts.user_detail": (
        Visit("operator-user", "/operator/users/{user_id}", role="operator"),
    ),
    "operator_accounts.workshops": (
        Visit("operator-workshops", "/operator/workshops", role="operator"),
    ),
    "operator_accounts.workshop_new": (
        Visit("operator-workshop-new", "/operator/workshops/new", role="operator",
              states=(ERRORS,)),
    ),
    "operator_accounts.workshop_detail": (
        Visit("operator-workshop", "/operator/workshops/{workshop_id}", role="operator",
              states=(ERRORS,)),
    ),
}

# Pages that belong to no endpoint of their own: the error pages.
ERROR_PAGES: tuple[Visit, ...] = (
    Visit("error-404", "/no-such-page", status=404),
    Visit("error-403", "/operator/", role="shopper", status=403),
)

# GET routes that are not pages a person reads, and why.
NOT_PAGES: dict[str, str] = {
    "static": "CSS, JavaScript and images",
    "site.health": "/healthz: JSON for the load balancer",
    "site.switch_language": "/language/<code>: sets a cookie and redirects back",
}


def all_visits() -> list[tuple[str, Visit]]:
    """(endpoint, visit) for every page the gate checks, error pages last."""
    visits = [(endpoint, visit) for endpoint, group in PAGES.items() for visit in group]
    return visits + [("errors", visit) for visit in ERROR_PAGES]


def unvisited_endpoints(app) -> list[str]:
    """GET routes of `app` that the gate neither visits nor lists as not a page."""
    missing = set()
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint not in PAGES \
                and rule.endpoint not in NOT_PAGES:
            missing.add(f"{rule.endpoint} ({rule.rule})")
    return sorted(missing)


def stale_endpoints(app) -> list[str]:
    """Endpoints named here that the app no longer has."""
    known = {rule.endpoint for rule in app.url_map.iter_rules()}
    return sorted((set(PAGES) | set(NOT_PAGES)) - known)
