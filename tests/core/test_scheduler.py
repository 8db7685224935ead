"""Background jobs: one scheduler per database, a registry, never in web workers."""

from pathlib import Path

from core.mail import OutboxMail
from core.scheduler import SchedulerLock, registered_jobs, run_job


def test_scheduler_lock_is_exclusive(app):
    first, second = SchedulerLock(app), SchedulerLock(app)
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        assert second.acquire() is False
        first.release()
        assert second.acquire() is True
        assert first.acquire() is False
        second.release()
        assert first.acquire() is True
    finally:
        first.release()
        second.release()


def test_registry_has_send_outbox_and_run_job_runs_it(app, app_config, db_session):
    jobs = registered_jobs()
    assert "send_outbox" in jobs
    assert jobs["send_outbox"].trigger == "interval"
    with db_session() as session:  # a row without the after-commit send
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
    assert run_job(app, "send_outbox") == 1
    assert run_job(app, "send_outbox") == 0
    assert len(list(Path(app_config["MAIL_DIR"]).glob("*.eml"))) == 1


def test_web_app_does_not_start_a_scheduler(app):
    assert "scheduler" not in app.extensions


def test_embedded_scheduler_starts_once_behind_the_lock(app_config):
    from app import create_app

    app_config["EMBEDDED_SCHEDULER"] = True
    first = create_app(app_config)
    second = create_app(app_config)
    try:
        scheduler, _lock = first.extensions["scheduler"]
        assert scheduler.running
        assert {job.id for job in scheduler.get_jobs()} >= {"send_outbox"}
        assert "scheduler" not in second.extensions
    finally:
        for application in (first, second):
            if "scheduler" in application.extensions:
                scheduler, lock = application.extensions["scheduler"]
                scheduler.shutdown(wait=True)
                lock.release()
            application.extensions["database"].engine.dispose()
