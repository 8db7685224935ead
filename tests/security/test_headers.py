"""Headers and cookies: the Content-Security-Policy on every kind of page, no inline
script or style without this request's nonce, HSTS only over HTTPS, cookie flags.

Pages come from the accessibility gate's list (tests/browser/pages.py), which
tests/browser/test_gate_coverage.py keeps complete over the app's GET routes; they are
rendered here without a browser, as each visit's role, on the demo shop.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_cookie

from core.security_headers import HSTS, JSON_POLICY
from tests.browser.pages import all_visits
from tests.form_submit import form_fields

ROLE_ACCOUNTS = {  # as tests/browser/conftest.py signs them in
    "shopper": "shopper@demo.gongfang.cn",
    "maker": "knot1@demo.gongfang.cn",
    "host": "host.yang@demo.gongfang.cn",
    "operator": "operator@demo.gongfang.cn",
    "stall": "cart1@demo.gongfang.cn",
    "interpreter": "interp.li@demo.gongfang.cn",
}
PRODUCT = "/products/pankou-plum-set"
EVERY_PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def assert_page_headers(response, *, nonce: str | None = None) -> dict[str, list[str]]:
    """The headers every HTML page must carry; returns its policy's directives."""
    for name, value in EVERY_PAGE_HEADERS.items():
        assert response.headers.get(name) == value, name
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert "blob:" in policy["media-src"] and "blob:" in policy["worker-src"]
    for name, sources in policy.items():
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, name
        assert "*" not in sources and "https:" not in sources and "http:" not in sources, name
    for name in ("script-src", "style-src"):
        nonces = [s for s in policy[name] if s.startswith("'nonce-")]
        assert nonces == ([f"'nonce-{nonce}'"] if nonce else []), (name, nonces)
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation"):
        assert f"{feature}=()" in permissions
    return policy


class _InlineCode(HTMLParser):
    """Inline <script>s and <style>s (with their nonce) and elements with style=""."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str | None] = []
        self.styles: list[str | None] = []
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "script" and not named.get("src"):
            self.scripts.append(named.get("nonce"))
        if tag == "style":
            self.styles.append(named.get("nonce"))
        if "style" in named:
            self.style_attributes.append(f"<{tag} style={named['style']!r}>")
        self.handlers += [f"<{tag} {name}>" for name in named if name.startswith("on")]
        if named.get("href", "").lower().startswith("javascript:"):
            self.handlers.append(f"<{tag} href=javascript:>")


def inline_code_problems(html: str, nonce: str | None) -> list[str]:
    """What on the page the policy would refuse: un-nonced inline code, style="", on*=."""
    found = _InlineCode()
    found.feed(html)
    problems = [f"<script> without this request's nonce ({got!r})"
                for got in found.scripts if not nonce or got != nonce]
    problems += [f"<style> without this request's nonce ({got!r})"
                 for got in found.styles if not nonce or got != nonce]
    return problems + found.style_attributes + found.handlers


def _nonce(response) -> str | None:
    match = re.search(r"'nonce-([^']+)'", response.headers.get("Content-Security-Policy", ""))
    return match.group(1) if match else None


# --- The demo shop, as each role ----------------------------------------------------

@pytest.fixture
def demo_app(app):
    from core.demo import load_demo

    with app.app_context():
        load_demo()
    return app


def _signed_in(app, role: str | None):
    from core.demo import DEMO_PASSWORD

    client = app.test_client()
    if role in ROLE_ACCOUNTS:
        answer = client.post("/account/login", data={
            "login": ROLE_ACCOUNTS[role], "password": DEMO_PASSWORD})
        assert answer.status_code == 302, f"{role} could not sign in"
    if role in ("cart-guest", "checkout-guest"):
        page = client.get(PRODUCT).get_data(as_text=True)
        fields = MultiDict(form_fields(page, "/cart/add"))
        assert client.post("/cart/add", data=fields).status_code == 302
    if role == "checkout-guest":
        for path, answers in (("/checkout/contact", {"name": "测试顾客",
                                                      "email": "guest@example.cn"}),
                              ("/checkout/delivery", {"method": "pickup"}),
                              ("/checkout/pickup", {"point": "metro-gulou"}),
                              ("/checkout/payment", {"method": "offline"})):
            page = client.get(path).get_data(as_text=True)
            fields = dict(form_fields(page, path)) | answers
            assert client.post(path, data=fields).status_code == 302, path
    return client


def _samples(app) -> dict:
    from tests.browser.conftest import demo_samples

    return demo_samples(app)


def test_every_page_keeps_the_policy_and_has_no_inline_code_without_its_nonce(demo_app):
    samples = _samples(demo_app)
    clients: dict = {}
    problems = []
    for endpoint, visit in all_visits():
        if visit.role not in clients:
            clients[visit.role] = _signed_in(demo_app, visit.role)
        # Followed as the browser follows them (/checkout goes on to its first step).
        response = clients[visit.role].get(visit.url(samples), follow_redirects=True)
        where = f"{endpoint} {visit.url(samples)} as {visit.role or 'anonymous'}"
        if response.status_code != visit.status:
            problems.append(f"{where}: answered {response.status_code}")
            continue
        assert response.mimetype == "text/html", where
        nonce = _nonce(response)
        assert_page_headers(response, nonce=nonce)
        problems += [f"{where}: {problem}" for problem in
                     inline_code_problems(response.get_data(as_text=True), nonce)]
    assert not problems, "\n".join(problems)


def test_a_nonce_is_new_on_every_request_and_matches_the_page(demo_app):
    client = _signed_in(demo_app, None)
    first, second = (client.get("/live/live-now") for _ in range(2))
    assert _nonce(first) and _nonce(first) != _nonce(second)
    for response in (first, second):
        assert f'nonce="{_nonce(response)}"' in response.get_data(as_text=True)


# --- Each kind of answer -------------------------------------------------------------

PAGE_KINDS = {
    "home": (None, "/"),
    "product": (None, PRODUCT),
    "cart": ("cart-guest", "/cart"),
    "checkout": ("checkout-guest", "/checkout/check"),
    "order page": (None, "/orders/{order_token}"),
    "live room": (None, "/live/live-now"),
    "control room": ("host", "/live/live-now/control"),
    "replay": (None, "/live/pankou-last-week"),
    "operator page": ("operator", "/operator/orders"),
    "income page": ("maker", "/income"),
    "sign-in": (None, "/account/login"),
    "not found": (None, "/no-such-page"),
}


def test_each_kind_of_page_has_the_header_set(demo_app):
    # One demo shop for every kind (loading it is most of this test's time); subtests
    # would cost a demo load each.
    samples = _samples(demo_app)
    clients = {}
    for kind, (role, path) in PAGE_KINDS.items():
        if role not in clients:
            clients[role] = _signed_in(demo_app, role)
        response = clients[role].get(path.format(**samples))
        assert response.status_code == (404 if kind == "not found" else 200), kind
        policy = assert_page_headers(response, nonce=_nonce(response))
        assert "Strict-Transport-Security" not in response.headers, kind  # plain http
        if kind in ("live room", "control room"):
            assert _nonce(response), f"the {kind}'s data block is nonced"
        assert policy["script-src"][0] == "'self'", kind


def test_an_error_page_has_the_header_set(app):
    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/test-broken", "test_broken", broken)
    app.testing = False  # the error page, not the exception, as a visitor gets it
    response = app.test_client().get("/test-broken")
    assert response.status_code == 500
    assert_page_headers(response, nonce=_nonce(response))


def test_json_answers_let_nothing_load_or_frame_them(client):
    response = client.get("/api/v1/products")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Security-Policy"] == JSON_POLICY
    for name, value in EVERY_PAGE_HEADERS.items():
        assert response.headers[name] == value


def test_static_files_are_not_sniffed_or_framed(client):
    response = client.get("/static/js/site.js")
    assert response.status_code == 200
    for name, value in EVERY_PAGE_HEADERS.items():
        assert response.headers[name] == value
    assert "Content-Security-Policy" not in response.headers  # not a document
    response.close()


# --- Sources the settings add --------------------------------------------------------

def test_cards_on_let_stripe_in(app_config):
    from app import create_app

    app_config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x",
                      STRIPE_WEBHOOK_SECRET="whsec_x", STRIPE_API_BASE="http://127.0.0.1:8420",
                      STRIPE_JS_URL="http://127.0.0.1:8420/js.stripe.com/v3/")
    response = create_app(app_config).test_client().get("/account/login")
    policy = assert_page_headers(response)
    assert {"https://js.stripe.com", "http://127.0.0.1:8420"} <= set(policy["script-src"])
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(policy["frame-src"])
    assert {"https://api.stripe.com", "http://127.0.0.1:8420"} <= set(policy["connect-src"])


def test_cards_off_leave_stripe_out(client):
    policy = _directives(client.get("/account/login").headers["Content-Security-Policy"])
    assert not any("stripe" in source for sources in policy.values() for source in sources)


def test_the_live_edge_serves_media_and_events(app_config):
    from app import create_app

    app_config["LIVE_EDGE_PUBLIC_URL"] = "https://edge.example.cn"
    response = create_app(app_config).test_client().get("/account/login")
    policy = _directives(response.headers["Content-Security-Policy"])
    assert "https://edge.example.cn" in policy["media-src"]
    assert "https://edge.example.cn" in policy["connect-src"]
    assert "https://edge.example.cn" not in policy["script-src"]


def test_a_stream_on_another_host_is_let_in_on_its_page_only(app):
    from flask import render_template_string

    with app.test_request_context("/live/x"):
        html = render_template_string(
            '<video src="{{ "https://video.example.cn/a/b.m3u8?k=1" | csp_media }}"></video>')
        response = app.make_response(html)
        response = app.process_response(response)
    assert 'src="https://video.example.cn/a/b.m3u8?k=1"' in html
    policy = _directives(response.headers["Content-Security-Policy"])
    assert "https://video.example.cn" in policy["media-src"]
    assert "https://video.example.cn" in policy["connect-src"]
    other = app.test_client().get("/account/login")
    assert "video.example.cn" not in other.headers["Content-Security-Policy"]


# --- HSTS ----------------------------------------------------------------------------

def test_hsts_over_https_only(client):
    secure = client.get("/account/login", base_url="https://shop.example.cn")
    assert secure.headers["Strict-Transport-Security"] == HSTS
    assert "max-age=31536000" in HSTS and "includeSubDomains" in HSTS
    plain = client.get("/account/login", base_url="http://shop.example.cn")
    assert "Strict-Transport-Security" not in plain.headers


def test_hsts_behind_the_production_proxy_follows_its_scheme(app_config, monkeypatch):
    from app import create_app

    app_config["ENVIRONMENT"] = "production"
    client = create_app(app_config).test_client()
    behind_https = client.get("/account/login", headers={"X-Forwarded-Proto": "https"})
    assert behind_https.headers["Strict-Transport-Security"] == HSTS
    behind_http = client.get("/account/login", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in behind_http.headers


# --- Cookies -------------------------------------------------------------------------

def _set_cookies(response) -> dict[str, str]:
    """Cookie name -> its whole Set-Cookie line."""
    lines = response.headers.getlist("Set-Cookie")
    return {next(iter(parse_cookie(line.split(";")[0]))): line for line in lines}


def _flags(line: str) -> set[str]:
    return {part.strip().lower() for part in line.split(";")[1:]}


@pytest.mark.parametrize("environment", ["production", "development"])
def test_session_and_remember_cookies_flags(app_config, environment):
    from app import create_app
    from core.demo import DEMO_PASSWORD, load_demo

    app_config["ENVIRONMENT"] = environment
    app_config.update(SESSION_COOKIE_SECURE=environment == "production",
                      REMEMBER_COOKIE_SECURE=environment == "production")
    app = create_app(app_config)
    with app.app_context():
        load_demo()
    client = app.test_client()
    response = client.post("/account/login", base_url="https://shop.example.cn", data={
        "login": ROLE_ACCOUNTS["shopper"], "password": DEMO_PASSWORD, "remember": "y"})
    assert response.status_code == 302
    cookies = _set_cookies(response)
    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        flags = _flags(cookies[name])
        assert "httponly" in flags and "samesite=lax" in flags, name
        assert ("secure" in flags) is (environment == "production"), name


@pytest.mark.parametrize("environment", ["production", "development"])
def test_cookie_flags_come_from_the_environment_setting_not_debug(monkeypatch, tmp_path,
                                                                  environment):
    from core.config import load_config

    for name in ("FLASK_DEBUG", "SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GONGFANG_ENV", environment)
    monkeypatch.setenv("FLASK_DEBUG", "1")  # debug never turns Secure off
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    config = load_config()
    production = environment == "production"
    assert config["SESSION_COOKIE_SECURE"] is production
    assert config["REMEMBER_COOKIE_SECURE"] is production
    for name in ("SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_HTTPONLY"):
        assert config[name] is True
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_the_csrf_token_lives_in_the_signed_session_cookie(app_config):
    """Flask-WTF keeps its token in the session: no cookie of its own to flag."""
    from app import create_app

    app_config.update(WTF_CSRF_ENABLED=True, ENVIRONMENT="production",
                      SESSION_COOKIE_SECURE=True)
    response = create_app(app_config).test_client().get(
        "/account/login", base_url="https://shop.example.cn")
    cookies = _set_cookies(response)
    assert set(cookies) == {"session"}
    assert {"httponly", "secure", "samesite=lax"} <= _flags(cookies["session"])
