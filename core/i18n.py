"""Languages: Chinese first, English complete; the chosen one is remembered."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from core import timezones, written
from core.config import PROJECT_ROOT, SUPPORTED_LOCALES
from core.timezones import local_datetime  # noqa: F401  (callers import it from here)

LANGUAGE_COOKIE = "lang"
# Each feature package keeps its own catalog; Flask-Babel merges them.
TRANSLATION_PACKAGES = ("core", "accounts", "catalog", "shop", "income", "livestream")
HTML_LANG = {"zh_Hans_CN": "zh-CN", "en": "en"}
LANGUAGE_NAMES = {"zh_Hans_CN": "中文", "en": "English"}
# Accept-Language tags for each locale; Werkzeug falls back to the primary tag, so
# zh-TW or zh-HK read Chinese and en-GB reads English.
_BROWSER_TAGS = {"zh-CN": "zh_Hans_CN", "en": "en"}

babel = Babel()


def translation_directories() -> list[str]:
    """Every package's translations folder that exists."""
    dirs = [PROJECT_ROOT / name / "translations" for name in TRANSLATION_PACKAGES]
    return [str(d) for d in dirs if d.is_dir()]


@lru_cache(maxsize=512)
def browser_locale(header: str | None) -> str | None:
    """The supported locale an Accept-Language header prefers most, or None."""
    if not header:
        return None
    accepted = parse_accept_header(header, LanguageAccept)
    # "*" alone says nothing about the reader: the shop's default applies.
    if not any(value != "*" for value, _quality in accepted):
        return None
    best = accepted.best_match(list(_BROWSER_TAGS))
    return _BROWSER_TAGS.get(best) if best else None


def select_locale() -> str:
    """The reader's choice, then their account's, then what their browser asks for,
    then the shop's default (Chinese)."""
    if has_request_context():
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen in SUPPORTED_LOCALES:
            return chosen
        if current_user and getattr(current_user, "is_authenticated", False):
            if current_user.locale in SUPPORTED_LOCALES:
                return current_user.locale
        asked = browser_locale(request.headers.get("Accept-Language"))
        if asked:
            return asked
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The viewer's zone (core.timezones), for anything that asks Flask-Babel."""
    return timezones.viewer_zone_name()


def current_locale_name() -> str:
    """The locale in force, as Babel names it (zh_Hans_CN or en)."""
    if has_request_context() or "babel_locale" in g:
        locale = get_locale()
        if locale is not None:
            name = str(locale)
            return name if name in SUPPORTED_LOCALES else "zh_Hans_CN"
    return "zh_Hans_CN"


def html_lang() -> str:
    """The value for <html lang>, matching the language shown."""
    return HTML_LANG.get(current_locale_name(), "zh-CN")


def safe_next_url(target: str | None, fallback: str = "/") -> str:
    """Only local paths are followed after a switch or login: no open redirects."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    return target


def format_money(amount, currency: str = "CNY") -> str:
    """Template helper: fen (or a Money) shown as ¥1,280.00 in the current locale."""
    from core.money import Money

    money = amount if isinstance(amount, Money) else Money(int(amount or 0), currency)
    return money.format(current_locale_name())


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and expose language helpers to templates."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(translation_directories())
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["local_datetime"] = timezones.local_datetime
    app.jinja_env.globals.update(time_span=timezones.time_span, clock_span=timezones.clock_span,
                                 zone_label=timezones.zone_label,
                                 zone_choices=timezones.zone_choices,
                                 viewer_zone_name=timezones.viewer_zone_name,
                                 viewer_has_chosen_zone=timezones.viewer_has_chosen)
    app.jinja_env.globals["money"] = format_money
    app.jinja_env.add_extension("jinja2.ext.i18n")
    written.init_app(app)

    @app.after_request
    def _vary_on_language(response):
        # Without a cookie the language follows Accept-Language: caches must know.
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
        return response

    @app.context_processor
    def _language_context():
        return {
            "html_lang": html_lang(),
            "current_locale": current_locale_name(),
            "language_names": LANGUAGE_NAMES,
        }


def compile_catalogs() -> list[Path]:
    """Compile every .po to .mo when it is newer; returns the files compiled."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for directory in translation_directories():
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as handle:
                catalog = read_po(handle)
            with mo_path.open("wb") as handle:
                write_mo(handle, catalog)
            compiled.append(mo_path)
    return compiled
