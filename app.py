"""Gongfang Live (工坊直播): the application factory.

`app = create_app()` at the bottom serves both `flask --app app ...` and
`gunicorn app:app`.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core import cli, errors, events, i18n, navigation, security_headers
from core import forms as core_forms
from core.config import PROJECT_ROOT, ConfigError, load_config
from core.cookies import SessionCookie
from core.db import db


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding it (tests)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    settings = load_config()
    if config:
        if "DATABASE_URL" in config:
            from core.config import normalise_database_url

            config = {**config, "DATABASE_URL": normalise_database_url(
                "DATABASE_URL", str(config["DATABASE_URL"]))}
        settings.update(config)
    app.config.update(settings)
    app.session_interface = SessionCookie()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    db.init_app(app)
    events.init_app(app)
    i18n.init_app(app)
    core_forms.init_app(app)
    errors.init_app(app)
    from core import rate_limits

    rate_limits.init_app(app)  # the API's and downloads' limits, and every 429
    navigation.init_app(app)

    from accounts import auth

    auth.init_app(app)

    from accounts.navigation import register_navigation as accounts_navigation
    from catalog.views import register_navigation as catalog_navigation
    from income.views import register_navigation as income_navigation
    from livestream.views import register_navigation as livestream_navigation
    from shop.views import register_navigation as shop_navigation

    catalog_navigation()
    shop_navigation()
    income_navigation()
    accounts_navigation()
    livestream_navigation()

    from accounts.operator_views import bp as operator_accounts_bp
    from accounts.privacy_views import bp as privacy_bp
    from accounts.views import bp as accounts_bp
    from catalog.views import bp as catalog_bp
    from core.views import bp as site_bp
    from income.routes import bp as income_bp
    from livestream.views import bp as livestream_bp
    from shop.views import bp as shop_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(operator_accounts_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(income_bp)
    app.register_blueprint(livestream_bp)

    cli.init_app(app)
    security_headers.init_app(app)
    from catalog import page_cache

    page_cache.install(app)  # cached storefront pages are served before Flask is reached
    from core import metrics

    metrics.register(app)  # outside the page cache, so cached pages are counted too
    if app.config["ENVIRONMENT"] == "production":
        # Behind one proxy: trust its scheme and host so cookies are Secure over HTTPS.
        # Outermost, so the page cache and Flask see the same fixed request.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    if app.config["EMBEDDED_SCHEDULER"]:
        from core.scheduler import start_embedded

        start_embedded(app)
    return app


def _app_or_stop() -> Flask:
    # A bad setting is one line naming it, not a traceback per gunicorn worker; exit
    # code 4 is gunicorn's "App failed to load", which stops it instead of rebooting
    # workers forever (flask and the scheduler exit with it too).
    try:
        return create_app()
    except ConfigError as error:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
        logging.getLogger("core.config").critical("configuration error: %s", error)
        raise SystemExit(4) from None


app = _app_or_stop()
