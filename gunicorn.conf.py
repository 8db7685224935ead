"""Gunicorn settings for the shop in production: `gunicorn -c gunicorn.conf.py app:app`.

Read from the environment: HOST (default 0.0.0.0) and PORT (default 8000) to listen on,
WEB_CONCURRENCY for the number of workers. Anything else can be changed without editing
this file through gunicorn's own GUNICORN_CMD_ARGS or its command line, which win over
it. The figures behind each choice are in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path


def _whole_number(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        # Said once by the master, instead of a traceback from gunicorn's validator.
        sys.exit(f"gunicorn.conf.py: {name} must be a whole number from {minimum} to "
                 f"{maximum}, got {raw!r}")
    return value


# gevent: an open live-event stream costs a greenlet (about 28-34 KB), not a thread or
# a worker. One gevent worker held 2,000 viewers with 90% of its page rate kept and a
# pin p99 of 165 ms, 4,000 with 96% kept; gthread with 700 threads held 500 and served
# the room page at 69 req/s against gevent's 122 (docs/PERFORMANCE.md, live room and
# live edge). Checkouts are CPU-bound in Python (5-6 ms of CPU each): on PostgreSQL
# four workers on two cores cost a third more CPU per order than two, so one worker per
# core. Without REDIS_URL the live events and the rate-limit counts live in one
# process, so a pin made through one worker would never reach the viewers of another:
# then one worker, as `make run` serves.
worker_class = "gevent"
worker_connections = 4000
workers = _whole_number(
    "WEB_CONCURRENCY", (os.cpu_count() or 1) if os.environ.get("REDIS_URL") else 1,
    minimum=1, maximum=64)
bind = [f"{os.environ.get('HOST') or '0.0.0.0'}:"  # noqa: S104 - a container's address
        f"{_whole_number('PORT', 8000, minimum=1, maximum=65535)}"]

# Under gevent the heartbeat stops only when a worker's event loop is stuck (a long
# CPU-bound render, a blocking call outside gevent), never for a long request: a held
# stream or a slow checkout keeps beating. 30 s of a stuck loop is a fault: restart it.
timeout = 30
# A restart (SIGHUP, max_requests, SIGTERM) lets requests in flight finish: a checkout
# takes under 2 s even in a rush (order p99 1.5 s on PostgreSQL). Live streams stay
# open up to EVENTS_STREAM_SECONDS and are cut when this ends; browsers reconnect at
# once and resume from their Last-Event-ID (EVENTS_HISTORY events are kept).
graceful_timeout = 30
# An idle kept-alive connection holds a stopping worker until it times out (gunicorn
# closes only connections that send another request): shorter than graceful_timeout, so
# a restart ends cleanly instead of cutting them with an error after 30 s (the runtime
# test saw it with 75 s). A proxy in front must close idle upstream connections sooner
# (nginx: keepalive_timeout in the upstream block, below 20 s), so it never sends a
# request into one gunicorn is closing; a bare client reconnects as usual.
keepalive = 20
# A worker is replaced after about 100,000 requests to bound any slow growth in memory;
# the jitter keeps workers from restarting together (each restart sends its viewers to
# reconnect, so not too often: a cached page is served thousands of times a second).
max_requests = 100_000
max_requests_jitter = 10_000
# Not preloaded: gevent patches the standard library in each worker after the fork,
# and the app opens database pools, Redis connections and threads when it is built
# (create_app), which must not be shared across a fork or made before patching. Each
# worker building its own app also lets SIGHUP load new code.
preload_app = False
# Heartbeat files in memory, not on a container's overlay disk (which can stall).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Signals are how this server is run; gunicornc's control socket (one path per user)
# would be shared by two servers on one host.
control_socket_disable = True
proc_name = "gongfang-web"

accesslog = "-"
errorlog = "-"
loglevel = "info"
logger_class = "core.access_log.RedactingLogger"
# Method, path with secret segments replaced, status, bytes, milliseconds: no client
# address, query string, user agent or referrer (core/access_log.py says why).
access_log_format = '%(t)s %(p)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def on_starting(server):
    """Check the settings once, before any worker starts, and prepare the metrics folder."""
    from core.config import ConfigError, load_config

    try:
        load_config()
    except ConfigError as exc:
        # One clear line before any worker is forked, worded as `flask` says it, and the
        # exit code of gunicorn's own "App failed to load" (4), which supervisors and
        # the tests read. Checked here, not only in the workers: two workers failing
        # together can make gunicorn's master halt with a traceback and exit code 1.
        server.log.critical("configuration error: %s", exc)
        sys.exit(4)
    _raise_open_file_limit(server)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        # prometheus-client's multiprocess mode: files left by an earlier run would
        # add their old counts to this one's.
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for leftover in path.glob("*.db"):
            leftover.unlink()


def _raise_open_file_limit(server) -> None:
    # Each held connection is a file; a soft limit of 1,024 would refuse viewers long
    # before worker_connections. Raise it (never the hard limit) for this server only.
    wanted = worker_connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        if new_soft < wanted:
            server.log.warning("open-file limit is %d: each worker can hold about that many "
                               "connections, not %d", new_soft, worker_connections)


def post_worker_init(worker):
    """The app's own log lines (Flask logs "Exception on <path>") get the same redaction."""
    import logging

    from core.access_log import RedactingFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())


def child_exit(server, worker):
    """A worker's metrics stop counting as live when it exits (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
