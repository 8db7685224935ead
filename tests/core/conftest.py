"""Fixtures for the events bus tests: each backend, and Redis keys of the test's own."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture
def redis_events_prefix(redis_url):
    """A Redis key prefix for one test; its keys are deleted afterwards."""
    import redis

    prefix = f"gongfang:test:events:{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def make_bus(request):
    """`make_bus(**options)` builds a bus of the test's backend (all closed at the end)."""
    from core.events import MemoryBus

    made = []

    def make(**options):
        if request.param == "memory":
            options.pop("refresh_seconds", None)
            options.pop("stale_seconds", None)
            options.pop("prefix", None)
            bus = MemoryBus(**options)
        else:
            from core.events.redis_bus import RedisBus

            prefix = options.pop("prefix", None) or request.getfixturevalue(
                "redis_events_prefix")
            bus = RedisBus(request.getfixturevalue("redis_url"), prefix=prefix, **options)
        made.append(bus)
        return bus

    make.backend = request.param
    yield make
    for bus in made:
        bus.close()
