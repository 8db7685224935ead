"""Sixteen people registering one e-mail at once: one account, clear messages, no 500."""

import http.client
import threading
from urllib.parse import urlencode, urlsplit

from accounts.models import User
from tests.accounts.pages import count, field_error

THREADS = 16


def _register(address: str, results: list, index: int, start: threading.Barrier) -> None:
    parts = urlsplit(address)
    body = urlencode({"display_name": f"抢注{index}", "email": "same@example.cn",
                      "password": "long enough pw", "password_again": "long enough pw"})
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        start.wait()
        connection.request("POST", "/account/register", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        results[index] = (response.status, response.read().decode("utf-8"))
    finally:
        connection.close()


def test_sixteen_registrations_of_one_email_make_one_account(live_server, db_session):
    results: list = [None] * THREADS
    start = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_register, args=(live_server.url, results, i, start))
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(status for status, _ in results)
    assert statuses == [302] + [400] * (THREADS - 1)
    for status, page in results:
        if status == 400:
            assert field_error(page, "email") == "这个邮箱已经注册过了。请直接登录。"
    assert count(db_session, User) == 1


def test_race_through_the_service_gives_duplicate_errors(app, db_session):
    from accounts import services

    outcomes: list = [None] * THREADS
    start = threading.Barrier(THREADS)

    def register(index: int) -> None:
        start.wait()
        try:
            with db_session() as session:
                services.register_user(session=session, email="race@example.cn",
                                       password="long enough pw", display_name=str(index))
            outcomes[index] = "created"
        except services.DuplicateAccount as exc:
            outcomes[index] = exc.field

    threads = [threading.Thread(target=register, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["created"] + ["email"] * (THREADS - 1)
    assert count(db_session, User) == 1
