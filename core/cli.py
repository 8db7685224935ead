"""Command line: `flask --app app <command>`."""

from __future__ import annotations

import click
from flask import Flask, current_app

from core.config import PROJECT_ROOT


def alembic_config():
    """Alembic's config pointed at our migrations and the app's database."""
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = current_app.config["DATABASE_URL"]
    return config


def upgrade_database() -> None:
    """Bring the schema up to date (every branch head)."""
    from alembic import command

    command.upgrade(alembic_config(), "heads")


def database_is_empty() -> bool:
    """True when no user exists yet (a fresh install)."""
    from sqlmodel import func, select

    from accounts.models import User
    from core.db import db

    with db.transaction(write=False) as session:
        return session.exec(select(func.count()).select_from(User)).one() == 0


def init_app(app: Flask) -> None:
    """Register the commands."""

    @app.cli.command("db-upgrade")
    def db_upgrade_command():
        """Apply every migration."""
        upgrade_database()
        click.echo("database is up to date")

    @app.cli.command("create-operator")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    def create_operator_command(email: str, name: str):
        """Create an operator; the password is asked for, never taken as an argument."""
        from email_validator import EmailNotValidError, validate_email

        from accounts.forms import MIN_PASSWORD
        from accounts.models import Role
        from accounts.services import DuplicateAccount, register_user
        from core.db import db

        try:
            validate_email(email.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise click.ClickException(f"not an email address: {email!r}") from exc
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < MIN_PASSWORD:
            raise click.ClickException(f"the password needs at least {MIN_PASSWORD} characters")
        try:
            with db.transaction() as session:
                register_user(session=session, email=email, password=password,
                              display_name=name, roles=(Role.OPERATOR,))
        except DuplicateAccount as exc:
            raise click.ClickException("an account with this email already exists") from exc
        click.echo(f"operator {email} created")

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users.")
    def demo_command(if_empty: bool):
        """Load the demo shop (running it again adds nothing twice)."""
        from core.demo import DEMO_OPERATOR_EMAIL, DEMO_PASSWORD, load_demo

        if if_empty and not database_is_empty():
            click.echo("database already has data; demo not loaded")
            return
        load_demo()
        click.echo("demo data loaded")
        click.echo(f"  operator: {DEMO_OPERATOR_EMAIL} / {DEMO_PASSWORD}")

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run background jobs in this process (one per database; others stand by)."""
        from core.scheduler import run_forever

        run_forever(current_app._get_current_object())

    @app.cli.command("run-job")
    @click.argument("job_id")
    def run_job_command(job_id: str):
        """Run one background job now."""
        from core.scheduler import registered_jobs, run_job

        if job_id not in registered_jobs():
            raise click.ClickException(f"no job {job_id!r}; known: "
                                       + ", ".join(sorted(registered_jobs())))
        click.echo(repr(run_job(current_app._get_current_object(), job_id)))

    @app.cli.command("edge-config")
    @click.option("--out", "out", default=".cache/edge", show_default=True,
                  help="Folder for nginx.conf, its logs, HLS segments and recordings.")
    @click.option("--http-port", default=8080, show_default=True)
    @click.option("--rtmp-port", default=1935, show_default=True)
    @click.option("--app-address", default="127.0.0.1:5000", show_default=True,
                  help="host:port where the edge reaches the app.")
    @click.option("--listen-host", default="127.0.0.1", show_default=True,
                  help="Address the edge listens on (0.0.0.0 in a container).")
    @click.option("--redis-url", default=None, help="Redis for Nchan when several edges run.")
    @click.option("--publish-allow", multiple=True,
                  help="Address or network of an app host that may publish (repeatable).")
    @click.option("--hls-fragment", default="2s", show_default=True,
                  help="HLS segment length; 1s with 1 s keyframes is the low-latency setting.")
    @click.option("--hls-playlist-length", default="12s", show_default=True)
    def edge_config_command(out, http_port, rtmp_port, app_address, listen_host, redis_url,
                            publish_allow, hls_fragment, hls_playlist_length):
        """Write the live edge's nginx.conf (nginx with RTMP and Nchan)."""
        from pathlib import Path

        from livestream.edge_config import settings_for, write

        extra = {"publish_allow": ["127.0.0.1", "::1", *publish_allow],
                 "hls_fragment": hls_fragment, "hls_playlist_length": hls_playlist_length}
        settings = settings_for(current_app.config, run_dir=Path(out), app_address=app_address,
                                http_port=http_port, rtmp_port=rtmp_port,
                                listen_host=listen_host, redis_url=redis_url, **extra)
        click.echo(f"wrote {write(settings)}")

    from core.backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)

    @app.cli.command("compile-translations")
    def compile_translations_command():
        """Compile the .po catalogs that changed."""
        from core.i18n import compile_catalogs

        for path in compile_catalogs():
            click.echo(f"compiled {path.relative_to(PROJECT_ROOT)}")
