"""Benchmark: N Server-Sent Events viewers of one channel on one gunicorn gevent worker.

    .venv/bin/python bench/events_sse.py                       # 2,000 viewers, 10 events
    .venv/bin/python bench/events_sse.py --viewers 500 --events 5

The shop's app (create_app, on a scratch SQLite file it never writes to) gets two bench
routes: a stream made by core.events.event_stream_response, and a POST that publishes
an event carrying the time it was published. gunicorn serves it with one gevent worker
on 127.0.0.1; a second process (gevent too) opens N streams, waits for every snapshot,
then asks for one event a second and notes, per viewer, how long each took to arrive.
Both processes share this machine's cores, as they would not in production. Bounded:
fixed work, and it stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_app():
    """The shop's app with the two bench routes (gunicorn imports `bench.events_sse:app`)."""
    from flask import request

    from app import create_app
    from core.events import bus, event_stream_response

    application = create_app({"WTF_CSRF_ENABLED": False})

    @application.get("/bench/stream")
    def stream():
        return event_stream_response("live:bench", last_event_id=request.headers.get(
            "Last-Event-ID"), snapshot=lambda: {"viewers": bus().connected("live:bench")})

    @application.post("/bench/publish")
    def publish():
        bus().publish("live:bench", "ticker", {"sent": time.time(), "text": "下单了"})
        return {"viewers": bus().connected("live:bench")}

    return application


def viewers(port: int, count: int, events: int) -> None:
    """The client process: `count` streams, then `events` events timed (prints JSON)."""
    from gevent import monkey

    monkey.patch_all()
    import threading
    import urllib.request

    latencies: list[float] = []
    snapshots = threading.Semaphore(0)
    lock = threading.Lock()

    def view():
        sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        sock.sendall(b"GET /bench/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Accept: text/event-stream\r\n\r\n")
        reader = sock.makefile("rb")
        got = 0
        for line in reader:
            if line.startswith(b"event: snapshot"):
                snapshots.release()
            elif line.startswith(b"data: {\"sent\""):
                arrived = time.time()
                sent = json.loads(line[6:])["sent"]
                with lock:
                    latencies.append(arrived - sent)
                got += 1
                if got == events:
                    break
        sock.close()

    threads = [threading.Thread(target=view, daemon=True) for _ in range(count)]
    opened = time.perf_counter()
    for thread in threads:
        thread.start()
    for _ in threads:
        snapshots.acquire()
    connect_seconds = time.perf_counter() - opened
    for _ in range(events):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/bench/publish",
                                         data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            viewers_now = json.loads(response.read())["viewers"]
        time.sleep(1)
    for thread in threads:
        thread.join(timeout=30)
    latencies.sort()
    print(json.dumps({
        "viewers": count, "viewers_counted_by_server": viewers_now,
        "all_snapshots_seconds": round(connect_seconds, 2),
        "deliveries": len(latencies), "expected": count * events,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1)}))


def main() -> None:
    """Start gunicorn, run the viewers' process against it, print what it measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--viewers-process", nargs=3, type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.viewers_process:
        viewers(*options.viewers_process)
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "INSTANCE_DIR": scratch, "REDIS_URL": "",
               "DATABASE_URL": f"sqlite:///{scratch}/bench.db", "SECRET_KEY": "b" * 40,
               "EVENTS_HEARTBEAT_SECONDS": "15"}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--worker-class", "gevent", "--worker-connections", str(options.viewers + 100),
             "--log-level", "warning", "bench.events_sse:make_app()"], cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            finished = subprocess.run(
                [sys.executable, __file__, "--viewers-process", str(port),
                 str(options.viewers), str(options.events)],
                cwd=ROOT, capture_output=True, text=True, timeout=600)
            if finished.returncode:
                raise SystemExit(finished.stderr)
            print(finished.stdout.strip().splitlines()[-1])
        finally:
            # Quick shutdown: a graceful one would wait for the open streams.
            server.send_signal(signal.SIGQUIT)
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
