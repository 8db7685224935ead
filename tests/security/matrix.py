"""How the access table's compact rules become one expected answer per cell, and how a
cell is asked: each role's own signed-in browser, a real CSRF token on every POST.

A rule names who may pass; every other cell's answer follows from it:
  public            everyone gets the page (both objects alike)
  nobody:<code>     everyone gets <code> (a callback without its secret or signature)
  signed_in         anonymous -> sign-in; everyone signed in passes
  operator          anonymous -> sign-in; operators pass; everyone else 403
  role:<role>       anonymous -> sign-in; holders of the account role pass; others 403
  owner:<kind>      anonymous -> sign-in; the role's own object passes, someone else's
                    404 (a guessed id tells nothing; `refused` says where it is 403);
                    operators pass on both
  team:<need>       a live session's control room and report: anonymous -> sign-in; the
                    roles of TEAM_NEEDS[need] pass on their own session and get 403 on
                    another team's; everyone else 403; operators pass on both
  a&b               must pass rule a, then rule b (a role, then an object of one's own)
  token:<kind>      a secret link: the real token passes for anyone, a forged one 404
A row may add a `hidden` twin (a draft, a private file: 404 for all but operators) and
`mixed` cells (the role's own object holding someone else's thing: refused).
A POST that passes is only "allowed" (its empty form may be refused by validation,
400, or done, 302/303); a POST refused must be refused before any validation, and
leave the database as it was.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.security.world import ROLES, TEAM

LOGIN = "login"      # 302 to the sign-in page (401 from the JSON API)
ALLOWED = "allowed"  # a POST let through: anything but a refusal or a server error

ACCOUNT_ROLES = {
    "shopper": {"shopper", "stall_seller"},
    "maker": {"maker", "coordinator"},
    "editor": {"maker", "coordinator", "operator"},  # a workshop's goods
    "host": set(TEAM),
    "operator": {"operator"},
}
# Who does what in a session's room (livestream/room.py RoomAccess; the report's reader
# in livestream/report.py), besides operators.
TEAM_NEEDS = {
    "enter": set(TEAM),
    "run": {"presenter"},                       # go live, end, pin, prices, words, keys
    "moderate": {"presenter", "interpreter"},   # answer, hide, mute
    "caption": {"presenter", "captioner"},
    "report": {"presenter", "coordinator"},     # the workshop's coordinator reads it too
}
# Who is offered the session of their own in a team cell: the team, and the coordinator
# of the workshop whose stream it is.
SESSION_OWNERS = set(TEAM) | {"coordinator", "operator"}


@dataclass(frozen=True)
class Route:
    """One endpoint and method: its rule, how to build its URL, what passing answers."""

    rule: str
    url: object  # a path, or a function of (world, object) giving a path
    ok: int = 200
    exceptions: dict = field(default_factory=dict)  # {role or (role, which): answer}
    refused: int | None = None  # the owner rule's answer for someone else's object
    headers: object = None  # a function of (world, object) giving request headers
    form: dict = field(default_factory=dict)  # sent with the CSRF token on a POST
    # The role's own object with someone else's thing inside it (their question, price,
    # photo in our session's or product's URL): refused with `mixed_refused`.
    mixed: object = None
    mixed_refused: int = 404
    # A public row's hidden twin: a draft, a private file. 404 for all but operators.
    hidden: object = None


def _objects(world: dict, route: Route, role: str) -> list[tuple[str, object]]:
    """[(which, object)] a cell is asked about: the role's own (if it has one) and
    someone else's; a rule without objects has one cell (and its hidden twin's)."""
    rule = route.rule.split("&")[-1]  # the objects are the last part's
    kind = rule.partition(":")[2]
    if rule.startswith("owner:"):
        own = OWNED[kind](world, role)
        pairs = [("own", own)] if own is not None else []
        if role in NEAR.get(kind, {}):
            pairs.append(("near", world[kind][NEAR[kind][role]]))
        return pairs + [("other", world[kind]["other"])]
    if rule.startswith("team:"):
        own = world["live"]["own"] if role in SESSION_OWNERS else None
        pairs = [("own", own)] if own else []
        return pairs + [("other", world["live"]["other"])]
    if rule.startswith("token:"):
        return [("own", TOKENS[kind](world, role)), ("other", "forged-" + "x" * 30)]
    return [("any", None)] + ([("hidden", None)] if route.hidden else [])


def _owner_of(kind):
    def own(world, role):
        return world[kind]["own"] if role in OWNERS[kind] or role == "operator" else None
    return own


# Whose object the world's "own" one is.
OWNERS = {
    "maker": {"maker", "coordinator"},          # the maker; their workshop's coordinator
    "workshop": {"coordinator"},
    "product": {"coordinator"},                 # the workshop's goods
    "stall": {"stall_seller"},
    "slot": {"captioner"},                      # a slot the host holds
}
OWNED = {kind: _owner_of(kind) for kind in OWNERS}
# Close to a role, yet not theirs: a fellow member's income, the workshop a plain member
# belongs to (its coordinator's to see), a product they make (its coordinator edits).
# Asked as "near" cells, refused like someone else's.
NEAR = {
    "maker": {"maker": "colleague"},
    "workshop": {"maker": "own"},
    "product": {"maker": "own"},
}
TOKENS = {
    "order": lambda world, role: world["order"]["own"],
    "download": lambda world, role: world["download"]["own"].rsplit("/", 1)[1],
    "feed": lambda world, role: world["feed"].get(role, world["feed"]["other"]),
    "reset": lambda world, role: world["reset"],
}


def _passing(rule: str, role: str, which: str) -> bool | str:
    """True if `role` passes `rule` for this object, else the refusal's answer; "a&b"
    must pass a, then b."""
    if "&" in rule:
        for part in rule.split("&"):
            passing = _passing(part, role, which)
            if passing is not True:
                return passing
        return True
    kind = rule.partition(":")[2]
    if rule == "public":
        return True
    if rule.startswith("nobody:"):
        return int(kind)
    if rule.startswith("token:"):
        return which == "own" or 404
    if role == "anonymous":
        return LOGIN
    if rule == "signed_in":
        return True
    if rule == "operator":
        return role == "operator" or 403
    if rule.startswith("role:"):
        return role in ACCOUNT_ROLES[kind] or 403
    if rule.startswith("owner:"):
        return role == "operator" or which == "own" or 404
    if rule.startswith("team:"):
        return role == "operator" or (role in TEAM_NEEDS[kind] and which == "own") or 403
    raise ValueError(f"unknown rule {rule}")


def cells(route: Route, method: str, world: dict):
    """(role, which, object, expected answer) for every cell of one table row."""
    for role in ROLES:
        objects = _objects(world, route, role)
        if route.mixed:
            objects += [("mixed", obj) for which, obj in objects if which == "own"]
        for which, obj in objects:
            passing = (role == "operator" or 404) if which == "hidden" \
                else _passing(route.rule, role, {"mixed": "own", "near": "other"}.get(
                    which, which))
            if which == "mixed" and passing is True:
                passing = route.mixed_refused
            if passing == 404 and route.refused and which in ("other", "near"):
                passing = route.refused
            # A form let through is "allowed"; a row whose passing answer is fixed (no
            # card to pay, say) names it.
            expected = (ALLOWED if method == "POST" and route.ok == 200 else route.ok) \
                if passing is True else passing
            for key in ((role, which), role, ("*", which)):
                if key in route.exceptions:
                    expected = route.exceptions[key]
                    break
            yield role, which, obj, expected


def request_of(route: Route, which: str, obj, world: dict, role: str) -> tuple[str, dict]:
    """The path and headers of one cell (a URL function whose third argument is `r` is
    also told the role, to give each its own thing to delete)."""
    url = {"hidden": route.hidden, "mixed": route.mixed}.get(which, route.url)
    if callable(url):
        told_role = url.__code__.co_varnames[2:3] == ("r",)
        path = url(world, obj, role) if told_role else url(world, obj)
    else:
        path = url
    return path, (route.headers(world, obj) if route.headers else {})


def answer_of(response) -> int | str:
    """What a response says, in the table's words."""
    location = response.headers.get("Location", "")
    if response.status_code in (301, 302, 303) and "/account/login" in location:
        return LOGIN
    if response.status_code == 401:
        return LOGIN
    return response.status_code


def matches(expected, response) -> bool:
    got = answer_of(response)
    if expected == ALLOWED:
        return got not in (LOGIN, 403, 404, 405) and response.status_code < 500
    return got == expected


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token a page gives this browser, as its forms send it."""
    for path in ("/account/login", "/help", "/account/"):
        page = client.get(path).get_data(as_text=True)
        found = _CSRF.search(page)
        if found:
            return found.group(1)
    raise AssertionError("no page gave a CSRF token")


# Written behind the requests, not by them: the room's viewer counts are flushed from
# memory every few seconds (livestream/viewers.py), whatever the request was.
UNWATCHED_TABLES = {"live_viewer"}


def fingerprint(engine) -> dict[str, str]:
    """Every table's rows, hashed: a refused POST must change none of them."""
    prints = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in UNWATCHED_TABLES:
                continue
            order = [c for c in table.primary_key.columns] or list(table.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).all()
            prints[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return prints
