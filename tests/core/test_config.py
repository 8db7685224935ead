"""Configuration: malformed values stop the start and name the variable."""

import stat

import pytest

from core.config import ConfigError, load_config, normalise_database_url

STRONG = "k" * 20 + "Q7x!" * 5


@pytest.fixture
def env(tmp_path):
    """A minimal development environment with its own instance folder."""
    return {"INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": STRONG}


@pytest.mark.parametrize("name, value", [
    ("SMTP_PORT", "abc"),
    ("SMTP_PORT", "70000"),
    ("DATABASE_URL", "mysql://root@localhost/shop"),
    ("DEFAULT_TIMEZONE", "Mars/Base"),
    ("DEFAULT_TIMEZONE", "../../etc/passwd"),
    ("GONGFANG_ENV", "staging"),
    ("REDIS_URL", "http://127.0.0.1:6379/0"),
    ("DEFAULT_LOCALE", "fr"),
    ("HOLD_MINUTES", "0"),
    ("CATALOG_PAGE_CACHE_SECONDS", "-1"),
    ("CATALOG_PAGE_CACHE_SECONDS", "five"),
    ("EMBEDDED_SCHEDULER", "maybe"),
    ("SMTP_STARTTLS", "sometimes"),
])
def test_malformed_value_fails_naming_the_variable(env, name, value):
    env[name] = value
    with pytest.raises(ConfigError, match=name):
        load_config(env)


@pytest.mark.parametrize("present", [
    ("STRIPE_SECRET_KEY",),
    ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"),
    ("STRIPE_WEBHOOK_SECRET",),
])
def test_partial_stripe_keys_fail_naming_the_missing_ones(env, present):
    all_keys = {"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_PUBLISHABLE_KEY": "pk_test_1",
                "STRIPE_WEBHOOK_SECRET": "whsec_1"}
    for key in present:
        env[key] = all_keys[key]
    with pytest.raises(ConfigError) as info:
        load_config(env)
    for key in set(all_keys) - set(present):
        assert key in str(info.value)


def test_all_three_stripe_keys_are_accepted(env):
    env.update(STRIPE_SECRET_KEY="sk_test_1", STRIPE_PUBLISHABLE_KEY="pk_test_1",
               STRIPE_WEBHOOK_SECRET="whsec_1")
    assert load_config(env)["STRIPE_SECRET_KEY"] == "sk_test_1"


def test_defaults(env):
    config = load_config(env)
    assert config["ENVIRONMENT"] == "development"
    assert config["DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    assert config["BABEL_DEFAULT_LOCALE"] == "zh_Hans_CN"
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["DATABASE_URL"].endswith("/instance/gongfang.db")
    assert config["SMTP_PORT"] == 25
    assert config["EMBEDDED_SCHEDULER"] is False


@pytest.mark.parametrize("key", [None, "", "secret", "changeme", "short-but-random-9f8e"])
def test_production_refuses_a_missing_or_weak_secret_key(env, key):
    env["GONGFANG_ENV"] = "production"
    if key is None:
        env.pop("SECRET_KEY")
    else:
        env["SECRET_KEY"] = key
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(env)


def test_production_accepts_a_strong_key_and_secures_cookies(env):
    env["GONGFANG_ENV"] = "production"
    config = load_config(env)
    assert config["SECRET_KEY"] == STRONG
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_cookies_are_not_secure_only(env):
    assert load_config(env)["SESSION_COOKIE_SECURE"] is False


def test_development_generates_one_key_and_reuses_it(tmp_path):
    env = {"INSTANCE_DIR": str(tmp_path / "instance")}
    first = load_config(env)["SECRET_KEY"]
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == first
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_config(env)["SECRET_KEY"] == first
    other = load_config({"INSTANCE_DIR": str(tmp_path / "other")})["SECRET_KEY"]
    assert other != first


@pytest.mark.parametrize("raw, expected", [
    ("postgres://u:p@db.example:5432/shop", "postgresql+psycopg://u:p@db.example:5432/shop"),
    ("postgresql://u@db/shop", "postgresql+psycopg://u@db/shop"),
    ("postgresql+psycopg://u@db/shop", "postgresql+psycopg://u@db/shop"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls_are_normalised_to_psycopg(raw, expected):
    assert normalise_database_url("DATABASE_URL", raw) == expected


def test_postgres_url_from_environment_is_normalised(env):
    env["DATABASE_URL"] = "postgres://u@db/shop"
    assert load_config(env)["DATABASE_URL"] == "postgresql+psycopg://u@db/shop"


def test_create_app_normalises_an_override_url(tmp_path):
    from app import create_app

    application = create_app({"DATABASE_URL": "postgres://u@127.0.0.1:1/none",
                              "SECRET_KEY": STRONG, "INSTANCE_DIR": str(tmp_path)})
    assert application.config["DATABASE_URL"] == "postgresql+psycopg://u@127.0.0.1:1/none"
    application.extensions["database"].engine.dispose()


def test_the_page_cache_can_be_turned_off(env):
    assert "CATALOG_PAGE_CACHE_SECONDS" not in load_config(env)  # 5 s, or none in tests
    env["CATALOG_PAGE_CACHE_SECONDS"] = "0"
    assert load_config(env)["CATALOG_PAGE_CACHE_SECONDS"] == 0
