"""Benchmark: 10,000 live-room viewers through the live edge (nginx with Nchan), next to
the app's own embedded event streams at their limit, on this machine.

    .venv/bin/python bench/edge_fanout.py                  # 10,000 at the edge, 4,000 embedded
    .venv/bin/python bench/edge_fanout.py --edge-viewers 2000 --embedded-viewers 1000

One SQLite live room (bench/live_room.py's setup), all on 127.0.0.1. First the shop
served by gunicorn (one gevent worker, as `make run`) with LIVE_EDGE_URL set and nginx
running the project's edge config (deploy/edge/nginx.conf.j2) in front of it; then,
with the edge stopped, the same room served as `make run` serves it, without an edge.

Per backend: the room page's requests per second with wrk (2 threads, 16 connections,
10 s) with no viewer and again with every viewer connected (for the edge the page goes
through the same nginx); N viewers opened from a second process (gevent, raw sockets,
its open-file limit raised for itself, never the system's); five pins made through the
control room, signed in as the presenter, 2 s apart, and for every viewer and pin the
time from the pin's `at` to its arrival; memory (PSS) of nginx or of gunicorn without
and with the viewers. Edge viewers subscribe at /edge/events/live-<id> (each one allowed
by the app first, through Nchan's authorize request); embedded ones at the app's
/live/<slug>/events. The embedded run stops at one gevent worker's connection limit
(4,000 in `make run`). Bounded: fixed work and timeouts; it stops by itself.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live_room import (  # noqa: E402
    SECRET,
    free_port,
    pin,
    raise_file_limit,
    setup,
    signed_in,
    start_gunicorn,
    stop,
    wrk,
)

PINS = 5


def pss_mb(pids: list[int]) -> float:
    """Proportional set size of these processes, in MB (shared pages counted once)."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        found = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total / 1024


def family(master: int) -> list[int]:
    """A process and its children."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if int(re.search(r"PPid:\s+(\d+)", status).group(1)) == master:
                pids.append(int(entry.name))
    return pids


# --- The viewers' process --------------------------------------------------------------

def viewers_process(port: int, path: str, count: int, pins: int, ready_marker: str) -> None:
    """Open `count` event streams (at most 200 connecting at once), say READY once each
    has answered (`ready_marker` seen), then time `pins` pins; print JSON."""
    from gevent import monkey

    monkey.patch_all()
    from datetime import datetime

    lock = threading.Lock()
    ready = threading.Semaphore(0)
    connecting = threading.BoundedSemaphore(200)
    latencies: list[float] = []
    failed: list[str] = []
    marker = ready_marker.encode()

    def view():
        told = False
        try:
            with connecting:
                sock = socket.create_connection(("127.0.0.1", port), timeout=300)
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Accept: text/event-stream\r\n\r\n".encode())
                reader = sock.makefile("rb")
                status = reader.readline()
                if b" 200 " not in status:
                    raise OSError(f"answer {status[:40]!r}")
                for line in reader:
                    if line.startswith(marker):
                        break
            ready.release()
            told = True
            got, kind = 0, None
            for line in reader:
                if line.startswith(b"event: "):
                    kind = line[7:].strip()
                elif line.startswith(b"data: ") and kind == b"pin":
                    arrived = time.time()
                    made = datetime.fromisoformat(json.loads(line[6:])["at"]).timestamp()
                    with lock:
                        latencies.append(arrived - made)
                    got += 1
                    if got == pins:
                        break
            sock.close()
        except OSError as error:
            failed.append(str(error)[:60])
            if not told:
                ready.release()

    threads = [threading.Thread(target=view, daemon=True) for _ in range(count)]
    opened = time.perf_counter()
    for thread in threads:
        thread.start()
    for _ in threads:
        ready.acquire()
    print(json.dumps({"ready": round(time.perf_counter() - opened, 2),
                      "failed_to_connect": len(failed)}), flush=True)
    for thread in threads:
        thread.join(timeout=120)
    latencies.sort()
    print(json.dumps({
        "deliveries": len(latencies), "expected": count * pins, "failed": len(failed),
        "failures": sorted(set(failed))[:3],
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None}), flush=True)


# --- The edge ---------------------------------------------------------------------------

def start_edge(run_dir: Path, app_port: int, http_port: int, rtmp_port: int):
    from app import create_app
    from livestream.edge_config import settings_for, write

    config = create_app({"SECRET_KEY": SECRET,
                         "DATABASE_URL": f"sqlite:///{run_dir.parent / 'edge-config.db'}"}).config
    settings = settings_for(config, run_dir=run_dir, app_address=f"127.0.0.1:{app_port}",
                            http_port=http_port, rtmp_port=rtmp_port, workers="auto",
                            worker_connections=25_000, open_files=60_000)
    path = write(settings)
    process = subprocess.Popen(["nginx", "-p", str(run_dir), "-e", str(run_dir / "error.log"),
                                "-c", str(path)], start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("nginx did not start: " + (run_dir / "error.log").read_text()[-2000:])


def stop_edge(process) -> None:
    stop(process, signal.SIGTERM)


def measure(name: str, *, page: str, viewer_port: int, viewer_path: str, viewers: int,
            marker: str, memory_of, app_url: str, room: dict) -> dict:
    """One backend: page alone, viewers in, page with viewers, pins, memory."""
    result = {"setting": name, "viewers": viewers}
    wrk(page, 3)  # warm up
    result["page_rps_alone"] = wrk(page)
    result["memory_mb_alone"] = round(memory_of(), 1)
    client = subprocess.Popen(
        [sys.executable, __file__, "--viewers-process", str(viewer_port), viewer_path,
         str(viewers), str(PINS), marker],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=raise_file_limit)
    try:
        ready = json.loads(client.stdout.readline() or "{}")
        result["all_connected_seconds"] = ready.get("ready")
        result["failed_to_connect"] = ready.get("failed_to_connect")
        time.sleep(2)
        result["memory_mb_with_viewers"] = round(memory_of(), 1)
        result["page_rps_with_viewers"] = wrk(page)
        presenter = signed_in(app_url, room["presenter"])
        for n in range(PINS):
            # gunicorn closes a connection idle for 2 s (its keep-alive): a kept one
            # could be closed under the next request, so each pin opens its own.
            presenter.close()
            pin(presenter, app_url, room["slug"], room["products"][n % 2])
            time.sleep(2)
        out, _err = client.communicate(timeout=300)
        result.update(json.loads(out.strip().splitlines()[-1]))
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    result["page_kept"] = round(result["page_rps_with_viewers"] / result["page_rps_alone"], 3) \
        if result.get("page_rps_alone") else 0
    result["kb_per_viewer"] = round((result["memory_mb_with_viewers"]
                                     - result["memory_mb_alone"]) * 1024 / viewers, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge-viewers", type=int, default=10_000)
    parser.add_argument("--embedded-viewers", type=int, default=4_000)
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--viewers-process", nargs=5, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.viewers_process:
        port, path, count, pins, marker = options.viewers_process
        viewers_process(int(port), path, int(count), int(pins), marker)
        return
    raise_file_limit()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        database = f"sqlite:///{scratch}/bench.db"
        room = setup(database)
        http_port, rtmp_port = free_port(), free_port()
        env = {"INSTANCE_DIR": scratch, "REDIS_URL": "", "DATABASE_URL": database,
               "SECRET_KEY": SECRET, "LIVE_EDGE_URL": f"http://127.0.0.1:{http_port}",
               "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
        app, app_url, app_port = start_gunicorn(env, "gevent", 1, options.edge_viewers + 500)
        edge = start_edge(Path(scratch) / "edge", app_port, http_port, rtmp_port)
        edge_url = f"http://127.0.0.1:{http_port}"
        try:
            results.append(measure(
                "edge (nginx + Nchan)", page=f"{edge_url}/live/{room['slug']}",
                viewer_port=http_port, viewer_path=f"/edge/events/live-{room['live_id']}",
                viewers=options.edge_viewers, marker=":", app_url=app_url, room=room,
                memory_of=lambda: pss_mb(family(edge.pid))))
            print(json.dumps(results[-1]), flush=True)
        finally:
            stop_edge(edge)
            stop(app)
        if options.skip_embedded:
            return
        # The same room served as `make run` serves it: no edge, the app's own streams,
        # one gevent worker admitting the viewers and the page's connections.
        embedded_env = {**env, "LIVE_EDGE_URL": ""}
        app, app_url, app_port = start_gunicorn(
            embedded_env, "gevent", 1, options.embedded_viewers + 500)
        try:
            results.append(measure(
                "embedded (gunicorn, 1 gevent worker)", page=f"{app_url}/live/{room['slug']}",
                viewer_port=app_port, viewer_path=f"/live/{room['slug']}/events",
                viewers=options.embedded_viewers, marker="event: snapshot",
                app_url=app_url, room=room, memory_of=lambda: pss_mb(family(app.pid))))
            print(json.dumps(results[-1]), flush=True)
        finally:
            stop(app)

if __name__ == "__main__":
    main()
