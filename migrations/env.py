"""Alembic environment: the app's models and database, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

import models_registry  # noqa: F401  (imports every package's models)
from core.config import normalise_database_url
from core.db import UTCDateTime, include_in_schema_comparison, make_engine

config = context.config
target_metadata = SQLModel.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        from core.config import load_config

        url = load_config()["DATABASE_URL"]
    return normalise_database_url("DATABASE_URL", url)


def _render_item(type_, obj, autogen_context):
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=_database_url(), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, render_item=_render_item,
                      include_object=include_in_schema_comparison)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      render_item=_render_item, compare_type=True,
                      include_object=include_in_schema_comparison)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
