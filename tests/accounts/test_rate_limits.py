"""Too many wrong passwords, reset mails or new accounts: the visitor is asked to wait.

Counts live in the app's process by default and in Redis when it is configured, where
two apps (two workers or hosts) share them. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets

import pytest
from sqlmodel import func, select

from accounts.models import User
from core.mail import OutboxMail
from tests.accounts.pages import field_error, field_value
from tests.factories import PASSWORD, make_user

TOO_MANY = "你试的次数太多了。请等 10 分钟后再试。"


@pytest.fixture
def person(db_session):
    with db_session() as session:
        return make_user(session, email="wang.fang@example.cn", phone="13812345678").id


def _sign_in(client, login, password):
    return client.post("/account/login", data={"login": login, "password": password})


def test_five_wrong_passwords_lock_the_account_for_a_while(client, db_session, person):
    for _ in range(5):
        assert _sign_in(client, "wang.fang@example.cn", "wrong password").status_code == 400
    # Now even the right password is not checked, whichever way the account is named.
    for login in ("wang.fang@example.cn", "WANG.FANG@example.cn", "+86 138 1234 5678"):
        blocked = _sign_in(client, login, PASSWORD)
        assert blocked.status_code == 429
        page = blocked.get_data(as_text=True)
        assert field_error(page, "password") == TOO_MANY
        assert "<title>错误：" in page
        assert field_value(page, "login") == login
    assert "wang.fang@example.cn" not in client.get("/account/").get_data(as_text=True)
    with db_session(write=False) as session:
        assert session.get(User, person).last_login_at is None


def test_right_passwords_are_never_counted(client, person):
    for _ in range(8):
        assert _sign_in(client, "wang.fang@example.cn", PASSWORD).status_code == 302
        client.post("/account/logout")


def test_one_address_guessing_many_accounts_is_stopped(client, db_session):
    with db_session() as session:
        emails = [make_user(session).email for _ in range(6)]
    for email in emails[:5]:  # four tries each stays under the per-account limit
        for _ in range(4):
            assert _sign_in(client, email, "password123").status_code == 400
    blocked = _sign_in(client, emails[5], PASSWORD)
    assert blocked.status_code == 429
    assert field_error(blocked.get_data(as_text=True), "password") == TOO_MANY


def test_reset_mails_are_limited_per_mailbox(client, db_session, person):
    def outbox():
        with db_session(write=False) as session:
            return session.exec(select(func.count()).select_from(OutboxMail)).one()

    for _ in range(3):
        sent = client.post("/account/password/forgot", data={"email": "wang.fang@example.cn"})
        assert sent.status_code == 200
    assert outbox() == 3
    blocked = client.post("/account/password/forgot", data={"email": "wang.fang@example.cn"})
    assert blocked.status_code == 429
    assert field_error(blocked.get_data(as_text=True), "email") == \
        "你试的次数太多了。请等 60 分钟后再试。"
    assert outbox() == 3
    # A mailbox with no account is limited the same way, so the limit tells nothing.
    for _ in range(3):
        client.post("/account/password/forgot", data={"email": "nobody@example.cn"})
    assert client.post("/account/password/forgot",
                       data={"email": "nobody@example.cn"}).status_code == 429


@pytest.fixture
def shared_counts(app_config, redis_url):
    """Two apps, as two workers, counting in one Redis under a prefix of this test's."""
    from app import create_app

    app_config.update(REDIS_URL=redis_url, RATE_LIMIT_PREFIX=f"test-{secrets.token_hex(6)}")
    apps = [create_app(app_config) for _ in range(2)]
    yield apps
    import redis

    connection = redis.Redis.from_url(redis_url)
    for key in connection.scan_iter(f"*{app_config['RATE_LIMIT_PREFIX']}*"):
        connection.delete(key)
    for application in apps:
        application.extensions["database"].engine.dispose()


def test_workers_share_the_counts_through_redis(shared_counts, db_session):
    first, second = shared_counts
    with first.app_context():
        from core.db import db

        with db.transaction() as session:
            make_user(session, email="zhao.lei@example.cn")
    for worker in (first, second, first, second, first):
        response = _sign_in(worker.test_client(), "zhao.lei@example.cn", "wrong password")
        assert response.status_code == 400
    # The sixth try, on either worker, waits: the counts are Redis's, not a process's.
    for worker in (second, first):
        assert _sign_in(worker.test_client(), "zhao.lei@example.cn",
                        PASSWORD).status_code == 429


def test_while_redis_is_down_the_process_counts_on_its_own(app_config, db_session, person,
                                                           caplog):
    from app import create_app

    with db_session() as session:
        make_user(session, email="zhao.lei@example.cn")
    app_config.update(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    application = create_app(app_config)
    try:
        for _ in range(5):
            assert _sign_in(application.test_client(), "wang.fang@example.cn",
                            "wrong password").status_code == 400
        # The guesser is still stopped, and nobody else is locked out.
        assert _sign_in(application.test_client(), "wang.fang@example.cn",
                        PASSWORD).status_code == 429
        assert _sign_in(application.test_client(), "zhao.lei@example.cn",
                        PASSWORD).status_code == 302
        said = [r.getMessage() for r in caplog.records if r.name == "core.rate_limits"]
        assert len(said) == 1 and "each process counts on its own" in said[0]
    finally:
        application.extensions["database"].engine.dispose()
