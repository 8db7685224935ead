"""Configuration read from the environment, checked once at start-up.

Every setting has one place here. A value that is present but malformed stops the
app with a message that names the variable, so a typo never runs as a default.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LOCALES = ("zh_Hans_CN", "en")
# Abuse limits' figures (core/rate_limits.py SETTINGS says which rule each changes).
RATE_LIMIT_SETTINGS = ("RATE_LIMIT_CHECKOUT_BUYER", "RATE_LIMIT_CHECKOUT_ADDRESS",
                       "RATE_LIMIT_LIVE_MESSAGES_USER", "RATE_LIMIT_LIVE_QUESTIONS_USER",
                       "RATE_LIMIT_API_ADDRESS", "RATE_LIMIT_WEBHOOK_ADDRESS",
                       "RATE_LIMIT_DOCUMENTS_USER", "RATE_LIMIT_DOWNLOADS_ADDRESS",
                       "RATE_LIMIT_MEDIA_ADDRESS")
WEAK_SECRET_KEYS = {"", "dev", "secret", "changeme", "change-me", "development", "test"}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    name: str
    help: str


KNOWN_SETTINGS = {
    s.name: s
    for s in [
        Setting("GONGFANG_ENV", "development or production"),
        Setting("DATABASE_URL", "sqlite:///path or postgresql://user@host/db"),
        Setting("SECRET_KEY", "long random string; required in production"),
        Setting("REDIS_URL", "redis://host:port/db, for several workers or hosts"),
        Setting("STRIPE_SECRET_KEY", "sk_... turns the card payment on"),
        Setting("STRIPE_PUBLISHABLE_KEY", "pk_..."),
        Setting("STRIPE_WEBHOOK_SECRET", "whsec_..."),
        Setting("STRIPE_ACCOUNT_ID", "acct_... of a Stripe Connect account whose events are "
                "ours too; unset, only events of the key's own account are applied"),
        Setting("STRIPE_API_BASE", "Stripe API address (tests point it at localstripe)"),
        Setting("STRIPE_JS_URL", "address of Stripe.js"),
        Setting("MEDIA_DIR", "folder for uploaded images and files"),
        Setting("INSTANCE_DIR", "folder for the SQLite file, keys and mail in development"),
        Setting("SMTP_HOST", "mail server; without it mail is written to instance/mail"),
        Setting("SMTP_PORT", "mail server port"),
        Setting("SMTP_USERNAME", "mail server user"),
        Setting("SMTP_PASSWORD", "mail server password"),
        Setting("SMTP_STARTTLS", "1 to use STARTTLS"),
        Setting("MAIL_FROM", "sender address"),
        Setting("DEFAULT_TIMEZONE", "IANA zone for showing times, default Asia/Shanghai"),
        Setting("DEFAULT_LOCALE", "zh_Hans_CN or en"),
        Setting("EMBEDDED_SCHEDULER", "1 to run background jobs inside this process"),
        Setting("SCHEDULER_STANDBY_SECONDS", "seconds between a standby scheduler's tries "
                "to take over (default 15); the active one checks its lock 3 times as often"),
        Setting("HOLD_MINUTES", "minutes an unpaid card order keeps its stock"),
        Setting("OFFLINE_HOLD_HOURS", "hours an order paid at pick-up or by bank transfer "
                "keeps its stock while it waits for the money"),
        Setting("BASE_URL", "public address used in mails and calendar feeds"),
        Setting("SECURITY_CONTACT", "where people report a security problem (an e-mail "
                "or https:// address), served at /.well-known/security.txt"),
        Setting("EVENTS_HISTORY", "live events kept per channel for readers who reconnect"),
        Setting("EVENTS_HEARTBEAT_SECONDS", "seconds between heartbeats on an idle live stream"),
        Setting("EVENTS_STREAM_SECONDS", "seconds one live stream stays open before the "
                "browser is made to reconnect"),
        Setting("EVENTS_REDIS_PREFIX", "prefix of the live events' Redis keys"),
        Setting("LIVE_EDGE_URL", "address where the app reaches the live edge (nginx with "
                "RTMP and Nchan, `make edge`); unset, the app streams events itself"),
        Setting("LIVE_EDGE_PUBLIC_URL", "address browsers reach the edge's /edge/ paths at; "
                "empty (default) when the edge also serves the pages"),
        Setting("LIVE_EDGE_RTMP_URL", "address presenters push to, shown in the control room"),
        Setting("LIVE_EDGE_SECRET", "shared by the app and the edge for callbacks and "
                "publishing; by default derived from SECRET_KEY"),
        Setting("METRICS_TOKEN", "bearer token the Prometheus scraper sends to /metrics; "
                "unset, /metrics answers loopback and private addresses only"),
        Setting("CATALOG_PAGE_CACHE_SECONDS", "seconds a storefront page is kept for "
                "visitors who are not signed in; 0 turns the cache off"),
        *(Setting(name, "how often, e.g. '10 per 10 minutes' (core/rate_limits.py)")
          for name in RATE_LIMIT_SETTINGS),
    ]
}


def _parse_int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _parse_rate(name: str, raw: str) -> str:
    from limits import parse

    try:
        parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a rate like '10 per 10 minutes' or '600/minute', "
                          f"got {raw!r}") from None
    return raw


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def without_password(raw: str) -> str:
    """The URL as it may be shown in a message or log: any password replaced by ***."""
    parts = urlsplit(raw)
    if parts.password is None:
        return raw
    return raw.replace(f":{parts.password}@", ":***@", 1)


def normalise_database_url(name: str, raw: str) -> str:
    """Accept the usual spellings and pick the drivers we ship (psycopg 3)."""
    shown = without_password(raw)
    expected = "sqlite:///path/to/file.db or postgresql://user@host/database"
    if not raw.strip():
        raise ConfigError(f"{name} is set but empty: unset it for the SQLite file under "
                          f"instance/, or give {expected}")
    parts = urlsplit(raw)
    if parts.scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        # libpq would quietly fill a missing host or database from its own defaults
        # (a local socket, the operating-system user): say so instead.
        try:
            parts.port  # noqa: B018 - reading it checks it
        except ValueError:
            raise ConfigError(f"{name} has a port that is not a number: {shown!r}; "
                              f"expected {expected}") from None
        if not (parts.hostname or "host=" in parts.query) or not parts.path.strip("/"):
            raise ConfigError(f"{name} needs a host and a database name, got {shown!r}; "
                              f"expected {expected}")
        return "postgresql+psycopg" + raw[len(parts.scheme):]
    if parts.scheme == "sqlite":
        _check_sqlite_folder(name, raw)
        return raw
    raise ConfigError(f"{name} must be {expected}, got {shown!r}")


def _check_sqlite_folder(name: str, raw: str) -> None:
    # A typo in the path would otherwise start the app and fail every request with
    # "unable to open database file"; the folder is not made, so a typo never is.
    path = raw.split("?", 1)[0][len("sqlite:///"):]
    if not path or path == ":memory:" or raw.startswith("sqlite://") and \
            not raw.startswith("sqlite:///"):
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise ConfigError(f"{name} points at {path}, but the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{name} points at {path}, but the folder {folder} is not writable")


def check_redis_url(name: str, raw: str | None) -> str | None:
    """A Redis URL redis-py can use, or ConfigError naming the setting."""
    # Empty is unset, as for the other optional services (a compose file's ${REDIS_URL:-}).
    if raw is None or not raw.strip():
        return None
    shown = without_password(raw)
    expected = "redis://host:port/db (rediss:// for TLS, unix:///path for a socket)"
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{name} must be {expected}, got {shown!r}")
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ConfigError(f"{name} has a port that is not a number: {shown!r}; "
                          f"expected {expected}") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"{name} needs a host, got {shown!r}; expected {expected}")
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        raise ConfigError(f"{name} must end in a database number (/0), got {shown!r}")
    return raw


def _secret_key(environment: str, raw: str | None, instance_dir: Path) -> str:
    if raw is not None:
        if raw.strip().lower() in WEAK_SECRET_KEYS or len(raw) < 32:
            if environment == "production":
                raise ConfigError("SECRET_KEY is too weak: use at least 32 random characters")
        return raw
    if environment == "production":
        raise ConfigError("SECRET_KEY is required in production")
    # In development a key is made once and kept, so logins survive a restart.
    key_file = instance_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _security_contact(raw: str | None) -> str | None:
    # RFC 9116's Contact is a URI: an e-mail address becomes mailto:, as people type it.
    value = (raw or "").strip()
    if not value:
        return None
    if "@" in value and ":" not in value and " " not in value:
        value = f"mailto:{value}"
    if not value.startswith(("mailto:", "https://", "tel:")) or any(
            c.isspace() or c in "<>\"" for c in value) or len(value) > 300:
        raise ConfigError("SECURITY_CONTACT must be an e-mail address or an https:// "
                          f"address, got {value[:80]!r}")
    return value


def load_config(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Read the environment into a Flask config mapping, or raise ConfigError."""
    env = dict(os.environ if environ is None else environ)
    environment = env.get("GONGFANG_ENV", "development")
    if environment not in {"development", "production"}:
        raise ConfigError(f"GONGFANG_ENV must be development or production, got {environment!r}")

    instance_dir = Path(env.get("INSTANCE_DIR") or PROJECT_ROOT / "instance").resolve()
    if "DATABASE_URL" in env:
        database_url = normalise_database_url("DATABASE_URL", env["DATABASE_URL"])
    else:
        instance_dir.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_dir / 'gongfang.db'}"
    timezone_name = env.get("DEFAULT_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"DEFAULT_TIMEZONE is not a known time zone: {timezone_name!r}") from exc
    locale = env.get("DEFAULT_LOCALE", "zh_Hans_CN")
    if locale not in SUPPORTED_LOCALES:
        raise ConfigError(f"DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")

    redis_url = check_redis_url("REDIS_URL", env.get("REDIS_URL"))

    stripe_keys = {k: env.get(k) or None for k in
                   ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")}
    if any(stripe_keys.values()) and not all(stripe_keys.values()):
        missing = ", ".join(k for k, v in stripe_keys.items() if not v)
        raise ConfigError(f"Stripe needs all three keys; missing: {missing}")

    smtp_host = env.get("SMTP_HOST") or None
    edge_url = (env.get("LIVE_EDGE_URL") or "").rstrip("/") or None
    if edge_url and (urlsplit(edge_url).scheme not in {"http", "https"}
                     or not urlsplit(edge_url).hostname):
        raise ConfigError(f"LIVE_EDGE_URL must be an http:// address, got {edge_url!r}")
    edge_rtmp = env.get("LIVE_EDGE_RTMP_URL") or (
        f"rtmp://{urlsplit(edge_url).hostname}:1935/ingest" if edge_url else None)
    if edge_rtmp and urlsplit(edge_rtmp).scheme not in {"rtmp", "rtmps"}:
        raise ConfigError(f"LIVE_EDGE_RTMP_URL must start with rtmp://, got {edge_rtmp!r}")
    security_contact = _security_contact(env.get("SECURITY_CONTACT"))
    config: dict[str, object] = {
        "ENVIRONMENT": environment,
        "SECURITY_CONTACT": security_contact,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": _secret_key(environment, env.get("SECRET_KEY"), instance_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "MEDIA_DIR": str(Path(env.get("MEDIA_DIR") or instance_dir / "media").resolve()),
        "DEFAULT_TIMEZONE": timezone_name,
        "BABEL_DEFAULT_LOCALE": locale,
        "BABEL_DEFAULT_TIMEZONE": timezone_name,
        "SMTP_HOST": smtp_host,
        "SMTP_PORT": _parse_int("SMTP_PORT", env.get("SMTP_PORT", "25"), minimum=1, maximum=65535),
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _parse_bool("SMTP_STARTTLS", env.get("SMTP_STARTTLS", "0")),
        "MAIL_FROM": env.get("MAIL_FROM", "工坊直播 <no-reply@gongfang.example>"),
        "MAIL_DIR": str(instance_dir / "mail"),
        "EMBEDDED_SCHEDULER": _parse_bool("EMBEDDED_SCHEDULER", env.get("EMBEDDED_SCHEDULER", "0")),
        "SCHEDULER_STANDBY_SECONDS": _parse_int(
            "SCHEDULER_STANDBY_SECONDS", env.get("SCHEDULER_STANDBY_SECONDS", "15"),
            minimum=1, maximum=300),
        "HOLD_MINUTES": _parse_int("HOLD_MINUTES", env.get("HOLD_MINUTES", "15"),
                                   minimum=1, maximum=24 * 60),
        "OFFLINE_HOLD_HOURS": _parse_int("OFFLINE_HOLD_HOURS",
                                         env.get("OFFLINE_HOLD_HOURS", "72"),
                                         minimum=1, maximum=30 * 24),
        "EVENTS_HISTORY": _parse_int("EVENTS_HISTORY", env.get("EVENTS_HISTORY", "500"),
                                     minimum=10, maximum=100_000),
        "EVENTS_HEARTBEAT_SECONDS": _parse_int(
            "EVENTS_HEARTBEAT_SECONDS", env.get("EVENTS_HEARTBEAT_SECONDS", "15"),
            minimum=1, maximum=300),
        "EVENTS_STREAM_SECONDS": _parse_int(
            "EVENTS_STREAM_SECONDS", env.get("EVENTS_STREAM_SECONDS", "900"),
            minimum=10, maximum=24 * 3600),
        "EVENTS_REDIS_PREFIX": env.get("EVENTS_REDIS_PREFIX") or "gongfang:events:",
        "BASE_URL": (env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # Unset, the cache keeps pages 5 s, and none in tests (catalog/page_cache.py).
        **({"CATALOG_PAGE_CACHE_SECONDS": _parse_int(
            "CATALOG_PAGE_CACHE_SECONDS", env["CATALOG_PAGE_CACHE_SECONDS"], minimum=0,
            maximum=3600)} if env.get("CATALOG_PAGE_CACHE_SECONDS") else {}),
        # Unset, each limit keeps the figure core/rate_limits.py gives it and why.
        **{name: _parse_rate(name, env[name]) for name in RATE_LIMIT_SETTINGS
           if env.get(name)},
        "LIVE_EDGE_URL": edge_url,
        "LIVE_EDGE_PUBLIC_URL": (env.get("LIVE_EDGE_PUBLIC_URL") or "").rstrip("/"),
        "LIVE_EDGE_RTMP_URL": edge_rtmp,
        "LIVE_EDGE_SECRET": env.get("LIVE_EDGE_SECRET") or None,
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "STRIPE_ACCOUNT_ID": env.get("STRIPE_ACCOUNT_ID") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        **stripe_keys,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environment == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": environment == "production",
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        # Flask takes FLASK_DEBUG from the environment even under gunicorn; a real shop
        # never runs in debug mode (errors would escape to the server).
        **({"DEBUG": False} if environment == "production" else {}),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Form views check the token through the form, so a stale token shows up as
        # an error beside what the user typed; every other write is checked globally.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "PASSWORD_RESET_MAX_AGE": 3600,
        # Werkzeug's method name; not read from the environment, only tests lower it.
        "PASSWORD_HASH_METHOD": "scrypt",
    }
    return config
