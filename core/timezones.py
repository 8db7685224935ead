"""Time zones: times are stored in UTC, and shown and typed in the viewer's zone.

The viewer's zone is, first found: the zone of the person a message is being written
for (`forced_zone`, so a mail speaks the reader's zone, not the sender's); this
browser's time-zone cookie (a visitor's choice, kept like the language cookie); the
zone saved on the signed-in person's account; the shop's zone (DEFAULT_TIMEZONE,
Asia/Shanghai by default).

Rules about "a day" are about the stream's own local day, so they use the shop's zone
whoever is looking or typing: the daily interpreting limit counts the shop's calendar
day, and a repeating series keeps the shop's wall-clock time. Calendar files stay in
UTC (calendar apps show them in the reader's zone themselves).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    get_timezone_gmt,
    get_timezone_location,
    get_timezone_name,
)
from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

TIMEZONE_COOKIE = "tz"
MAX_ZONE_LENGTH = 64
# Offered first: where the shop's viewers and hosts mostly are, then big cities abroad.
COMMON_ZONES = (
    "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore",
    "Asia/Tokyo", "Asia/Seoul", "Asia/Bangkok", "Asia/Kolkata", "Asia/Dubai",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Moscow",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Toronto", "America/Vancouver", "Australia/Sydney", "Australia/Perth",
    "Pacific/Auckland", "UTC",
)
# tzdata's names that are not places a person would choose (POSIX rules, copies).
_NOT_PLACES = ("Etc/", "SystemV/", "posix/", "right/")


class NonexistentLocalTime(ValueError):
    """The wall-clock time is skipped on that day (the clocks go forward)."""


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """Every IANA zone a person may choose (places, and UTC)."""
    return frozenset(name for name in available_timezones()
                     if ("/" in name and not name.startswith(_NOT_PLACES)) or name == "UTC")


def is_known_zone(name: object) -> bool:
    """True for a zone name we offer; anything else (typos, paths, junk) is refused."""
    return isinstance(name, str) and len(name) <= MAX_ZONE_LENGTH and name in known_zones()


def shop_zone_name() -> str:
    """The shop's own zone: for day rules, series, and whoever has not chosen."""
    if has_app_context():
        return current_app.config["DEFAULT_TIMEZONE"]
    return "Asia/Shanghai"


def shop_zone() -> ZoneInfo:
    """The shop's zone as a tzinfo."""
    return ZoneInfo(shop_zone_name())


def user_zone_name(user) -> str:
    """The zone a person chose on their account, else the shop's (used for their mail)."""
    chosen = getattr(user, "timezone", None)
    return chosen if is_known_zone(chosen) else shop_zone_name()


def viewer_zone_name() -> str:
    """The zone times are shown and typed in for whoever is being served now."""
    if has_app_context() and g.get("forced_zone"):
        return g.forced_zone
    if has_request_context():
        chosen = request.cookies.get(TIMEZONE_COOKIE)
        if is_known_zone(chosen):
            return chosen
        if current_user and getattr(current_user, "is_authenticated", False):
            return user_zone_name(current_user)
    return shop_zone_name()


def visitor_zone_name() -> str:
    """The zone of a visitor who is not signed in: their cookie, else the shop's. Asks
    nothing of the account, so the page cache can key by it without loading a user
    (which makes Flask-Login rewrite an anonymous visitor's cookies)."""
    chosen = request.cookies.get(TIMEZONE_COOKIE) if has_request_context() else None
    return chosen if is_known_zone(chosen) else shop_zone_name()


def viewer_zone() -> ZoneInfo:
    """The viewer's zone as a tzinfo."""
    return ZoneInfo(viewer_zone_name())


def viewer_has_chosen() -> bool:
    """Whether the viewer picked a zone (a cookie or their account), not just the default."""
    if not has_request_context():
        return False
    if is_known_zone(request.cookies.get(TIMEZONE_COOKIE)):
        return True
    return bool(current_user and getattr(current_user, "is_authenticated", False)
                and is_known_zone(getattr(current_user, "timezone", None)))


@contextmanager
def forced_zone(name: str):
    """Show times in `name` inside the block (a mail for someone in another zone)."""
    previous = g.get("forced_zone")
    g.forced_zone = name if is_known_zone(name) else shop_zone_name()
    try:
        yield
    finally:
        g.forced_zone = previous


def local_to_utc(day: date, clock: time, zone: ZoneInfo | None = None) -> datetime:
    """A date and wall-clock time typed in `zone` (the viewer's) as aware UTC.

    A time the clocks skip raises NonexistentLocalTime; a time that happens twice (the
    clocks go back) is taken the first time.
    """
    zone = zone or viewer_zone()
    local = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=zone)
    utc = local.astimezone(ZoneInfo("UTC"))
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(local.isoformat())
    return utc


def _locale() -> str:
    from core.i18n import current_locale_name

    return current_locale_name()


def zone_label(name: str | None = None) -> str:
    """A zone as people say it, with its IANA name: "United Kingdom Time (Europe/London)"."""
    name = name or viewer_zone_name()
    if name == "UTC":
        return _("Coordinated Universal Time (UTC)")
    place = get_timezone_location(ZoneInfo(name), locale=_locale())
    return f"{place} ({name})"


def zone_at(value: datetime, zone: ZoneInfo | None = None) -> str:
    """The zone's name and offset at that moment: "British Summer Time, GMT+01:00"."""
    local = value.astimezone(zone or viewer_zone())
    locale = _locale()
    return _("%(name)s, %(offset)s", name=get_timezone_name(local, locale=locale),
             offset=get_timezone_gmt(local, locale=locale))


def local_datetime(value: datetime | None, format: str = "medium",
                   zone: ZoneInfo | None = None) -> str:
    """A stored UTC time shown in the viewer's zone (or `zone`) and language."""
    if value is None:
        return ""
    return format_datetime(value, format, tzinfo=zone or viewer_zone(), locale=_locale())


def local_span(start: datetime, end: datetime, zone: ZoneInfo | None = None) -> str:
    """From-to in words with the zone: "Friday, 15 January 2027 19:00 – 20:30 (...)"."""
    first, last, where = _span_parts(start, end, zone)
    return f"{first} – {last} ({where})"


def _span_parts(start: datetime, end: datetime, zone: ZoneInfo | None):
    zone = zone or viewer_zone()
    locale = _locale()
    begins, ends = start.astimezone(zone), end.astimezone(zone)
    first = " ".join((format_date(begins, "full", locale=locale),
                      format_time(begins, "short", locale=locale)))
    last = format_time(ends, "short", locale=locale)
    if ends.date() != begins.date():
        last = f"{format_date(ends, 'medium', locale=locale)} {last}"
    return first, last, zone_at(begins, zone)


def time_span(start: datetime, end: datetime) -> Markup:
    """`local_span` as HTML: each end in a <time> element, the zone beside them."""
    first, last, where = _span_parts(start, end, None)
    return Markup('<time datetime="{}">{}</time> – <time datetime="{}">{}</time> '
                  '<span class="time-zone">({})</span>').format(
        start.isoformat(), first, end.isoformat(), last, where)


def clock_span(start: datetime, end: datetime) -> Markup:
    """A short from-to for grids: "19:00–20:30 GMT+08:00" (the page names the zone)."""
    zone = viewer_zone()
    locale = _locale()
    begins, ends = start.astimezone(zone), end.astimezone(zone)
    later_day = "" if ends.date() == begins.date() else " (+1)"
    return Markup('<time datetime="{}">{}</time>–<time datetime="{}">{}{}</time> '
                  '<span class="time-zone">{}</span>').format(
        start.isoformat(), format_time(begins, "short", locale=locale), end.isoformat(),
        format_time(ends, "short", locale=locale), later_day,
        get_timezone_gmt(begins, locale=locale))


def zone_choices(*, common_only: bool = False, include: str | None = None):
    """Choices for a zone select: the common zones first, then every other place.

    Each label carries the offset now, so people can find their zone by the clock too.
    Labels take Babel a while (about 20 ms for the common ones, 150 ms for all), so they
    are kept per language for a quarter of an hour (offsets change at most that often).
    """
    now = datetime.now(ZoneInfo("UTC"))
    quarter = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    if include and not is_known_zone(include):
        include = None
    return _zone_choices(_locale(), shop_zone_name(), common_only, include, quarter)


@lru_cache(maxsize=64)
def _zone_choices(locale: str, shop: str, common_only: bool, include: str | None,
                  now: datetime):
    known = known_zones()
    first = [shop] + [z for z in COMMON_ZONES if z != shop]
    if include and include not in first:
        first.append(include)
    first = [z for z in first if z in known]

    def offset(name):
        return get_timezone_gmt(now.astimezone(ZoneInfo(name)), locale=locale)

    common = tuple((z, f"{zone_label(z)} {offset(z)}") for z in first)
    if common_only:
        return common
    rest = tuple((z, f"{z} {offset(z)}") for z in sorted(known - set(first)))
    return {_("Common time zones"): common, _("Every time zone"): rest}


def set_zone_cookie(response, name: str):
    """Remember the zone on this browser for a year (like the language cookie)."""
    response.set_cookie(TIMEZONE_COOKIE, name, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response

