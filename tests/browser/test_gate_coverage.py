"""The accessibility gate knows every page: a new GET route fails here until it is listed.

No browser needed, so this runs everywhere, even where Chromium is missing.
"""

from tests.browser.pages import NOT_PAGES, PAGES, stale_endpoints, unvisited_endpoints


def _app(tmp_path):
    from app import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'routes.db'}",
                       "SECRET_KEY": "r" * 40, "INSTANCE_DIR": str(tmp_path)})


def test_every_get_route_is_visited_by_the_gate_or_listed_as_not_a_page(tmp_path):
    missing = unvisited_endpoints(_app(tmp_path))
    assert not missing, (
        "These GET routes are not visited by the accessibility gate. Add each to PAGES in "
        "tests/browser/pages.py (with a sample URL and the role to sign in as), or to "
        f"NOT_PAGES with the reason it is not a page: {missing}")


def test_the_gate_lists_no_route_the_app_does_not_have(tmp_path):
    assert stale_endpoints(_app(tmp_path)) == []


def test_no_endpoint_is_both_a_page_and_not_a_page():
    assert not set(PAGES) & set(NOT_PAGES)
