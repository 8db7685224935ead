"""Processes of their own for the events tests: `python -m tests.core.event_processes ROLE`.

listen URL PREFIX CHANNEL SUBSCRIPTIONS
    A RedisBus with SUBSCRIPTIONS open on CHANNEL; prints "ready", then one JSON line per
    event the first subscription receives, until its standard input closes.
gevent-fanout SUBSCRIBERS
    After gevent.monkey.patch_all(): SUBSCRIBERS threads (greenlets) subscribe to one
    MemoryBus channel, one event is published, and the number that received it is printed.
"""

from __future__ import annotations

import json
import sys
import threading


def listen(url: str, prefix: str, channel: str, subscriptions: int) -> None:
    """Subscribe and print what arrives (see the module docstring)."""
    from core.events.redis_bus import RedisBus

    bus = RedisBus(url, prefix=prefix, refresh_seconds=0.3, stale_seconds=1)
    subs = [bus.subscribe(channel) for _ in range(subscriptions)]
    stdin_closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stdin_closed.set()), daemon=True).start()
    print("ready", flush=True)
    while not stdin_closed.is_set():
        event = subs[0].get(timeout=0.2)
        if event is not None:
            print(json.dumps({"id": event.id, "kind": event.kind, "data": event.data}),
                  flush=True)
    for subscription in subs:
        subscription.close()
    bus.close()


def gevent_fanout(subscribers: int) -> None:
    """Fan one event out to many greenlet subscribers (see the module docstring)."""
    from gevent import monkey

    monkey.patch_all()
    import time

    from core.events import MemoryBus

    bus = MemoryBus()
    received = []
    ready = threading.Semaphore(0)

    def watch():
        with bus.subscribe("live:gevent") as subscription:
            ready.release()
            event = subscription.get(timeout=30)
            if event is not None and event.data == {"hello": "everyone"}:
                received.append(time.perf_counter())

    threads = [threading.Thread(target=watch) for _ in range(subscribers)]
    for thread in threads:
        thread.start()
    for _ in threads:
        ready.acquire()
    published = time.perf_counter()
    bus.publish("live:gevent", "status", {"hello": "everyone"})
    for thread in threads:
        thread.join(timeout=30)
    slowest = max(received) - published if received else None
    print(json.dumps({"received": len(received), "connected_after": bus.connected(
        "live:gevent"), "patched": monkey.is_module_patched("threading"),
        "slowest_seconds": slowest}), flush=True)


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "listen":
        listen(args[0], args[1], args[2], int(args[3]))
    elif role == "gevent-fanout":
        gevent_fanout(int(args[0]))
    else:
        raise SystemExit(f"unknown role {role!r}")
