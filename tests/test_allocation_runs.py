"""Allocation runs in the app: proposal, apply, stale refusal, rollback, solved by a job worker."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms import jobs
from dorms.allocation import services
from dorms.allocation.describe import describe_findings
from dorms.allocation.models import AllocationRun, MoveReason, RunMode, RunStatus
from dorms.residence.occupancy import set_room_status
from dorms.core.enums import Gender, GenderPolicy, Role, RoomStatus, StudentStatus
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.jobs.models import Job, JobStatus
from dorms.jobs.workers import work_locally
from dorms.residence import services as residence

# Runs solve in a process of their own (or read the campus in a REPEATABLE READ transaction of their own).
pytestmark = pytest.mark.commits


@pytest.fixture
def campus(create_building, create_room, create_student):
    """Men's building: one room closing with two residents inside, two open rooms; a newcomer; a graduate."""
    building = create_building("A1", gender_policy=GenderPolicy.MALE)
    closing = create_room(building, "101", capacity=2)
    open_rooms = [create_room(building, "102", capacity=4), create_room(building, "103", capacity=4)]
    residents = [create_student(f"20230000{n}", name=f"老生{n}", class_name="计科2301") for n in range(2)]
    for student, bed in zip(residents, closing.beds):
        residence.assign(student, bed, reason="last year")
    graduate = create_student("2022000001", name="毕业生", class_name="计科2201")
    residence.assign(graduate, open_rooms[1].beds[0], reason="last year")
    graduate.status = StudentStatus.GRADUATED
    newcomer = create_student("2026000001", name="新生", class_name="计科2601")
    woman = create_student("2026000002", name="女新生", gender=Gender.FEMALE, class_name="计科2601")
    set_room_status(closing, RoomStatus.CLOSED, reason="renovation")
    db.session.commit()
    return {"closing": closing, "residents": residents, "graduate": graduate, "newcomer": newcomer, "woman": woman}


def _run(mode=RunMode.REALLOCATION) -> AllocationRun:
    run = services.create_run(mode=mode, building_ids=[], time_limit=2)
    db.session.commit()
    return services.execute_run(run.id)


def test_a_reallocation_proposes_forced_moves_newcomers_and_freed_beds(campus):
    run = _run()
    assert run.status == RunStatus.DONE
    reasons = {m.student.student_number: m.reason for m in run.moves}
    assert reasons == {"202300000": MoveReason.ROOM_CLOSED.value, "202300001": MoveReason.ROOM_CLOSED.value,
                       "2026000001": MoveReason.NEW.value, "2026000002": MoveReason.UNPLACED.value,
                       "2022000001": MoveReason.INACTIVE.value}
    assert [f["code"] for f in run.explanations] == ["short_beds"]  # no bed for women here
    assert describe_findings(run.explanations) == [
        "1 female students but only 0 beds that can take them: 1 cannot be placed."]
    assert run.objective <= run.greedy_objective
    assert sum(run.baseline_terms["greedy"].values()) == run.greedy_objective
    assert sum(run.baseline_terms["current"].values()) == run.current_objective


def test_apply_writes_every_move_and_rollback_restores(campus):
    run = _run()
    before = {s.id: residence.current_assignment(s).bed_id for s in campus["residents"]}
    assert services.apply_run(run) == 4
    db.session.commit()
    for student in campus["residents"]:
        assert residence.current_assignment(student).bed.room.number in ("102", "103")
    assert residence.current_assignment(campus["graduate"]) is None
    assert residence.current_assignment(campus["newcomer"]) is not None
    assert "Allocation run" in residence.history(campus["residents"][0])[0].start_reason

    assert services.rollback_run(run) == 4
    db.session.commit()
    assert {s.id: residence.current_assignment(s).bed_id for s in campus["residents"]} == before
    assert residence.current_assignment(campus["newcomer"]) is None
    assert residence.current_assignment(campus["graduate"]) is not None
    assert run.status == RunStatus.ROLLED_BACK


def test_a_stale_proposal_is_refused_and_names_what_changed(campus, create_room):
    run = _run()
    spare = create_room(campus["closing"].building, "104", capacity=1)
    residence.assign(campus["newcomer"], spare.beds[0], reason="staff placed him by hand")
    db.session.commit()
    with pytest.raises(ServiceError, match="changed since.*新生"):
        services.apply_run(run)
    db.session.rollback()
    assert run.status == RunStatus.DONE


def test_a_run_for_some_buildings_ignores_changes_elsewhere(campus, create_building, create_room, create_student):
    elsewhere = create_room(create_building("Z9", gender_policy=GenderPolicy.MALE), "101", capacity=2)
    run = services.create_run(mode=RunMode.REALLOCATION, building_ids=[campus["closing"].building_id], time_limit=2)
    db.session.commit()
    run = services.execute_run(run.id)
    residence.assign(create_student("2026000077", name="别楼新生"), elsewhere.beds[0], reason="by hand")
    db.session.commit()
    assert services.changes_since(run) == []
    spare = create_room(campus["closing"].building, "104", capacity=1)
    residence.assign(create_student("2026000078", name="本楼新生"), spare.beds[0], reason="by hand")
    db.session.commit()
    assert services.changes_since(run) == ["2026000078 本楼新生"]


def test_rollback_is_refused_once_someone_has_moved_again(campus, create_room):
    run = _run()
    services.apply_run(run)
    db.session.commit()
    spare = create_room(campus["closing"].building, "104", capacity=1)
    residence.move(campus["newcomer"], spare.beds[0], reason="asked to move")
    db.session.commit()
    with pytest.raises(ServiceError, match="has moved since"):
        services.rollback_run(run)
    db.session.rollback()


def test_intake_leaves_residents_alone(campus):
    run = _run(RunMode.INTAKE)
    assert {m.reason for m in run.moves} <= {MoveReason.NEW.value, MoveReason.UNPLACED.value}


def test_one_run_at_a_time_unless_the_other_lost_its_process(campus):
    first = services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    with pytest.raises(ServiceError, match="still going"):
        services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    first.created_at = first.created_at - timedelta(hours=1)  # long past its limit, never started
    services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    assert first.status == RunStatus.FAILED and "stopped without finishing" in first.error


def test_a_cancel_during_solving_wins_over_the_result(campus, monkeypatch):
    run = services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    db.session.commit()
    real_solve = services.solve

    def cancelled_meanwhile(*args, **kwargs):
        solution = real_solve(*args, **kwargs)
        # What the web page commits when staff cancel while the solver finishes.
        db.session.execute(sa.update(AllocationRun).where(AllocationRun.id == run.id)
                           .values(status=RunStatus.CANCELLED))
        db.session.commit()
        return solution

    monkeypatch.setattr(services, "solve", cancelled_meanwhile)
    services.execute_run(run.id)
    db.session.rollback()
    run = db.session.get(AllocationRun, run.id)
    assert run.status == RunStatus.CANCELLED and run.moves == []


def test_the_page_queues_a_job_that_a_worker_finishes(campus, login, create_user):
    client = login(create_user("staff"))
    response = client.post("/allocation/runs", data={"mode": "reallocation", "time_limit": 2})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    run = db.session.get(AllocationRun, run_id)
    assert run.status == RunStatus.QUEUED and run.job.kind == "allocation.run"  # nothing solved in the request
    work_locally(burst=True)  # the worker `dorms run` starts beside the app without Redis
    db.session.rollback()
    run = db.session.get(AllocationRun, run_id)
    assert run.status == RunStatus.DONE, run.error
    assert run.job.status == JobStatus.SUCCEEDED and run.job.result["run"] == run_id
    page = client.get(f"/allocation/runs/{run_id}").get_data(as_text=True)
    assert "Apply this proposal" in page and "老生0" in page
    assert f'href="/jobs/{run.job_id}"' in page  # the job's log
    assert "4 students change bed as listed below." in page  # the two of the closed room, the newcomer, the graduate
    refused = client.post(f"/allocation/runs/{run_id}/apply", follow_redirects=True).get_data(as_text=True)
    assert "Nothing was changed: tick the box to confirm. 4 students change bed" in refused
    db.session.rollback()
    assert db.session.get(AllocationRun, run_id).status == RunStatus.DONE
    client.post(f"/allocation/runs/{run_id}/apply", data={"confirm": "yes"})
    db.session.rollback()
    assert db.session.get(AllocationRun, run_id).status == RunStatus.APPLIED
    # Rolling back asks too: without the box ticked the run stays applied.
    refused = client.post(f"/allocation/runs/{run_id}/rollback", follow_redirects=True).get_data(as_text=True)
    assert "Nothing was changed: tick the box to confirm. 4 students go back" in refused
    db.session.rollback()
    assert db.session.get(AllocationRun, run_id).status == RunStatus.APPLIED
    client.post(f"/allocation/runs/{run_id}/rollback", data={"confirm": "yes"})
    db.session.rollback()
    assert db.session.get(AllocationRun, run_id).status == RunStatus.ROLLED_BACK


def test_a_run_can_be_cancelled(campus, login, create_user):
    client = login(create_user("staff"))
    run = services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    db.session.commit()
    client.post(f"/allocation/runs/{run.id}/cancel")
    db.session.rollback()
    assert db.session.get(AllocationRun, run.id).status == RunStatus.CANCELLED
    with pytest.raises(ServiceError):
        services.execute_run(run.id)


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.STUDENT])
def test_only_staff_run_allocations(campus, login, create_user, role):
    user = create_user("someone", role=role, student=campus["newcomer"] if role == Role.STUDENT else None)
    client = login(user)
    assert client.get("/allocation/").status_code == 403
    assert client.post("/allocation/runs", data={"mode": "intake", "time_limit": 2}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(AllocationRun.id))) == 0


def test_a_lock_binds_and_weights_reach_the_solver(campus):
    """Locked into a closed room, a resident cannot be placed: the run says so instead of moving them."""
    run = services.create_run(mode=RunMode.REALLOCATION, building_ids=[], time_limit=2,
                              locked_numbers=["202300000"], weights={"class_room": 0, "class_building": 7})
    db.session.commit()
    run = services.execute_run(run.id)
    locked = campus["residents"][0]
    assert run.locked_student_ids == [locked.id] and run.weights == {"class_room": 0, "class_building": 7}
    assert next(m for m in run.moves if m.student_id == locked.id).reason == MoveReason.UNPLACED.value
    assert "202300000 老生0 is kept in room A1-101, which is closed." in describe_findings(run.explanations)
    assert run.terms["class_room"] == 0 and run.terms["class_building"] % 7 == 0 and run.terms["class_building"]


def test_unknown_students_cannot_be_locked(campus):
    with pytest.raises(ServiceError, match="No student has the number nobody"):
        services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2, locked_numbers=["nobody"])


def _queued_runs() -> list[dict]:
    """The runs the page queued for a worker (none runs here: the tests solve them in-process)."""
    return [job.arguments for job in db.session.scalars(
        sa.select(Job).where(Job.kind == "allocation.run", Job.status == JobStatus.QUEUED).order_by(Job.id))]


def test_run_again_keeps_the_settings(campus, login, create_user):
    client = login(create_user("staff"))
    first = services.create_run(mode=RunMode.REALLOCATION, building_ids=[campus["closing"].building_id],
                                time_limit=2, weights={"pair": 50}, locked_numbers=["202300000"])
    db.session.commit()
    services.execute_run(first.id)
    response = client.post(f"/allocation/runs/{first.id}/rerun")
    again = db.session.get(AllocationRun, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert (again.mode, again.building_ids, again.weights, again.locked_student_ids) == (
        first.mode, first.building_ids, first.weights, first.locked_student_ids)
    assert again.id != first.id
    assert _queued_runs() == [{"run": again.id}]


def test_staff_change_the_locks_and_run_again(campus, login, create_user):
    client = login(create_user("staff"))
    first = services.create_run(mode=RunMode.REALLOCATION, building_ids=[], time_limit=2,
                                locked_numbers=["202300000"])
    db.session.commit()
    services.execute_run(first.id)
    page = client.get(f"/allocation/runs/{first.id}").get_data(as_text=True)
    assert ">202300000</textarea>" in page and 'name="lock" value="202300001"' in page
    response = client.post(f"/allocation/runs/{first.id}/rerun", data={"locked": "", "lock": ["202300001"]})
    again = db.session.get(AllocationRun, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert again.locked_student_ids == [campus["residents"][1].id]  # one unlocked, one ticked
    assert services.execute_run(again.id).status == RunStatus.DONE
    refused = client.post(f"/allocation/runs/{first.id}/rerun", data={"locked": "nobody"})
    page = refused.get_data(as_text=True)
    # The run's page again (not a redirect), saying why, with what was typed kept for the form.
    assert refused.status_code == 200 and "No student has the number nobody" in page
    assert '["locked", "nobody"]' in page


def test_an_intake_never_hands_out_the_bed_of_an_inactive_resident(campus, create_student):
    """The graduate keeps their bed until staff act; the newcomer, sent to the graduate's room, gets another."""
    full = next(r for r in campus["closing"].building.rooms if r.number == "102")
    for n, bed in enumerate(full.beds):
        residence.assign(create_student(f"20240000{n}", class_name="计科2401"), bed, reason="last year")
    db.session.commit()
    run = _run(RunMode.INTAKE)
    graduate_room = residence.current_assignment(campus["graduate"]).bed.room_id
    assert {m.to_bed.room_id for m in run.moves if m.to_bed} == {graduate_room}
    graduate_bed = residence.current_assignment(campus["graduate"]).bed_id
    assert graduate_bed not in {m.to_bed_id for m in run.moves}
    assert services.apply_run(run) == 1
    db.session.commit()
    assert residence.current_assignment(campus["graduate"]).bed_id == graduate_bed


def test_an_unplaced_resident_keeps_their_bed_and_the_proposal_still_applies(create_building, create_room,
                                                                          create_student):
    building = create_building("B2", gender_policy=GenderPolicy.MIXED)
    room = create_room(building, "301", capacity=2)
    man = create_student("2023000007", class_name="X")
    residence.assign(man, room.beds[0], reason="last year")
    room.gender = Gender.FEMALE  # the room is now for women, and no bed anywhere takes men
    create_student("2026000007", class_name="Y", gender=Gender.FEMALE)
    db.session.commit()
    run = _run()
    assert {m.reason for m in run.moves} == {MoveReason.UNPLACED.value, MoveReason.NEW.value}
    assert room.beds[0].id not in {m.to_bed_id for m in run.moves}
    assert services.apply_run(run) == 1
    db.session.commit()
    assert residence.current_assignment(man).bed_id == room.beds[0].id


def test_a_room_keeps_the_gender_of_an_inactive_resident(create_building, create_room, create_student):
    building = create_building("B3", gender_policy=GenderPolicy.MIXED)
    room = create_room(building, "401", capacity=2)
    graduate = create_student("2022000008", class_name="X", gender=Gender.FEMALE)
    residence.assign(graduate, room.beds[0], reason="last year")
    graduate.status = StudentStatus.GRADUATED
    create_student("2026000008", class_name="Y")  # a man; the only free bed is beside her
    db.session.commit()
    run = _run(RunMode.INTAKE)
    assert [m.reason for m in run.moves] == [MoveReason.UNPLACED.value]
    assert services.apply_run(run) == 0


def test_students_who_avoid_their_locked_roommate_do_not_block_an_intake(create_building, create_room,
                                                                         create_student):
    from dorms.core.enums import RequestKind
    from dorms.students import roommate_requests

    room = create_room(create_building("B5", gender_policy=GenderPolicy.MALE), "601", capacity=4)
    a, b = create_student("2023000001", class_name="X"), create_student("2023000002", class_name="X")
    residence.assign(a, room.beds[0], reason="last year")
    residence.assign(b, room.beds[1], reason="last year")
    for n in range(2):
        create_student(f"202600000{n}", class_name="Y")
    roommate_requests.add_request(b, "2023000001", RequestKind.AVOID)
    db.session.commit()
    run = _run(RunMode.INTAKE)
    assert {m.reason for m in run.moves} == {MoveReason.NEW.value}
    assert services.apply_run(run) == 2


def test_rollback_never_mixes_genders_in_a_room(create_building, create_room, create_student):
    building = create_building("B4", gender_policy=GenderPolicy.MIXED)
    closing = create_room(building, "501", capacity=2)
    man = create_student("2023000005", class_name="X")
    residence.assign(man, closing.beds[0], reason="last year")
    set_room_status(closing, RoomStatus.CLOSED, reason="repairs")
    create_room(building, "502", capacity=2)
    db.session.commit()
    run = _run()
    services.apply_run(run)
    db.session.commit()
    set_room_status(closing, RoomStatus.OPEN, reason="repaired")
    residence.assign(create_student("2026000005", class_name="Y", gender=Gender.FEMALE), closing.beds[1],
                     reason="placed by hand")
    db.session.commit()
    with pytest.raises(ServiceError, match="houses female students"):
        services.rollback_run(run)
    db.session.rollback()


def test_a_run_for_some_students_leaves_the_others_where_they_are(campus, create_student):
    later = create_student("2025000001", name="二五级", class_name="计科2501", grade=2025)
    campus["newcomer"].grade = 2026
    db.session.commit()
    run = services.create_run(mode=RunMode.REALLOCATION, building_ids=[], time_limit=2,
                              student_scope={"grades": [2026], "colleges": [], "classes": []})
    db.session.commit()
    run = services.execute_run(run.id)
    assert run.student_scope == {"grades": [2026]}
    moved = {m.student.student_number: m.reason for m in run.moves}
    assert moved["2026000001"] == MoveReason.NEW.value and "2025000001" not in moved
    assert "2022000001" not in moved  # an inactive resident outside the scope keeps the bed, for staff to free
    # Residents outside the scope stay, even in the closed room: the run says so instead of moving them.
    assert {moved.get("202300000"), moved.get("202300001")} == {MoveReason.UNPLACED.value}
    assert any("is kept in room A1-101, which is closed" in f for f in describe_findings(run.explanations))
    assert later.id not in {m.student_id for m in run.moves}


def test_the_form_takes_a_student_scope(campus, login, create_user):
    client = login(create_user("staff"))
    response = client.post("/allocation/runs", data={"mode": "intake", "time_limit": 2, "scope_grades": "2026，2025",
                                                     "scope_colleges": "计算机学院"})
    run = services.execute_run(int(response.headers["Location"].rsplit("/", 1)[1]))
    assert run.status == RunStatus.DONE and run.student_scope == {"grades": [2025, 2026], "colleges": ["计算机学院"]}
    page = client.get(f"/allocation/runs/{run.id}").get_data(as_text=True)
    assert "entered in: 2025, 2026" in page
    response = client.post("/allocation/runs", data={"mode": "intake", "time_limit": 2, "scope_grades": "last year"},
                           follow_redirects=True)
    assert "Write years such as 2026" in response.get_data(as_text=True)


def test_cancelling_the_run_cancels_its_job_and_keeps_no_proposal(campus, app, login, create_user, monkeypatch):
    """Staff cancel while the worker solves: the search stops, the run and its job end cancelled, nothing proposed."""
    client = login(create_user("staff"))
    run_id = int(client.post("/allocation/runs", data={"mode": "reallocation", "time_limit": 2})
                 .headers["Location"].rsplit("/", 1)[1])
    real_solve = services.solve
    answers = []

    def cancelled_meanwhile(*args, progress, cancelled, **kwargs):
        def reported(stage, fraction):
            progress(stage, fraction)
            if stage == "improving":  # the search begins: staff cancel, in a request of their own
                with app.app_context():
                    services.cancel_run(db.session.get(AllocationRun, run_id))
                    db.session.commit()

        return real_solve(*args, progress=reported, cancelled=lambda: answers.append(cancelled()) or answers[-1],
                          **kwargs)

    monkeypatch.setattr(services, "solve", cancelled_meanwhile)
    work_locally(burst=True)
    db.session.rollback()
    assert answers == [True]  # the search asked, saw the cancel and stopped
    run = db.session.get(AllocationRun, run_id)
    assert run.status == RunStatus.CANCELLED and run.moves == []
    assert run.job.status == JobStatus.CANCELLED and run.job.finished_at is not None


def test_a_cancel_while_the_run_reads_the_campus_ends_it_cancelled_not_failed(campus, app, login, create_user,
                                                                             monkeypatch):
    """The run's first write after the cancel meets it (PostgreSQL refuses the REPEATABLE READ transaction's
    update): the cancel stands, and nothing is proposed."""
    client = login(create_user("staff"))
    run_id = int(client.post("/allocation/runs", data={"mode": "reallocation", "time_limit": 2})
                 .headers["Location"].rsplit("/", 1)[1])
    real_build = services.build_instance

    def cancelled_while_reading(run):
        built = real_build(run)
        with app.app_context():
            services.cancel_run(db.session.get(AllocationRun, run_id))
            db.session.commit()
        return built

    monkeypatch.setattr(services, "build_instance", cancelled_while_reading)
    work_locally(burst=True)
    db.session.rollback()
    run = db.session.get(AllocationRun, run_id)
    assert (run.status, run.moves, run.job.status) == (RunStatus.CANCELLED, [], JobStatus.CANCELLED)


def test_the_proposal_shows_counts_apart_from_the_weighted_score_and_the_real_scope(campus, login, create_user):
    run = services.create_run(mode=RunMode.REALLOCATION, building_ids=[campus["closing"].building_id], time_limit=2,
                              weights={"move": 7})
    db.session.commit()
    run = services.execute_run(run.id)
    counts = run.baseline_terms["counts"]["proposal"]
    assert counts["unassigned"] == 1 and counts["moves"] == 2  # the woman; the two residents of the closed room
    client = login(create_user("staff"))
    client.post("/language/zh_CN")
    page = client.get(f"/allocation/runs/{run.id}").get_data(as_text=True)
    rows = {row[0]: row[1:] for row in _rows(page, "run-figures")}
    assert rows["未分到床位的学生"][0] == "1" and rows["调动的在住学生"][0] == "2"
    assert rows["加权得分（越低越好）"][0] == str(run.objective) and run.objective >= 10_000
    assert "范围：楼栋 A1" in page and "全校" not in page
    assert "调动的在住学生 7" in page and "move 7" not in page

    # A run stored before counts were kept: the counts come from the weighted terms.
    run.baseline_terms = {k: v for k, v in run.baseline_terms.items() if k != "counts"}
    db.session.commit()
    rows = {row[0]: row[1:] for row in _rows(client.get(f"/allocation/runs/{run.id}").get_data(as_text=True),
                                             "run-figures")}
    assert rows["未分到床位的学生"][0] == "1" and rows["调动的在住学生"][0] == "2"


def _rows(page: str, testid: str) -> list[list[str]]:
    import re
    from html import unescape

    table = page.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    return [[unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def test_a_cancel_after_the_proposal_committed_is_refused_and_the_run_stays_done(campus):
    run = services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    services.start_job(run)
    run.job.status, run.status = JobStatus.RUNNING, RunStatus.DONE  # stored; the job not yet marked succeeded
    db.session.commit()
    with pytest.raises(ServiceError, match="already finished"):  # from the job's page: too late
        jobs.cancel(run.job)
    db.session.rollback()
    assert (run.status, run.job.status) == (RunStatus.DONE, JobStatus.RUNNING)


def test_a_run_whose_job_waits_in_the_queue_is_not_given_up_nor_brought_back(campus):
    waiting = services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    services.start_job(waiting)
    waiting.created_at -= timedelta(hours=1)  # long past its time limit, its job still queued
    with pytest.raises(ServiceError, match="still going"):
        services.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    # Given up on (as before this was fixed): the job that comes later does not run it again; only a retry does.
    waiting.status = RunStatus.FAILED
    db.session.flush()
    assert jobs.perform(waiting.job_id) == JobStatus.FAILED
    assert db.session.get(AllocationRun, waiting.id).status == RunStatus.FAILED
