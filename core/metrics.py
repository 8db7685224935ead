"""Prometheus metrics (prometheus-client) at /metrics, for the operator's scraper only.

Two kinds of figure:
- Counted by each process as things happen: requests (by route, the endpoint's name,
  never the path, so tokens in addresses never reach a metric), their latency, live
  event streams open, events published, job runs. Under gunicorn set
  PROMETHEUS_MULTIPROC_DIR (an empty folder per start; gunicorn.conf.py marks dead
  workers): every worker writes its counts there and any worker's /metrics sums them.
- Read from the database when scraped: orders by status, sales, the mail outbox. The
  database is the truth every host shares, so these stay right however many hosts,
  workers and scheduler processes changed the orders (the scheduler's jobs settle and
  expire orders where no web process would count them) and survive restarts. Every
  host reports the same figures: aggregate them with max(), not sum().

Access: with METRICS_TOKEN set, only `Authorization: Bearer <token>`; without it, only
clients on loopback or private networks (behind the proxy, the client's own address).
The hot path costs a counter and a histogram update per request: no database work,
labels bounded by the app's routes, methods, statuses, event kinds and job ids.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

# A "_created" series beside every counter doubles what is stored for no use here.
disable_created_metrics()

ROUTE_KEY = "gongfang.metrics.route"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
DATABASE_TIMEOUT_MILLISECONDS = 2000

REQUESTS = Counter("gongfang_http_requests", "HTTP requests answered, by route (endpoint "
                   "name) and status", ["route", "method", "status"])
LATENCY = Histogram("gongfang_http_request_duration_seconds", "Time until a response "
                    "starts, by route", ["route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
EVENT_STREAMS = Gauge("gongfang_event_streams_open", "Live event streams the app holds "
                      "open now (viewers and control rooms not served by the edge)",
                      multiprocess_mode="livesum")
EVENTS = Counter("gongfang_events_published", "Live events published after a commit, by "
                 "kind and result (published, or lost while the bus was down)",
                 ["kind", "result"])
JOB_RUNS = Counter("gongfang_job_runs", "Scheduled job runs finished, by job", ["job"])
JOB_FAILURES = Counter("gongfang_job_failures", "Scheduled job runs that raised, by job",
                       ["job"])


def register(app: Flask) -> None:
    """Count every request of `app` (cached storefront pages too) and serve /metrics."""

    def _note_route():
        request.environ[ROUTE_KEY] = request.endpoint or "unmatched"

    # First of the hooks, so a hook that answers early still leaves the route named.
    app.before_request_funcs.setdefault(None, []).insert(0, _note_route)
    app.wsgi_app = RequestMetrics(app, app.wsgi_app)


class RequestMetrics:
    """WSGI layer: the route, method, status and time of each request."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status = []

        def noting_status(status_line, headers, exc_info=None):
            status.append(status_line[:3])
            return start_response(status_line, headers, exc_info)

        try:
            body = self.wsgi_app(environ, noting_status)
        except BaseException:
            self._observe(environ, "500", started)
            raise
        self._observe(environ, status[-1] if status else "500", started)
        return body

    def _observe(self, environ, status: str, started: float) -> None:
        route = environ.get(ROUTE_KEY) or self._route_of(environ)
        method = environ.get("REQUEST_METHOD", "")
        REQUESTS.labels(route, method if method in METHODS else "other", status).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)

    def _route_of(self, environ) -> str:
        # Only for pages the page cache served without reaching Flask.
        try:
            rule, _arguments = self.app.url_map.bind_to_environ(environ).match(
                return_rule=True)
        except Exception:  # noqa: BLE001 - no rule matches: a 404 or 405
            return "unmatched"
        return rule.endpoint


def stream_opened() -> None:
    """A live event stream started."""
    EVENT_STREAMS.inc()


def stream_closed() -> None:
    """A live event stream ended."""
    EVENT_STREAMS.dec()


def event_published(kind: str, *, lost: bool = False) -> None:
    """An event went out after a commit (or was lost: the bus was down)."""
    EVENTS.labels(kind, "lost" if lost else "published").inc()


def job_finished(job_id: str, *, failed: bool) -> None:
    """A scheduled job's run ended."""
    JOB_RUNS.labels(job_id).inc()
    if failed:
        JOB_FAILURES.labels(job_id).inc()


class ShopFigures:
    """Collector of the figures read from the database at scrape time."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def collect(self):
        import sqlalchemy as sa

        from core.db import utcnow
        from core.mail import OutboxMail
        from shop.models import Order

        up = GaugeMetricFamily("gongfang_database_up", "1 when the shop figures below "
                               "could be read from the database now")
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(
                        f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_MILLISECONDS}")
                orders = connection.execute(
                    sa.select(Order.status, Order.payment_status, sa.func.count())
                    .group_by(Order.status, Order.payment_status)).all()
                sales = connection.execute(
                    sa.select(Order.currency, sa.func.sum(Order.paid_amount),
                              sa.func.sum(Order.refunded_amount))
                    .group_by(Order.currency)).all()
                unsent, oldest = connection.execute(
                    sa.select(sa.func.count(), sa.func.min(OutboxMail.created_at))
                    .where(OutboxMail.sent_at.is_(None))).one()
                connection.rollback()
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily("gongfang_orders", "Orders in the database, by order "
                                      "and payment status", labels=["status", "payment_status"])
        for status, payment_status, count in orders:
            by_status.add_metric([str(status), str(payment_status)], count)
        yield by_status
        paid = GaugeMetricFamily("gongfang_sales_paid_minor_units", "Money paid for orders, "
                                 "in minor units (fen for CNY), by currency", labels=["currency"])
        refunded = GaugeMetricFamily("gongfang_sales_refunded_minor_units", "Money refunded, "
                                     "in minor units, by currency", labels=["currency"])
        for currency, paid_amount, refunded_amount in sales:
            paid.add_metric([currency], paid_amount or 0)
            refunded.add_metric([currency], refunded_amount or 0)
        yield paid
        yield refunded
        yield GaugeMetricFamily("gongfang_outbox_unsent", "Mails in the outbox not sent yet",
                                value=unsent)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("gongfang_outbox_oldest_unsent_seconds", "Age of the oldest "
                                "mail not sent yet (0 when none waits)", value=max(0.0, age))


def serve_scheduler_metrics(port: int, address: str = "127.0.0.1"):
    """For the scheduler process, which serves no pages: its job counts on `port`
    (prometheus-client's own small server, in a thread). Returns (server, thread)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=address)


def metrics_text(app: Flask) -> bytes:
    """Everything in Prometheus's text format: this process's (or, in multiprocess mode,
    every worker's) counts, then the figures from the database."""
    figures = CollectorRegistry(auto_describe=False)
    figures.register(ShopFigures(app.extensions["database"].engine))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(figures)


def allowed(app: Flask) -> bool:
    """Whether this request may read the metrics (see the module's docstring)."""
    token = app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def metrics_response() -> Response:
    """/metrics, or 403 (in the reader's language) for anyone but the scraper."""
    from core.errors import NotAllowed

    app = current_app._get_current_object()
    if not allowed(app):
        raise NotAllowed()
    response = Response(metrics_text(app), mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response
