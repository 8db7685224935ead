"""The CSP watch of conftest.py sees a violation when a page has one."""

from __future__ import annotations

from tests.browser import csp

PAGE = ("<!doctype html><html lang='en'><title>t</title>"
        "<p style='color: red'>styled</p><script>document.title = 'ran'</script></html>")


def test_a_refused_inline_script_and_style_are_reported(browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route("http://shop.test/", lambda route: route.fulfill(
            body=PAGE, content_type="text/html",
            headers={"Content-Security-Policy": "default-src 'self'"}))
        page.goto("http://shop.test/")
        page.wait_for_function("() => window.__gongfangCspReported >= 2")
        assert page.title() == "t"  # the inline script did not run
        found = list(csp.VIOLATIONS)
    finally:
        context.close()
        csp.VIOLATIONS.clear()  # this test's own violations must not fail it
    assert any("script-src" in line for line in found), found
    assert any("style-src" in line for line in found), found
