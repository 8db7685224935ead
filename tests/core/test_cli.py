"""Command line: demo data, operators, migrations."""

import sqlalchemy as sa
from sqlmodel import SQLModel, select

from accounts.models import Role, User, UserRole
from core.db import db
from tests.factories import make_user


def _row_counts(app) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        return {name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for name, table in SQLModel.metadata.tables.items()}


def test_demo_twice_adds_nothing_the_second_time(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    first = _row_counts(app)
    assert first["user_account"] > 10 and first["workshop"] >= 5
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert _row_counts(app) == first


def test_demo_if_empty_skips_a_database_with_users(app, runner, db_session):
    with db_session() as session:
        make_user(session, email="someone@example.cn")
    before = _row_counts(app)
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert "not loaded" in result.output
    assert _row_counts(app) == before


def _create_operator(runner, email="op@example.cn", password="a long password 1"):  # noqa: S107
    return runner.invoke(args=["create-operator", "--email", email, "--name", "运营小王"],
                         input=f"{password}\n{password}\n")


def test_create_operator_asks_for_the_password_and_grants_the_role(app, runner, db_session):
    result = _create_operator(runner)
    assert result.exit_code == 0, result.output
    assert "a long password 1" not in result.output  # the prompt hides what is typed
    with db_session(write=False) as session:
        user = session.exec(select(User).where(User.email == "op@example.cn")).one()
        roles = set(session.exec(select(UserRole.role).where(UserRole.user_id == user.id)))
    assert roles == {Role.OPERATOR}
    from accounts.auth import password_matches

    assert password_matches(user, "a long password 1")


def test_create_operator_has_no_password_option(runner):
    result = runner.invoke(args=["create-operator", "--email", "x@example.cn", "--name", "x",
                                 "--password", "a long password 1"])
    assert result.exit_code != 0


def test_create_operator_refuses_a_short_password(app, runner):
    result = _create_operator(runner, password="short")
    assert result.exit_code != 0
    assert "at least 10" in result.output
    assert _row_counts(app)["user_account"] == 0


def test_create_operator_refuses_a_duplicate_email(app, runner, db_session):
    with db_session() as session:
        make_user(session, email="op@example.cn")
    result = _create_operator(runner, email="OP@Example.cn ")
    assert result.exit_code != 0
    assert "already exists" in result.output
    counts = _row_counts(app)
    assert counts["user_account"] == 1 and counts["user_role"] == 1


def test_create_operator_refuses_a_malformed_email(app, runner):
    result = _create_operator(runner, email="not an address")
    assert result.exit_code != 0
    assert _row_counts(app)["user_account"] == 0


def test_db_upgrade_on_an_up_to_date_database_is_a_no_op(app, runner):
    before = _row_counts(app)
    with app.app_context(), db.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    result = runner.invoke(args=["db-upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert _row_counts(app) == before
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").all() \
            == version


def test_run_job_command(app, runner):
    result = runner.invoke(args=["run-job", "send_outbox"])
    assert result.exit_code == 0 and result.output.strip() == "0"
    result = runner.invoke(args=["run-job", "no_such_job"])
    assert result.exit_code != 0 and "send_outbox" in result.output
