"""Two app processes sharing Redis, as two gunicorn workers or hosts would: an event
published through one reaches a viewer of the other, and a viewer who reconnects to the
other resumes without a gap. Real gunicorn, real Redis, PostgreSQL."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.app_processes import EventStream as _Stream
from tests.app_processes import post_form
from tests.app_processes import signed_in as _signed_in
from tests.app_processes import start_gunicorn as _start
from tests.app_processes import stop as _stop
from tests.livestream.room_helpers import make_live_room


def _post(browser, url, path, data):
    response = post_form(browser, url, path, data,
                         form_page=f"/live/{path.split('/')[2]}/control")
    assert response.status_code == 200, response.text[:300]


# Events between processes through Redis are the subject, not the database: PostgreSQL
# only, the backend of several processes (SQLite is the one-process row of DESIGN.md).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_events_cross_processes_and_resume_on_the_other(database_url, redis_url, db_session,
                                                        tmp_path):
    with db_session() as session:
        made = make_live_room(session)
    slug = made["live"].slug
    (first, _v1), (second, _v2) = made["items"]
    prefix = f"gf-test-room:{secrets.token_hex(4)}:"
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "EVENTS_REDIS_PREFIX": prefix, "EVENTS_HEARTBEAT_SECONDS": "1",
           "SECRET_KEY": "two-processes-" + "k" * 32, "INSTANCE_DIR": str(tmp_path),
           "EMBEDDED_SCHEDULER": "0", "CATALOG_PAGE_CACHE_SECONDS": "0"}
    one, url_one = _start(env)
    two, url_two = _start(env)
    try:
        viewer = _Stream(f"{url_two}/live/{slug}/events")
        assert viewer.next_event()["event"] == "snapshot"
        presenter = _signed_in(url_one, made["presenter"].email)
        _post(presenter, url_one, f"/live/{slug}/control/pin", {"product_id": first.id})
        pinned = viewer.next_event()
        assert pinned["event"] == "pin"
        assert json.loads(pinned["data"])["product_id"] == first.id
        viewer.close()
        # While the viewer is away, two more things happen, through the other process.
        other_side = _signed_in(url_two, made["presenter"].email)
        _post(other_side, url_two, f"/live/{slug}/control/pin", {"product_id": second.id})
        _post(other_side, url_two, f"/live/{slug}/control/caption", {"text": "第二件"})
        back = _Stream(f"{url_one}/live/{slug}/events", last_id=pinned["id"])
        missed = [back.next_event(), back.next_event()]
        assert [m["event"] for m in missed] == ["pin", "caption"]
        assert json.loads(missed[0]["data"])["product_id"] == second.id
        assert json.loads(missed[1]["data"])["text"] == "第二件"
        back.close()
    finally:
        _stop(one)
        _stop(two)
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
