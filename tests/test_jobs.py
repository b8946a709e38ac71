"""Jobs and schedules: the real RQ queue on Redis, the local worker without it, a worker killed mid-job,
cancel and retry, two schedulers over the same slots, a missed slot, and who may use the pages.

The Redis tests use the server at 127.0.0.1:6379, database 5 (DORMS_TEST_JOBS_REDIS_URL names another), each
with a queue of its own whose keys are deleted after; without a server they skip, or fail when
DORMS_REQUIRE_REDIS=1. Jobs commit, and their progress goes over a connection of its own: the tests commit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, time as time_of_day, timedelta

import pytest
import sqlalchemy as sa

from dorms import jobs
from dorms.core import kept
from dorms.core.clock import utcnow
from dorms.core.enums import Role
from dorms.extensions import db
from dorms.jobs import queue, runner, schedules
from dorms.jobs.models import Job, JobStatus, Schedule, ScheduleSlot
from dorms.jobs.workers import work_locally

from . import job_tasks  # noqa: F401 (registers the test tasks)
from .conftest import redis_for_test
from .job_tasks import written

REDIS_URL = os.environ.get("DORMS_TEST_JOBS_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.commits


@pytest.fixture
def redis_queue(app):
    """Jobs go through RQ on the test Redis, in a queue of this test's own."""
    name = f"dorms-test-{uuid.uuid4().hex}"
    with redis_for_test(REDIS_URL, f"*{name}*"):
        app.config.update(REDIS_URL=REDIS_URL, JOBS_QUEUE=name)  # the app fixture puts them back
        app.extensions.pop("dorms.jobs.redis", None)
        kept.forget_all()  # pages now keep values in this Redis: none of another test's
        yield queue.rq_queue()


def _work_rq_burst() -> None:
    """An RQ worker in this process until the queue is empty (the one `dorms worker` runs)."""
    from rq import SimpleWorker

    SimpleWorker([queue.rq_queue()], connection=queue.redis_connection()).work(burst=True)


def _job(job_id: int) -> Job:
    db.session.rollback()  # what workers committed
    return db.session.get(Job, job_id)


def test_a_job_reaches_redis_only_when_its_transaction_commits_and_a_worker_runs_it(redis_queue):
    jobs.enqueue("test.write", {"marker": "dropped"})
    db.session.rollback()
    assert redis_queue.count == 0 and db.session.scalar(sa.select(sa.func.count(Job.id))) == 0

    job = jobs.enqueue("test.write", {"marker": "kept"})
    assert redis_queue.count == 0  # written, not yet committed
    db.session.commit()
    assert redis_queue.job_ids == [job.queue_job_id]
    _work_rq_burst()
    job = _job(job.id)
    assert (job.status, job.progress, job.result) == (JobStatus.SUCCEEDED, 100, {"marker": "kept"})
    assert "wrote kept" in job.log and job.started_at <= job.finished_at and written("kept") == 1


@pytest.mark.backends("sqlite", "postgresql")
def test_without_redis_the_local_worker_runs_jobs_and_a_failed_one_keeps_nothing(app):
    done = jobs.enqueue("test.write", {"marker": "done"})
    job = jobs.enqueue("test.write", {"marker": "failing", "fail": True})
    db.session.commit()
    work_locally(burst=True)  # no Redis: the local worker takes them from the table
    done = _job(done.id)
    assert (done.status, done.progress, done.note) == (JobStatus.SUCCEEDED, 100, "written")
    assert "wrote done" in done.log and written("done") == 1
    job = _job(job.id)
    assert job.status == JobStatus.FAILED and "told to fail after writing failing" in job.error
    assert "ValueError" in job.log and written("failing") == 0
    again = jobs.retry(job)
    db.session.commit()
    assert (again.kind, again.arguments, again.attempt, again.retry_of_id) == (job.kind, job.arguments, 2, job.id)


def test_two_local_workers_never_take_the_same_job(app):
    ids = [jobs.enqueue("test.write", {"marker": f"each-{n}"}).id for n in range(6)]
    db.session.commit()

    def worker():
        with app.app_context():  # a session and connection of its own, as another process has
            work_locally(burst=True)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.rollback()
    assert [written(f"each-{n}") for n in range(6)] == [1] * 6
    assert {_job(i).status for i in ids} == {JobStatus.SUCCEEDED}
    assert runner.perform(ids[0]) is None  # finished: nobody takes it again


def test_a_cancelled_job_stops_at_its_next_check_and_keeps_nothing(app, tmp_path):
    queued = jobs.enqueue("test.write", {"marker": "never"})
    db.session.commit()
    jobs.cancel(queued)
    db.session.commit()
    assert runner.perform(queued.id) is None and written("never") == 0  # a queued one does not start

    running = jobs.enqueue("test.wait", {"marker": "stopped", "release": str(tmp_path / "never-comes")})
    db.session.commit()

    def staff_cancels_once_it_waits():
        with app.app_context():
            deadline = time.monotonic() + 60  # a regression fails the test instead of hanging it
            while db.session.get(Job, running.id).note != "waiting" and time.monotonic() < deadline:
                db.session.rollback()
                time.sleep(0.05)
            jobs.cancel(db.session.get(Job, running.id))
            db.session.commit()

    staff = threading.Thread(target=staff_cancels_once_it_waits)
    staff.start()
    assert runner.perform(running.id) == JobStatus.CANCELLED
    staff.join(timeout=60)
    job = _job(running.id)
    assert job.status == JobStatus.CANCELLED and job.finished_at and written("stopped") == 0
    with pytest.raises(Exception, match="already finished"):
        jobs.cancel(job)


def test_a_queued_job_cancelled_is_taken_off_the_redis_queue(redis_queue):
    job = jobs.enqueue("test.write", {"marker": "withdrawn"})
    db.session.commit()
    jobs.cancel(job)
    db.session.commit()
    assert redis_queue.count == 0
    _work_rq_burst()
    assert _job(job.id).status == JobStatus.CANCELLED and written("withdrawn") == 0


def test_a_worker_killed_mid_job_leaves_it_failed_with_nothing_applied_and_a_retry_succeeds(
        redis_queue, database_url, tmp_path):
    release = tmp_path / "release"
    job = jobs.enqueue("test.wait", {"marker": "killed", "release": str(release)})
    db.session.commit()
    environment = {**os.environ, "PYTHONPATH": ROOT, "DORMS_DATABASE_URL": database_url, "DORMS_SECRET_KEY": "test",
                   "DORMS_INSTANCE_PATH": str(tmp_path / "instance"), "DORMS_REDIS_URL": REDIS_URL,
                   "DORMS_JOBS_QUEUE": redis_queue.name}
    worker = subprocess.Popen([sys.executable, "-c", "import tests.job_tasks; from dorms.cli import main; main()",
                               "worker", "--burst"], cwd=ROOT, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _job(job.id).note != "waiting" and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert _job(job.id).note == "waiting", worker.stderr.read().decode() if worker.poll() is not None else ""
        assert _job(job.id).worker.endswith(f":{worker.pid}")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
        worker.stderr.close()
    assert _job(job.id).status == JobStatus.RUNNING  # nobody knows yet
    # On PostgreSQL only the heartbeat tells: a host:pid may be another container's, under the same hostname.
    assert runner.reconcile() == []
    db.session.execute(sa.update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert runner.reconcile() == [job.id]
    job = _job(job.id)
    assert job.status == JobStatus.FAILED and job.error == "The worker stopped mid-job; nothing was applied."
    assert written("killed") == 0

    again = jobs.retry(job)
    db.session.commit()
    release.touch()
    _work_rq_burst()
    again = _job(again.id)
    assert again.status == JobStatus.SUCCEEDED and again.attempt == 2 and written("killed") == 1


def test_reconcile_fails_a_job_whose_heartbeat_went_stale_and_requeues_one_redis_lost(redis_queue):
    stale, alive = (jobs.enqueue("test.write", {"marker": marker}) for marker in ("stale", "alive"))
    lost = jobs.enqueue("test.write", {"marker": "lost"})
    db.session.commit()
    redis_queue.empty()  # as if Redis had lost everything
    long_ago = utcnow() - timedelta(hours=1)
    for job, beat in ((stale, long_ago), (alive, utcnow())):  # both on another machine
        job.status, job.worker, job.started_at, job.heartbeat_at = JobStatus.RUNNING, "elsewhere:1", long_ago, beat
    lost.queued_at = long_ago
    db.session.commit()
    assert runner.reconcile() == [stale.id]
    assert (_job(stale.id).status, _job(alive.id).status) == (JobStatus.FAILED, JobStatus.RUNNING)
    assert redis_queue.job_ids == [lost.queue_job_id]  # handed over again
    _work_rq_burst()
    assert _job(lost.id).status == JobStatus.SUCCEEDED and written("lost") == 1


# --- schedules -------------------------------------------------------------------------------------------------

NOW = datetime(2026, 9, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _schedules_since(moment: datetime) -> dict[str, Schedule]:
    schedules.ensure_default_schedules()
    for schedule in db.session.scalars(sa.select(Schedule)):
        schedule.since = moment
    db.session.commit()
    return {s.name: s for s in db.session.scalars(sa.select(Schedule))}


def test_a_missed_slot_runs_once_and_only_the_latest(app):
    by_name = _schedules_since(NOW - timedelta(days=3))  # the scheduler was down for three days
    for frequent in ("notifications.send", "checkin.report_reminders", "selection.window_reminders"):  # left out
        by_name[frequent].enabled = False
    db.session.commit()
    assert {job.schedule.name for job in schedules.run_due(NOW - timedelta(days=1))} == {
        "access.purge", "access.rollup", "access.curfew_alerts", "jobs.purge"}  # no directory is configured
    app.config["LDAP_URL"] = "ldap://directory.example.edu"  # the app fixture puts it back
    queued = {job.schedule.name: job for job in schedules.run_due(NOW)}
    assert set(queued) == {"directory.incremental", "directory.full", "access.purge", "access.rollup",
                           "access.curfew_alerts", "jobs.purge"}
    slots = dict(db.session.execute(sa.select(ScheduleSlot.schedule_id, ScheduleSlot.slot)).all())
    assert slots[by_name["directory.incremental"].id] == NOW  # a quarter hour exactly
    assert slots[by_name["access.rollup"].id] == datetime(2026, 8, 31, 22, 30, tzinfo=UTC)  # 06:30 local today
    assert slots[by_name["directory.full"].id] == datetime(2026, 8, 31, 18, 30, tzinfo=UTC)  # 02:30 local today
    assert queued["directory.incremental"].arguments == {"kind": "incremental"}
    assert queued["directory.incremental"].started_by is None
    assert schedules.run_due(NOW + timedelta(minutes=14)) == []  # the same slots
    assert [job.schedule.name for job in schedules.run_due(NOW + timedelta(minutes=15))] == ["directory.incremental"]


def test_nothing_before_a_schedule_was_set_up_or_while_it_is_off(app):
    by_name = _schedules_since(NOW)
    by_name["directory.incremental"].enabled = False
    db.session.commit()
    # The nightly slots came before it was set up; the minute's and the hour's slots are its own.
    queued = {job.schedule.name: job for job in schedules.run_due(NOW + timedelta(seconds=30))}
    assert set(queued) == {"notifications.send", "checkin.report_reminders", "selection.window_reminders"}
    # A task that must fall in exactly one slot is told which, and how long until the next.
    assert queued["checkin.report_reminders"].arguments == {"slot": NOW.isoformat(), "every_minutes": 60}
    assert queued["selection.window_reminders"].arguments == {"slot": NOW.isoformat(), "every_minutes": 5}
    assert queued["notifications.send"].arguments == {}


def test_two_schedulers_over_the_same_slots_queue_each_once(app, monkeypatch):
    app.config["LDAP_URL"] = "ldap://directory.example.edu"
    _schedules_since(NOW - timedelta(days=1))
    both_claim = threading.Barrier(2, timeout=30)

    def after_the_other_checked(schedule, slot):
        both_claim.wait()  # both have seen the slot free: both try to claim it
        return False

    monkeypatch.setattr(schedules, "_claimed", after_the_other_checked)
    queued, errors = [], []

    def scheduler():
        with app.app_context():  # a session and connection of its own
            try:
                queued.extend(job.id for job in schedules.run_due(NOW))
            except Exception as error:
                errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    due = len(schedules.DEFAULT_SCHEDULES)  # every schedule has a slot due, once
    assert len(queued) == due == db.session.scalar(sa.select(sa.func.count(Job.id)))
    assert db.session.scalar(sa.select(sa.func.count(ScheduleSlot.id))) == due


# --- pages --------------------------------------------------------------------------------------------------


def test_staff_see_cancel_and_retry_jobs_and_edit_schedules(app, login, create_user):
    schedules.ensure_default_schedules()
    failed = jobs.enqueue("test.write", {"marker": "page", "fail": True})
    waiting = jobs.enqueue("access.rollup")
    db.session.commit()
    runner.perform(failed.id)
    client = login(create_user("staff"))
    page = client.get("/jobs/").get_data(as_text=True)
    assert "told to fail" in page and "Curfew rollup" in page and "Try again" in page
    assert "ValueError" in client.get(f"/jobs/{failed.id}").get_data(as_text=True)
    retried = client.post(f"/jobs/{failed.id}/retry")
    again = db.session.scalar(sa.select(Job).where(Job.retry_of_id == failed.id))
    assert retried.headers["Location"].endswith(f"/jobs/{again.id}") and again.attempt == 2
    client.post(f"/jobs/{waiting.id}/cancel")
    assert _job(waiting.id).status == JobStatus.CANCELLED
    refused = client.post(f"/jobs/{waiting.id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "already finished" in refused

    page = client.get("/jobs/schedules").get_data(as_text=True)
    # Not here: the directory (not configured).
    assert "Directory sync (incremental)" in page and page.count('data-testid="not-available"') == 2
    rollup = db.session.scalar(sa.select(Schedule).where(Schedule.name == "access.rollup"))
    client.post(f"/jobs/schedules/{rollup.id}", data={f"s{rollup.id}-time_of_day": "07:15"})
    db.session.rollback()
    rollup = db.session.get(Schedule, rollup.id)
    assert (rollup.enabled, rollup.time_of_day) == (False, time_of_day(7, 15))  # the box was left unticked
    incremental = db.session.scalar(sa.select(Schedule).where(Schedule.name == "directory.incremental"))
    bad = client.post(f"/jobs/schedules/{incremental.id}", data={f"s{incremental.id}-enabled": "y",
                                                                 f"s{incremental.id}-every_minutes": "0"},
                      follow_redirects=True)
    assert bad.status_code == 200 and db.session.get(Schedule, incremental.id).every_minutes == 15
    client.post("/language/zh_CN")
    assert "后台任务" in client.get("/jobs/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.COUNSELOR, Role.STUDENT])
def test_only_staff_change_jobs_and_schedules(app, login, create_user, create_student, role):
    schedules.ensure_default_schedules()
    job = jobs.enqueue("test.write", {"marker": "refused", "fail": True})
    db.session.commit()
    runner.perform(job.id)
    schedule = db.session.scalar(sa.select(Schedule).order_by(Schedule.id).limit(1))
    client = login(create_user("someone", role=role, student=create_student() if role == Role.STUDENT else None))
    reads = 200 if role == Role.AUDITOR else 403
    assert [client.get(url).status_code for url in ("/jobs/", f"/jobs/{job.id}", "/jobs/schedules")] == [reads] * 3
    for url in (f"/jobs/{job.id}/retry", f"/jobs/{job.id}/cancel", f"/jobs/schedules/{schedule.id}"):
        assert client.post(url, data={f"s{schedule.id}-enabled": ""}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1
    assert db.session.get(Schedule, schedule.id).enabled



# --- what a cancel may stop; what reconcile and the purge may end -------------------------------------------------


def test_a_running_job_that_commits_as_it_goes_cannot_be_cancelled_and_a_finished_sync_stays_finished(
        app, login, create_user):
    from dorms.directory.models import DirectoryRun, SyncKind, SyncStatus

    queued, running = jobs.enqueue("notifications.send"), jobs.enqueue("directory.sync")
    sync = DirectoryRun(kind=SyncKind.INCREMENTAL, status=SyncStatus.SUCCEEDED, job_id=running.id)
    db.session.add(sync)
    running.status = JobStatus.RUNNING
    db.session.commit()
    client = login(create_user("staff"))
    assert "Cancel" not in client.get(f"/jobs/{running.id}").get_data(as_text=True)
    refused = client.post(f"/jobs/{running.id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "cannot be stopped" in refused and _job(running.id).status == JobStatus.RUNNING
    client.post(f"/jobs/{queued.id}/cancel")
    assert _job(queued.id).status == JobStatus.CANCELLED  # queued, it still can be
    # Its worker dies after the sync committed: the job fails, the sync it finished stays as it ended.
    assert jobs.end_early(_job(running.id), JobStatus.FAILED, "gone")
    db.session.commit()
    assert db.session.get(DirectoryRun, sync.id).status == SyncStatus.SUCCEEDED


@pytest.mark.backends("sqlite")
def test_on_sqlite_reconcile_fails_a_job_whose_process_is_gone(app):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    job = jobs.enqueue("test.write", {"marker": "gone"})
    job.status, job.worker = JobStatus.RUNNING, f"{runner.socket.gethostname()}:{gone.pid}"
    db.session.commit()
    assert runner.reconcile() == [job.id]


def test_a_heartbeat_is_written_by_the_database_clock(app, monkeypatch):
    job = jobs.enqueue("test.write", {"marker": "skewed"})
    db.session.commit()
    monkeypatch.setattr(runner, "utcnow", lambda: utcnow() - timedelta(hours=3))  # this worker's clock is behind
    assert runner._claim(job.id)
    assert _job(job.id).heartbeat_at > utcnow() - timedelta(minutes=30)


def test_the_purge_deletes_old_finished_jobs_nothing_points_at_and_old_slots(app):
    from dorms.jobs.housekeeping import purge

    long_ago = utcnow() - timedelta(days=31)
    old, retried, retry, recent, running = (jobs.enqueue("test.write", {"marker": str(n)}) for n in range(5))
    retry.retry_of_id = retried.id
    for job in (old, retried, retry, running):
        job.status, job.finished_at = JobStatus.SUCCEEDED, long_ago
    recent.status, recent.finished_at = JobStatus.FAILED, utcnow()
    running.status = JobStatus.RUNNING
    schedules.ensure_default_schedules()
    schedule = db.session.scalar(sa.select(Schedule).limit(1))
    db.session.add_all([ScheduleSlot(schedule_id=schedule.id, slot=long_ago),
                        ScheduleSlot(schedule_id=schedule.id, slot=utcnow())])
    db.session.commit()
    assert purge() == {"jobs": 2, "slots": 1, "expired": 0}
    db.session.commit()
    kept = set(db.session.scalars(sa.select(Job.id)))
    assert kept == {retried.id, recent.id, running.id}  # a retry points at the one retried; the next night takes it


def test_the_jobs_page_leaves_out_routine_runs_that_did_nothing(app, login, create_user):
    schedules.ensure_default_schedules()
    sending = db.session.scalar(sa.select(Schedule).where(Schedule.name == "notifications.send"))
    idle, busy = (jobs.enqueue("notifications.send", schedule=sending) for _ in range(2))
    for job, sent in ((idle, 0), (busy, 3)):
        job.status, job.result = JobStatus.SUCCEEDED, {"sent": sent, "failed": 0, "given_up": 0, "deferred": 0}
    db.session.commit()
    client = login(create_user("staff"))
    page = client.get("/jobs/").get_data(as_text=True)
    assert f'data-job="{busy.id}"' in page and f'data-job="{idle.id}"' not in page
    assert f'data-job="{idle.id}"' in client.get("/jobs/?routine=1").get_data(as_text=True)
