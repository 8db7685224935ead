"""The live edge for tests: the project's own nginx config (deploy/edge/nginx.conf.j2)
with Debian's nginx, RTMP and Nchan modules, on free loopback ports in front of a test
app served for real, and ffmpeg pushing a synthetic picture (test pattern and tone).

Without nginx, its modules or ffmpeg the edge tests skip, unless REQUIRE_EDGE=1 (CI)
turns that into a failure.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from livestream.edge_config import DEBIAN_MODULES

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FFMPEG = shutil.which("ffmpeg")


def edge_problem() -> str | None:
    """Why the edge cannot run here, or None."""
    if not Path(NGINX).exists():
        return "nginx is not installed (Debian: nginx libnginx-mod-rtmp libnginx-mod-nchan)"
    for module in ("ngx_rtmp_module.so", "ngx_nchan_module.so"):
        if not (Path(DEBIAN_MODULES) / module).exists():
            return f"{module} is missing (Debian: libnginx-mod-rtmp libnginx-mod-nchan)"
    if FFMPEG is None:
        return "ffmpeg is not installed (Debian: ffmpeg)"
    return None


def need_edge() -> None:
    """Skip (or fail under REQUIRE_EDGE=1) when the edge cannot run here."""
    problem = edge_problem()
    if problem is None:
        return
    if os.environ.get("REQUIRE_EDGE") == "1":
        pytest.fail(f"the live edge is required (REQUIRE_EDGE=1): {problem}")
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Edge:
    """nginx running the project's edge config; stop() and start() again at will."""

    def __init__(self, app, run_dir: Path, *, app_port: int, http_port: int,
                 rtmp_port: int) -> None:
        from livestream.edge_config import settings_for, write

        self.run_dir = run_dir
        self.http_port = http_port
        self.rtmp_port = rtmp_port
        self.url = f"http://127.0.0.1:{http_port}"
        settings = settings_for(app.config, run_dir=run_dir,
                                app_address=f"127.0.0.1:{app_port}", http_port=http_port,
                                rtmp_port=rtmp_port, workers="1", worker_connections=1024,
                                open_files=4096, log_level="info",
                                hls_fragment="1s", hls_playlist_length="6s")
        self.config = write(settings)
        self.process: subprocess.Popen | None = None
        self.pushes: list[subprocess.Popen] = []

    def start(self) -> None:
        """Start nginx and wait until its HTTP side answers."""
        self.process = subprocess.Popen(  # noqa: S603 - our nginx, our config
            [NGINX, "-p", str(self.run_dir), "-e", str(self.run_dir / "error.log"),
             "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nginx did not start: "
                                   + self.process.stderr.read().decode(errors="replace")
                                   + self.error_log())
            try:
                if self.get("/_edge/health", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not answer within 10 s" + self.error_log())

    def stop(self) -> None:
        """Stop nginx at once (the edge going away)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()
        self.process = None

    def close(self) -> None:
        """Stop nginx and every push still running (a test that failed half-way)."""
        for process in self.pushes:
            if process.poll() is None:
                process.kill()
            process.wait()
        self.stop()

    def error_log(self) -> str:
        path = self.run_dir / "error.log"
        return "\n" + path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def get(self, path: str, headers: dict | None = None,
            timeout: float = 5) -> tuple[int, bytes]:
        """GET through the edge: the status and the body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            connection.request("GET", path, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def rtmp(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/ingest/{key}"


def push(edge: Edge, key: str, *, seconds: float, tone: int = 440,
         pattern: str = "testsrc2") -> subprocess.Popen:
    """ffmpeg, standing in for OBS: a test pattern and a tone pushed in real time."""
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", f"{pattern}=size=320x240:rate=25",
         "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=44100",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
         "-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac", "-b:a", "64k", "-f", "flv",
         edge.rtmp(key)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    edge.pushes.append(process)
    return process


def wait_for(check, *, timeout: float = 20, every: float = 0.2, what: str = "the condition"):
    """Poll `check()` until it returns something true; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
