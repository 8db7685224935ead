"""Migrations build the whole schema from empty, on SQLite and on PostgreSQL."""

import os
import secrets

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import models_registry  # noqa: F401
from core.cli import alembic_config
from core.db import include_in_schema_comparison, make_engine


def _upgrade_and_compare(url: str, tmp_path):
    from app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "m" * 40,
                      "INSTANCE_DIR": str(tmp_path / "instance")})
    with app.app_context():
        config = alembic_config()
        command.upgrade(config, "heads")
        heads = set(ScriptDirectory.from_config(config).get_heads())
    app.extensions["database"].engine.dispose()
    engine = make_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "include_object": include_in_schema_comparison})
            differences = compare_metadata(context, SQLModel.metadata)
            applied = set(context.get_current_heads())
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    return differences, applied, heads, tables


def test_fresh_sqlite_file_migrates_to_the_models(tmp_path):
    differences, applied, heads, tables = _upgrade_and_compare(
        f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    assert differences == []
    assert applied == heads
    assert set(SQLModel.metadata.tables) <= tables


def test_fresh_postgresql_schema_migrates_to_the_models(postgres_server_url, tmp_path):
    if postgres_server_url is None:
        pytest.skip("PostgreSQL is not reachable")
    schema = f"gf_migrate_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        base = postgres_server_url.replace("postgresql://", "postgresql+psycopg://", 1)
        separator = "&" if "?" in base else "?"
        url = f"{base}{separator}options=-csearch_path%3D{schema}"
        differences, applied, heads, tables = _upgrade_and_compare(url, tmp_path)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert differences == []
    assert applied == heads
    assert set(SQLModel.metadata.tables) <= tables


def test_migration_chain_has_heads_that_upgrade_heads_applies(app):
    with app.app_context():
        script = ScriptDirectory.from_config(alembic_config())
        heads = set(script.get_heads())
        assert heads, "no migrations"
        # Every revision is reachable from the heads, so `upgrade heads` applies them all.
        reachable = {rev.revision for rev in script.walk_revisions("base", "heads")}
        every = {rev.revision for rev in script.revision_map.iterate_revisions(
            "heads", "base")}
        assert reachable == every
        engine = make_engine(app.config["DATABASE_URL"])
        with engine.connect() as connection:
            assert set(MigrationContext.configure(connection).get_current_heads()) == heads
        engine.dispose()


def test_migration_files_are_date_prefixed():
    from core.config import PROJECT_ROOT

    for path in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"):
        assert path.name[:4].isdigit() and path.name[4] == "_", path.name


def test_search_documents_written_before_english_plurals_are_rebuilt(tmp_path):
    """d5e9f3b2a8c4: a product indexed under the old rules is found by its plural."""
    from app import create_app
    from core.db import db
    from tests.factories import make_product, make_workshop

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}",
                      "SECRET_KEY": "m" * 40, "INSTANCE_DIR": str(tmp_path / "instance")})
    with app.app_context():
        config = alembic_config()
        command.upgrade(config, "heads")
        with db.transaction() as session:
            product = make_product(session, workshop=make_workshop(session), title="布包")
            product.title_en = "Blue cloth totes"
            session.add(product)
            session.flush()
            # The document as the rules before this migration wrote it.
            session.execute(sa.text(
                "INSERT INTO product_search_document (product_id, document) "
                "VALUES (:id, 'blue cloth totes 布 包 布包')"), {"id": product.id})
        command.downgrade(config, "c4d8e2a1f7b3")
        command.upgrade(config, "heads")
        engine = app.extensions["database"].engine
        with engine.connect() as connection:
            document = connection.execute(sa.text(
                "SELECT document FROM product_search_document")).scalar_one()
        engine.dispose()
    assert {"tote", "bag", "布包", "totes"} <= set(document.split())
