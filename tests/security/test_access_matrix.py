"""The access matrix: every route of the URL map x every role x their own object and
someone else's, each with its expected answer, on SQLite and PostgreSQL.

The table is tests/security/access_table.py, its rules tests/security/matrix.py, the
world tests/security/world.py. A new route fails test_table_covers_the_url_map until it
has a row. The world is built once per database for this module.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import BACKENDS, _empty_postgres
from tests.security.access_table import TABLE
from tests.security.matrix import (
    ALLOWED,
    answer_of,
    cells,
    csrf_token,
    fingerprint,
    matches,
    request_of,
)
from tests.security.world import ROLES, build_world

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _url_map_rows(app) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - SKIPPED_METHODS}


def _row_order(key):
    # Pages are read first, then forms are sent, operators' last: what a POST that is
    # let through changes (an order cancelled, a session ended) cannot move a page's answer.
    endpoint, method = key
    return (method != "GET", "operator" in endpoint, endpoint, method)


ROWS = sorted(TABLE, key=_row_order)


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_app(request, tmp_path_factory):
    """One app and database per backend for the whole module, CSRF checked as in
    production."""
    from app import create_app

    folder = tmp_path_factory.mktemp(f"access-{request.param}")
    if request.param == "sqlite":
        path = folder / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
        if url is None:
            pytest.skip("PostgreSQL is not reachable at TEST_DATABASE_URL")
    application = create_app({
        "DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "access-matrix-" + "k" * 32,
        "INSTANCE_DIR": str(folder / "instance"), "MEDIA_DIR": str(folder / "media"),
        "MAIL_DIR": str(folder / "mail"), "SMTP_HOST": None, "SERVER_NAME": None,
        "WTF_CSRF_ENABLED": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "RATE_LIMIT_PREFIX": f"access-matrix-{folder.name}",
    })
    try:
        yield application
    finally:
        if "live_viewers" in application.extensions:
            application.extensions["live_viewers"].stop()
        application.extensions["events"].close()
        application.extensions["database"].engine.dispose()
        if request.param != "sqlite":
            _empty_postgres(url)


@pytest.fixture(scope="module")
def world(matrix_app):
    """The world, and each role's signed-in browser with its CSRF token."""
    from core.db import db

    with matrix_app.test_request_context(), db.transaction(write=True) as session:
        built = build_world(session, matrix_app.config["MEDIA_DIR"])
    browsers = {}
    for role in ROLES:
        client = matrix_app.test_client()
        if role != "anonymous":
            _user_id, email = built["users"][role]
            client.get("/account/login")
            response = client.post("/account/login", data={
                "login": email, "password": "correct horse battery",
                "csrf_token": csrf_token(client)})
            assert response.status_code == 302, (role, response.status_code)
        token = csrf_token(client)
        browsers[role] = (client, client.get_cookie("session").value, token)
    return {"world": built, "browsers": browsers,
            "engine": matrix_app.extensions["database"].engine}


def _ask(browser, method, path, headers, form):
    client, cookie, token = browser
    client.set_cookie("session", cookie)  # what an earlier cell did (sign out...) is undone
    if method == "GET":
        response = client.get(path, headers=headers)
    else:
        response = client.post(path, data={"csrf_token": token, **form},
                               headers={"X-CSRFToken": token, **headers})
    response.close()  # an event stream is judged by its status; it would never end
    return response


def test_table_covers_the_url_map(matrix_app):
    rows = _url_map_rows(matrix_app)
    missing = sorted(rows - set(TABLE))
    extra = sorted(set(TABLE) - rows)
    assert not missing, f"routes with no row in the access table: {missing}"
    assert not extra, f"rows for routes that no longer exist: {extra}"


@pytest.mark.parametrize("row", ROWS, ids=[f"{m} {e}" for e, m in ROWS])
def test_access(world, row):
    endpoint, method = row
    route = TABLE[row]
    w = world["world"]
    wrong = []
    ordered = sorted(cells(route, method, w), key=lambda cell: cell[3] == ALLOWED)
    refused = [cell for cell in ordered if cell[3] != ALLOWED]
    before = fingerprint(world["engine"]) if method == "POST" else None
    for index, (role, which, obj, expected) in enumerate(ordered):
        if method == "POST" and index == len(refused):
            after = fingerprint(world["engine"])
            changed = sorted(name for name in before if before[name] != after[name])
            assert not changed, f"refused POSTs to {endpoint} changed {changed}"
        path, headers = request_of(route, which, obj, w, role)
        response = _ask(world["browsers"][role], method, path, headers, route.form)
        if not matches(expected, response):
            said = response.get_data(as_text=True)[:300] if response.status_code >= 500 else ""
            wrong.append(f"{role:12} {which:6} {method} {path}: expected {expected}, "
                         f"got {answer_of(response)} {response.headers.get('Location', '')}"
                         f"{said}")
    if method == "POST" and len(refused) == len(ordered):
        after = fingerprint(world["engine"])
        changed = sorted(name for name in before if before[name] != after[name])
        assert not changed, f"refused POSTs to {endpoint} changed {changed}"
    assert not wrong, "\n".join(wrong)
