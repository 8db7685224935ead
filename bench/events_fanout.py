"""Benchmark: one published event reaching N subscribers of one channel in one process.

    .venv/bin/python bench/events_fanout.py                           # threads and gevent
    .venv/bin/python bench/events_fanout.py --mode gevent --subscribers 2000 --events 20
    .venv/bin/python bench/events_fanout.py --backend redis           # REDIS_URL or local

Each subscriber is a thread (a greenlet under gevent, as in gunicorn's gevent worker)
blocked in `Subscription.get`, as a stream's body is between messages. For each event
it reports the time from just before `publish` until the last subscriber has it (and
the median subscriber), and how long `publish` itself held the caller. The gevent mode
runs in a child process that monkey-patches first. Bounded: fixed work, then it stops.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(backend: str, subscribers: int, events: int) -> dict:
    """Fan `events` events out to `subscribers` subscribers; the timings in ms."""
    import threading

    if backend == "memory":
        from core.events import MemoryBus

        bus = MemoryBus()
    else:
        import secrets

        from core.events.redis_bus import RedisBus

        bus = RedisBus(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                       prefix=f"gongfang:bench:events:{secrets.token_hex(4)}:")
    channel = "live:bench"
    arrivals: list[list[float]] = [[] for _ in range(events)]
    ready = threading.Semaphore(0)
    lock = threading.Lock()

    def watch():
        with bus.subscribe(channel) as subscription:
            ready.release()
            for _ in range(events):
                event = subscription.get(timeout=60)
                if event is None:
                    return
                now = time.perf_counter()
                with lock:
                    arrivals[event.data["n"]].append(now)

    threads = [threading.Thread(target=watch, daemon=True) for _ in range(subscribers)]
    for thread in threads:
        thread.start()
    for _ in threads:
        ready.acquire()
    time.sleep(1)  # let the Redis reader pick the channel up
    results = []
    for n in range(events):
        start = time.perf_counter()
        bus.publish(channel, "ticker", {"n": n, "text": "下单了 · 盘扣胸针"})
        published = time.perf_counter()
        deadline = time.monotonic() + 60
        while len(arrivals[n]) < subscribers and time.monotonic() < deadline:
            time.sleep(0.001)
        got = sorted(arrivals[n])
        results.append({"publish": (published - start) * 1000,
                        "median": (got[len(got) // 2] - start) * 1000,
                        "last": (got[-1] - start) * 1000, "received": len(got)})
        time.sleep(0.2)
    for thread in threads:
        thread.join(timeout=10)
    bus.close()
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(bus.url)
        keys = list(client.scan_iter(match=bus.prefix + "*"))
        if keys:
            client.delete(*keys)
    return {
        "subscribers": subscribers, "events": events,
        "received_all": all(r["received"] == subscribers for r in results),
        "publish_ms_median": statistics.median(r["publish"] for r in results),
        "median_subscriber_ms_median": statistics.median(r["median"] for r in results),
        "last_subscriber_ms_median": statistics.median(r["last"] for r in results),
        "last_subscriber_ms_max": max(r["last"] for r in results),
    }


def main() -> None:
    """Run the modes asked for and print one line of results per mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["threads", "gevent", "both"], default="both")
    parser.add_argument("--backend", choices=["memory", "redis"], default="memory")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        from gevent import monkey

        monkey.patch_all()
        print(json.dumps(run(options.backend, options.subscribers, options.events)))
        return
    modes = ["threads", "gevent"] if options.mode == "both" else [options.mode]
    for mode in modes:
        if mode == "threads":
            result = run(options.backend, options.subscribers, options.events)
        else:
            child = subprocess.run(
                [sys.executable, __file__, "--child", "--backend", options.backend,
                 "--subscribers", str(options.subscribers), "--events", str(options.events)],
                cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
            result = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{options.backend} {mode}: " + ", ".join(
            f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
