"""Large imports and exports from the pages run as jobs: the same report, refusals and confirmation as the
synchronous page, all or nothing, an export's file kept for download, and staff only.

Jobs commit (their progress and log go over a connection of their own): the tests commit."""
from __future__ import annotations

import io
import re
import types
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms.campus.models import Room
from dorms.core.clock import utcnow
from dorms.core.enums import Role
from dorms.extensions import db
from dorms.jobs import Job, JobStatus, runner
from dorms.jobs.workers import work_locally
from dorms.residence import services as residence
from dorms.students.models import Student
from dorms.transfer import importing
from dorms.transfer.models import TransferFile

from .planner_statistics import analyzed_afresh, times_analyzed
from .test_transfer import ROOMS_CSV, STUDENTS_CSV

pytestmark = pytest.mark.commits


@pytest.fixture
def staff(app, client, login, create_user):
    app.config.update(IMPORT_JOB_ROWS=2, EXPORT_JOB_ROWS=2)  # the app fixture puts them back
    user = create_user("office")
    login(user)
    return user


def _post(client, kind: str, data: bytes, **extra):
    return client.post("/import", data={"kind": kind, "file": (io.BytesIO(data), f"{kind}.csv"), **extra},
                       content_type="multipart/form-data")


def _start(client, kind: str, data: bytes, **extra) -> int:
    response = _post(client, kind, data, **extra)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/import/jobs/(\d+)$", response.headers["Location"]).group(1))


def _uploads() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(TransferFile.id)).where(TransferFile.purpose == "upload"))


def _rooms() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(Room.id)))


def _bed(number: str) -> str:
    db.session.rollback()
    student = db.session.scalar(sa.select(Student).where(Student.student_number == number))
    return residence.current_assignment(student).bed.code


def test_a_large_import_is_a_job_whose_page_shows_the_report_and_small_files_stay_on_the_page(client, staff):
    small = _post(client, "rooms", "\n".join(ROOMS_CSV.splitlines()[:3]).encode())
    assert small.status_code == 200 and "import-report" in small.get_data(as_text=True)

    checked = _start(client, "rooms", ROOMS_CSV.encode(), dry_run="y")
    work_locally(burst=True)  # no Redis: the local worker runs it, as `dorms run` does
    page = client.get(f"/import/jobs/{checked}").get_data(as_text=True)
    assert "Checked; nothing was written." in page and "3 rows: 1 created, 0 updated, 2 unchanged" in page
    assert _rooms() == 2 and _uploads() == 0

    job_id = _start(client, "rooms", ROOMS_CSV.encode())
    waiting = client.get(f"/import/jobs/{job_id}").get_data(as_text=True)
    assert 'data-testid="job-waiting"' in waiting and _uploads() == 1 and _rooms() == 2
    assert runner.perform(job_id) == JobStatus.SUCCEEDED
    page = client.get(f"/import/jobs/{job_id}").get_data(as_text=True)
    assert "import-report" in page and "3 rows: 1 created, 0 updated, 2 unchanged" in page
    job = db.session.get(Job, job_id)
    assert job.started_by_id == staff.id and job.kind == "transfer.import" and _uploads() == 0 and _rooms() == 3


def test_a_large_import_with_bad_rows_lists_every_problem_and_writes_nothing(client, staff):
    bad = ("student_number,name,gender,grade,building,room,bed\n"
           "2024010,甲,男,20x4,A1,101,1\n"
           "2024011,乙,女,2024,A1,101,2\n"
           "2024012,丙,男,2024,,,\n")
    _start(client, "rooms", ROOMS_CSV.encode())
    job_id = _start(client, "students", bad.encode())
    work_locally(burst=True)
    page = client.get(f"/import/jobs/{job_id}").get_data(as_text=True)
    assert "The file was not imported: 2 problems." in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td>", page)
    assert rows == [("2", "grade"), ("3", "bed")]
    assert db.session.scalar(sa.select(sa.func.count(Student.id))) == 0 and _uploads() == 0


def test_moves_from_a_large_import_wait_for_the_same_confirmation(client, staff):
    _start(client, "rooms", ROOMS_CSV.encode())
    _start(client, "students", STUDENTS_CSV.encode())
    work_locally(burst=True)
    swapped = STUDENTS_CSV.replace("A1,101,1", "A1,102,1").replace("A1,102,\n", "A1,101,1\n").encode()
    previewed = _start(client, "students", swapped)
    work_locally(burst=True)
    page = client.get(f"/import/jobs/{previewed}").get_data(as_text=True)
    assert "import-confirm" in page and "2024003 李强" in page and "A1-101-1" in page
    assert _bed("2024001") == "A1-101-1"
    token = re.search(r'name="confirm" value="([0-9a-f]+)"', page).group(1)

    other = _start(client, "students", swapped.replace("张伟".encode(), "张伟伟".encode()), confirm=token)
    work_locally(burst=True)
    assert "changed since the preview" in client.get(f"/import/jobs/{other}").get_data(as_text=True)
    assert _bed("2024001") == "A1-101-1"

    confirmed = _start(client, "students", swapped, confirm=token)
    work_locally(burst=True)
    page = client.get(f"/import/jobs/{confirmed}").get_data(as_text=True)
    assert "import-report" in page and "2 residents move" in page
    assert _bed("2024001") == "A1-102-1"


def test_a_large_import_that_fails_midway_keeps_nothing(client, staff, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    # After every row is written: the audit entry is the import's last write.
    monkeypatch.setattr(importing, "audit", types.SimpleNamespace(record=fail))
    job_id = _start(client, "rooms", ROOMS_CSV.encode())
    assert runner.perform(job_id) == JobStatus.FAILED
    assert _rooms() == 0 and _uploads() == 0
    page = client.get(f"/import/jobs/{job_id}").get_data(as_text=True)
    assert "The job failed and changed nothing" in page and "the database went away" in page


def test_a_large_export_is_a_job_whose_file_is_downloaded_until_it_expires(app, client, staff):
    _post(client, "rooms", "\n".join(ROOMS_CSV.splitlines()[:3]).encode())
    small = client.get("/export/rooms.csv")
    assert small.status_code == 200 and small.data.decode("utf-8-sig").count("\n") == 3  # two rooms: on the spot
    _start(client, "rooms", ROOMS_CSV.encode())
    work_locally(burst=True)
    app.config["EXPORT_JOB_ROWS"] = 100
    direct = client.get("/export/rooms.csv").data
    app.config["EXPORT_JOB_ROWS"] = 2

    # A large export is offered as a form: following or prefetching a link starts nothing.
    offered = client.get("/export/rooms.csv").get_data(as_text=True)
    assert 'data-testid="export-start"' in offered and db.session.scalar(
        sa.select(sa.func.count(Job.id)).where(Job.kind == "transfer.export")) == 0
    started = client.post("/export/rooms.csv")
    job_id = int(re.search(r"/export/jobs/(\d+)$", started.headers["Location"]).group(1))
    assert 'data-testid="job-waiting"' in client.get(f"/export/jobs/{job_id}").get_data(as_text=True)
    assert client.get(f"/export/jobs/{job_id}/file").status_code == 404
    work_locally(burst=True)
    assert 'data-testid="export-ready"' in client.get(f"/export/jobs/{job_id}").get_data(as_text=True)
    download = client.get(f"/export/jobs/{job_id}/file")
    assert download.status_code == 200 and download.data == direct
    assert "attachment" in download.headers["Content-Disposition"]

    db.session.rollback()
    stored = db.session.scalar(sa.select(TransferFile).where(TransferFile.job_id == job_id))
    assert stored.expires_at - utcnow() > timedelta(hours=23)
    stored.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/export/jobs/{job_id}/file").status_code == 404
    assert 'data-testid="export-expired"' in client.get(f"/export/jobs/{job_id}").get_data(as_text=True)
    # The nightly purge forgets the expired file, then its job once old enough.
    from dorms.jobs.housekeeping import purge

    assert purge()["expired"] == 1
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(TransferFile.id))) == 0


def test_only_staff_start_or_see_import_and_export_jobs(app, client, login, create_user, create_student):
    app.config.update(IMPORT_JOB_ROWS=2, EXPORT_JOB_ROWS=0)
    staff = login(create_user("office"))
    import_id = _start(staff, "rooms", ROOMS_CSV.encode())
    work_locally(burst=True)
    export_id = int(re.search(r"/export/jobs/(\d+)$", staff.post("/export/rooms.csv").headers["Location"]).group(1))
    work_locally(burst=True)
    assert staff.get(f"/export/jobs/{export_id}/file").status_code == 200
    assert staff.get(f"/import/jobs/{export_id}").status_code == 404  # not an import's job
    urls = (f"/import/jobs/{import_id}", f"/export/jobs/{export_id}", f"/export/jobs/{export_id}/file",
            "/export/students.csv")
    for role in (Role.COUNSELOR, Role.STUDENT):
        staff.post("/logout")
        login(create_user(role.value, role=role, student=create_student() if role == Role.STUDENT else None))
        assert [client.get(url).status_code for url in urls] == [403] * 4
        assert _post(client, "rooms", ROOMS_CSV.encode()).status_code == 403
        assert client.post("/export/students.csv").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 2


def test_an_import_job_takes_a_long_file_name_and_cannot_be_retried_once_its_upload_is_gone(app, client, staff):
    long_name = "机房" * 200 + ".csv"
    started = client.post("/import", data={"kind": "rooms", "dry_run": "y",
                                          "file": (io.BytesIO(ROOMS_CSV.encode()), long_name)},
                          content_type="multipart/form-data")
    assert started.status_code == 302, started.get_data(as_text=True)
    job_id = int(re.search(r"/import/jobs/(\d+)$", started.headers["Location"]).group(1))
    db.session.rollback()
    job = db.session.get(Job, job_id)
    assert job.arguments["filename"].endswith(".csv") and len(job.arguments["filename"]) <= 255
    client.post(f"/jobs/{job_id}/cancel")
    db.session.rollback()
    assert db.session.get(Job, job_id).status == JobStatus.CANCELLED
    assert "Try again" not in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    refused = client.post(f"/jobs/{job_id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "cannot run again" in refused
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1


def _students_csv(count: int, first: int) -> bytes:
    rows = (f"{number},学生{number},{'MF'[number % 2]}" for number in range(first, first + count))
    return ("student_number,name,gender\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.backends("postgresql")
def test_an_import_large_enough_to_matter_is_followed_by_analyze_and_a_small_one_is_not(app, client, staff,
                                                                                       tmp_path):
    before = analyzed_afresh("students")
    small = _post(client, "students", _students_csv(2, first=3_000_000))  # on the page: IMPORT_JOB_ROWS is 2 here
    assert small.status_code == 200 and "2 rows: 2 created" in small.get_data(as_text=True)
    assert times_analyzed("students") == before

    job_id = _start(client, "students", _students_csv(120, first=3_000_100))
    assert runner.perform(job_id) == JobStatus.SUCCEEDED
    assert times_analyzed("students") == before + 1

    path = tmp_path / "students.csv"
    path.write_bytes(_students_csv(200, first=3_000_300))
    result = app.test_cli_runner().invoke(args=["import", "students", str(path)])
    assert result.exit_code == 0, result.output
    assert times_analyzed("students") == before + 2
