"""/metrics: the numbers move when requests, orders, events, jobs and mails happen, and
only the operator's scraper may read them."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import scheduler
from core.db import db
from core.events import publish_after_commit
from core.mail import OutboxMail
from tests.shop.helpers import make_shop, place


def value(text: str, name: str, **labels) -> float:
    """The sample `name` with exactly `labels`, 0 when it is not there yet."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def scrape(client, **kwargs) -> str:
    answer = client.get("/metrics", **kwargs)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"].startswith("text/plain")
    return answer.get_data(as_text=True)


def test_requests_are_counted_by_route_never_by_path(client):
    before = scrape(client)
    for _ in range(2):
        assert client.get("/help").status_code == 200
    client.get("/downloads/secret-download-token-123")
    client.get("/no-such-page")
    after = scrape(client)
    help_page = {"route": "site.help_page", "method": "GET", "status": "200"}
    assert value(after, "gongfang_http_requests_total", **help_page) == value(
        before, "gongfang_http_requests_total", **help_page) + 2
    assert value(after, "gongfang_http_request_duration_seconds_count", route="site.help_page") \
        == value(before, "gongfang_http_request_duration_seconds_count", route="site.help_page") + 2
    assert value(after, "gongfang_http_requests_total", route="unmatched", method="GET",
                 status="404") >= 1
    assert 'route="shop.download"' in after
    assert "secret-download-token" not in after and "no-such-page" not in after


def test_orders_sales_and_outbox_are_read_from_the_database(app, client, db_session):
    before = scrape(client)
    assert value(before, "gongfang_database_up") == 1
    with db_session() as session:
        shop = make_shop(session, price=5000)
        place(session, [(shop["items"][0][1].id, 2)])
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
    after = scrape(client)
    orders = lambda text: sum(  # noqa: E731
        s.value for f in text_string_to_metric_families(text) for s in f.samples
        if s.name == "gongfang_orders")
    assert orders(after) == orders(before) + 1
    assert value(after, "gongfang_outbox_unsent") == value(before, "gongfang_outbox_unsent") + 1
    assert value(after, "gongfang_sales_paid_minor_units", currency="CNY") == value(
        before, "gongfang_sales_paid_minor_units", currency="CNY")  # placed, not paid yet

    scheduler.run_job(app, "send_outbox")
    sent = scrape(client)
    assert value(sent, "gongfang_outbox_unsent") == 0
    assert value(sent, "gongfang_job_runs_total", job="send_outbox") == value(
        after, "gongfang_job_runs_total", job="send_outbox") + 1


def test_a_failing_job_and_published_events_are_counted(app, client):
    def broken():
        raise RuntimeError("boom")

    scheduler._registry["metrics_test_broken"] = scheduler.JobSpec(
        "metrics_test_broken", broken, "interval", {"seconds": 60})
    before = scrape(client)
    try:
        with pytest.raises(RuntimeError):
            scheduler.run_job(app, "metrics_test_broken")
    finally:
        scheduler._registry.pop("metrics_test_broken")
    with app.app_context(), db.transaction() as session:
        publish_after_commit(session, "metrics-test", "ticker", {"n": 1})
    after = scrape(client)
    assert value(after, "gongfang_job_failures_total", job="metrics_test_broken") == value(
        before, "gongfang_job_failures_total", job="metrics_test_broken") + 1
    published = {"kind": "ticker", "result": "published"}
    assert value(after, "gongfang_events_published_total", **published) == value(
        before, "gongfang_events_published_total", **published) + 1


def test_shoppers_are_refused_and_the_scraper_is_let_in(app, client):
    public = {"REMOTE_ADDR": "114.114.114.114"}
    refused = client.get("/metrics", environ_base=public)
    assert refused.status_code == 403 and b"gongfang_" not in refused.data
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200

    app.config["METRICS_TOKEN"] = "scrape-token-" + "x" * 20
    assert client.get("/metrics").status_code == 403  # loopback alone is not enough now
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert "gongfang_http_requests_total" in scrape(
        client, environ_base=public,
        headers={"Authorization": "Bearer " + app.config["METRICS_TOKEN"]})


def test_gunicorn_workers_counts_are_summed_in_multiprocess_mode(sqlite_template, tmp_path):
    import shutil

    import requests

    from tests.app_processes import start_gunicorn, stop

    database = tmp_path / "shop.db"
    shutil.copyfile(sqlite_template, database)
    counts = tmp_path / "prometheus"
    counts.mkdir()
    process, url = start_gunicorn({
        "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "s" * 40,
        "INSTANCE_DIR": str(tmp_path / "instance"), "PROMETHEUS_MULTIPROC_DIR": str(counts),
        "CATALOG_PAGE_CACHE_SECONDS": "0"}, workers=2)
    try:
        from concurrent.futures import ThreadPoolExecutor

        def ask(_):
            # A connection each, so either worker may accept it.
            return requests.get(f"{url}/help", headers={"Connection": "close"},
                                timeout=30).status_code

        def workers_counting() -> set[str]:
            return {path.name.split("_")[-1] for path in counts.glob("counter_*.db")}

        # The kernel gives each connection to whichever worker accepts first: one worker
        # can take dozens in a row when they come one by one. Eight at a time, in rounds
        # of 30, until both have counted (seen: after 30 one by one, once, only one).
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while len(workers_counting()) < 2 and sent < 600:
                assert set(pool.map(ask, range(30))) == {200}
                sent += 30
        assert len(workers_counting()) == 2, workers_counting()
        for _ in range(4):  # whichever worker answers, the sum is the same
            text = requests.get(f"{url}/metrics", headers={"Connection": "close"},
                                timeout=30).text
            assert value(text, "gongfang_http_requests_total", route="site.help_page",
                         method="GET", status="200") == sent
            assert value(text, "gongfang_http_request_duration_seconds_count",
                         route="site.help_page") == sent
            assert value(text, "gongfang_database_up") == 1
    finally:
        stop(process)


def test_open_event_streams_are_counted_until_they_close(app, client):
    from core.events import event_stream_response

    def open_streams() -> float:
        return value(scrape(client), "gongfang_event_streams_open")

    before = open_streams()
    with app.test_request_context("/live/x/events"):
        response = event_stream_response("metrics-stream", last_event_id=None,
                                         snapshot=lambda: {"hello": 1})
    assert open_streams() == before + 1
    response.close()  # the server closes the body when the viewer goes
    assert open_streams() == before


def test_pages_served_from_the_page_cache_are_counted_under_their_route(app, client):
    app.config["CATALOG_PAGE_CACHE_SECONDS"] = 60
    route = app.url_map.bind("localhost").match("/products", return_rule=True)[0].endpoint
    labels = {"route": route, "method": "GET", "status": "200"}
    before = value(scrape(client), "gongfang_http_requests_total", **labels)
    answers = [client.get("/products") for _ in range(3)]
    assert [a.headers.get("X-Page-Cache") for a in answers][1:] == ["hit", "hit"]
    assert value(scrape(client), "gongfang_http_requests_total", **labels) == before + 3


def test_the_scheduler_process_serves_its_job_counts_on_a_port_of_its_own(app):
    import requests

    from core.metrics import serve_scheduler_metrics
    from tests.app_processes import free_port

    port = free_port()
    server, thread = serve_scheduler_metrics(port)
    try:
        before = value(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text,
                       "gongfang_job_runs_total", job="send_outbox")
        scheduler.run_job(app, "send_outbox")
        after = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert value(after, "gongfang_job_runs_total", job="send_outbox") == before + 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
