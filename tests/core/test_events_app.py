"""The events bus in the app: its settings, the backend chosen, publishing after commit."""

from __future__ import annotations

import logging
import socket

import pytest

from core.config import ConfigError, load_config
from core.events import MemoryBus, bus, publish_after_commit
from core.events.redis_bus import RedisBus
from tests.factories import make_user

CHANNEL = "live:5"


@pytest.mark.parametrize("name, value", [
    ("EVENTS_HISTORY", "lots"), ("EVENTS_HISTORY", "0"),
    ("EVENTS_HEARTBEAT_SECONDS", "0"), ("EVENTS_HEARTBEAT_SECONDS", "1.5"),
    ("EVENTS_STREAM_SECONDS", "-5"), ("EVENTS_STREAM_SECONDS", "forever"),
])
def test_malformed_events_settings_stop_the_start_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({"INSTANCE_DIR": str(tmp_path), name: value})


def test_events_settings_defaults_and_values(tmp_path):
    config = load_config({"INSTANCE_DIR": str(tmp_path)})
    assert (config["EVENTS_HISTORY"], config["EVENTS_HEARTBEAT_SECONDS"],
            config["EVENTS_STREAM_SECONDS"], config["EVENTS_REDIS_PREFIX"]) == (
        500, 15, 900, "gongfang:events:")
    config = load_config({"INSTANCE_DIR": str(tmp_path), "EVENTS_HISTORY": "50",
                          "EVENTS_REDIS_PREFIX": "shop2:events:"})
    assert (config["EVENTS_HISTORY"], config["EVENTS_REDIS_PREFIX"]) == (50, "shop2:events:")


def test_without_redis_the_app_uses_the_in_process_bus(app_config):
    from app import create_app

    app = create_app({**app_config, "REDIS_URL": None})
    with app.app_context():
        assert isinstance(bus(), MemoryBus)
    app.extensions["database"].engine.dispose()


def test_with_redis_url_the_app_uses_redis_streams(app_config, redis_url, redis_events_prefix):
    from app import create_app

    app = create_app({**app_config, "REDIS_URL": redis_url,
                      "EVENTS_REDIS_PREFIX": redis_events_prefix, "EVENTS_HISTORY": 20})
    with app.app_context():
        events = bus()
        assert isinstance(events, RedisBus)
        assert events.prefix == redis_events_prefix
        event = events.publish(CHANNEL, "pin", {"product": 1})
        assert events.latest_id(CHANNEL) == event.id
    app.extensions["events"].close()
    app.extensions["database"].engine.dispose()


@pytest.fixture
def memory_app(app_config):
    """The app with the in-process bus, whatever the environment says."""
    from app import create_app

    app = create_app({**app_config, "REDIS_URL": None})
    yield app
    app.extensions["database"].engine.dispose()


def test_an_event_is_published_only_once_the_change_is_committed(memory_app):
    from core.db import db

    with memory_app.app_context():
        with db.transaction() as session:
            make_user(session)
            publish_after_commit(session, CHANNEL, "pin", {"product": 1})
            assert bus().latest_id(CHANNEL) is None  # not before the commit
        [event] = bus().since(CHANNEL, f"{bus().epoch}-0")
        assert (event.kind, event.data) == ("pin", {"product": 1})


def test_nothing_is_published_for_a_change_that_was_rolled_back(memory_app):
    from core.db import db

    with memory_app.app_context():
        with pytest.raises(RuntimeError, match="changed my mind"), db.transaction() as session:
            make_user(session)
            publish_after_commit(session, CHANNEL, "pin", {"product": 1})
            raise RuntimeError("changed my mind")
        assert bus().latest_id(CHANNEL) is None


def test_a_bad_kind_fails_the_request_that_asked_for_it_not_the_commit(memory_app):
    from core.db import db

    with memory_app.app_context():
        with pytest.raises(ValueError, match="kind"), db.transaction() as session:
            publish_after_commit(session, CHANNEL, "Pin!", {"product": 1})
        assert bus().latest_id(CHANNEL) is None


def test_with_redis_down_the_change_stays_committed_and_one_line_is_logged(
        app_config, caplog):
    from sqlmodel import select

    from accounts.models import User
    from app import create_app
    from core.db import db

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app({**app_config, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    try:
        with app.app_context():
            with db.transaction() as session:
                user = make_user(session)
                publish_after_commit(session, CHANNEL, "pin", {"product": 1})
            with db.transaction(write=False) as session:
                assert session.exec(select(User).where(User.id == user.id)).one()
        lines = [r for r in caplog.records if r.name == "core.events"]
        assert len(lines) == 1 and lines[0].levelno == logging.WARNING
        assert "pin not published on live:5" in lines[0].getMessage()
        assert "cannot be reached" in lines[0].getMessage()
        assert not lines[0].exc_info
    finally:
        app.extensions["events"].close()
        app.extensions["database"].engine.dispose()
