"""The `dorms` command line: demo, import, export, user create."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms.auth.models import User
from dorms.campus.models import Bed, Building, Room
from dorms.core.enums import Role, RoomStatus, StudentStatus
from dorms.extensions import db
from dorms.residence.models import Assignment
from dorms.roomchange import requests_round
from dorms.students.models import Student

from .test_transfer import ROOMS_CSV, STUDENTS_CSV


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.mark.backends("sqlite")
def test_demo_seeds_a_realistic_campus_once_with_logins_that_work(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for role in ("staff: admin", "counselor: counselor1", "student: "):
        assert role in result.output
    for line in result.output.splitlines():
        if " / " in line:
            username, password = line.split(": ", 1)[1].split(" / ")
            response = client.post("/login", data={"username": username, "password": password})
            assert response.status_code == 302, line
            client.post("/logout")
    assert _count(Building) >= 4
    assert 950 <= _count(Bed) <= 1200
    assert 850 <= _count(Student) <= 950
    assert len(set(db.session.scalars(sa.select(Student.class_name)))) >= 28
    assert _count(Room, Room.status == RoomStatus.CLOSED) == 1
    capacities = set(db.session.execute(
        sa.select(sa.func.count(Bed.id)).where(Bed.active.is_(True)).group_by(Bed.room_id)).scalars())
    assert capacities == {4, 6}
    housed = _count(Assignment, Assignment.ended_at.is_(None))
    assert 0 < housed < _count(Bed)  # some free beds
    names = db.session.scalars(sa.select(Student.name)).all()
    assert all(re.fullmatch("[\u4e00-\u9fff]{2,4}", name) for name in names)
    assert {u.role.value for u in db.session.scalars(sa.select(User))} == {r.value for r in Role}  # one of each
    # A fortnight of door events: last night's report has every resident, most of them in.
    from dorms.access.curfew import Status
    from dorms.access.reports import last_finished_night, night_report

    statuses = [row.status for row in night_report(last_finished_night())]
    assert len(statuses) == housed and statuses.count(Status.IN) > 0.8 * housed
    assert {Status.LATE, Status.EXCUSED} <= set().union(*(
        {row.status for row in night_report(last_finished_night() - timedelta(days=k))} for k in range(7)))
    # The nights of the term before the demo's fortnight of door events have no door data: nobody absent.
    from dorms.demo.seed import DEMO_NIGHTS

    before_feed = night_report(last_finished_night() - timedelta(days=DEMO_NIGHTS + 1))
    assert {row.status for row in before_feed} <= {Status.NO_DATA}
    # Rolled up as the morning job would have: reports read kept rows for the seeded nights.
    from dorms.access.reports import rolled_up

    seeded = rolled_up(last_finished_night() - timedelta(days=DEMO_NIGHTS - 1), last_finished_night())
    assert len(seeded) == DEMO_NIGHTS
    # The planner has sampled what was seeded (ANALYZE), whether or not the database would have by itself.
    assert db.session.scalar(sa.text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'students'"))
    trade = requests_round.propose()  # the demo's waiting requests: one three-way trade
    assert (trade.stats["granted"], trade.stats["longest_trade"], trade.stats["pairs_only_students"]) == (3, 3, 0)

    before = (_count(Student), _count(Assignment), _count(Bed), _count(User))
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already there" in again.output
    assert (_count(Student), _count(Assignment), _count(Bed), _count(User)) == before


@pytest.mark.parametrize("student_count", [100, 901, 2000])
def test_a_larger_demo_campus_has_its_students_in_classes_of_30_and_beds_for_them_all(student_count):
    import random

    from dorms.core.enums import Gender
    from dorms.demo.seed import FLOORS, ROOM_LAYOUT, _buildings, _build_students

    classes = _build_students(random.Random(1), student_count)
    students = [s for _name, members in classes for s in members]
    assert len(students) == student_count
    assert len({name for name, _members in classes}) == len(classes) == -(-student_count // 30)
    assert all(len(members) <= 30 for _name, members in classes)
    assert len({s.student_number for s in students}) == student_count
    beds_per_building = FLOORS * sum(ROOM_LAYOUT)
    for gender, letter in ((Gender.MALE, "A"), (Gender.FEMALE, "B")):
        buildings = [code for code, _name, policy in _buildings(students) if policy.value == gender.value]
        assert all(code.startswith(letter) for code in buildings)
        assert len(buildings) * beds_per_building >= sum(1 for s in students if s.gender == gender)


def test_import_and_export_commands(app, tmp_path):
    runner = app.test_cli_runner()
    rooms = tmp_path / "rooms.csv"
    rooms.write_text(ROOMS_CSV, encoding="utf-8")
    result = runner.invoke(args=["import", "rooms", str(rooms)])
    assert result.exit_code == 0 and "3 were created" in result.output, result.output
    students = tmp_path / "students.csv"
    students.write_bytes(STUDENTS_CSV.encode("gbk"))
    result = runner.invoke(args=["import", "students", str(students), "--dry-run"])
    assert result.exit_code == 0 and "(gbk)" in result.output and "would be" in result.output
    assert _count(Student) == 0
    assert runner.invoke(args=["import", "students", str(students)]).exit_code == 0
    assert _count(Student) == 3

    out = tmp_path / "students.xlsx"
    result = runner.invoke(args=["export", "students", "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0
    result = runner.invoke(args=["export", "students"])
    header = result.stdout_bytes.decode("utf-8-sig").splitlines()[0]
    assert header == ("student_number,name,gender,college,major,class,grade,phone,status,needs_accessible,"
                      "building,room,bed")


def test_a_bad_import_exits_non_zero_and_lists_rows(app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("student_number,name,gender\n1,,X\n1,李,男\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "students", str(bad)])
    assert result.exit_code == 1
    assert "row 2, name: is missing" in result.output
    assert "row 2, gender:" in result.output
    assert "row 3, student_number:" in result.output
    assert _count(Student) == 0


def test_an_import_that_moves_residents_needs_the_flag_and_prints_the_moves(app, tmp_path):
    runner = app.test_cli_runner()
    rooms = tmp_path / "rooms.csv"
    rooms.write_text(ROOMS_CSV, encoding="utf-8")
    assert runner.invoke(args=["import", "rooms", str(rooms)]).exit_code == 0
    students = tmp_path / "students.csv"
    students.write_text(STUDENTS_CSV, encoding="utf-8")
    result = runner.invoke(args=["import", "students", str(students)])
    assert result.exit_code == 0 and "assign\t2024001 张伟\t\tA1-101-1" in result.output
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(STUDENTS_CSV.replace("A1,101,1", "A1,102,1").replace("A1,102,\n", "A1,101,1\n"),
                       encoding="utf-8")
    result = runner.invoke(args=["import", "students", str(swapped)])
    assert result.exit_code == 1 and "--move-residents" in result.output
    assert "move\t2024001 张伟\tA1-101-1\tA1-102-1" in result.output
    assert "move\t2024003 李强\tA1-102-1\tA1-101-1" in result.output
    assert {a.bed.code for a in db.session.scalars(sa.select(Assignment))} == {"A1-101-1", "A1-102-1"}
    moved = db.session.scalar(sa.select(Assignment).join(Student).where(Student.student_number == "2024001"))
    assert moved.bed.code == "A1-101-1"
    result = runner.invoke(args=["import", "students", str(swapped), "--move-residents"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    current = db.session.scalar(sa.select(Assignment).join(Student).where(
        Student.student_number == "2024001", Assignment.ended_at.is_(None)))
    assert current.bed.code == "A1-102-1"


def test_user_create(app, create_student):
    create_student("2024000001", status=StudentStatus.ACTIVE)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "Boss", "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User).where(User.username == "boss")).check_password("long enough pw")
    result = runner.invoke(args=["user", "create", "c1", "--role", "counselor", "--class", "计科2401",
                                 "--college", "外国语学院", "--password", "long enough pw"])
    assert result.exit_code == 0
    scopes = db.session.scalar(sa.select(User).where(User.username == "c1")).scopes
    assert {(s.class_name, s.college) for s in scopes} == {("计科2401", None), (None, "外国语学院")}
    result = runner.invoke(args=["user", "create", "2024000001", "--role", "student",
                                 "--student-number", "2024000001", "--password", "long enough pw"])
    assert result.exit_code == 0
    result = runner.invoke(args=["user", "create", "boss", "--password", "long enough pw"])
    assert result.exit_code == 1 and "taken" in result.output
    result = runner.invoke(args=["user", "create", "short", "--password", "short"])
    assert result.exit_code == 1 and "at least 8" in result.output


def test_user_create_a_building_manager_of_named_buildings(app, create_building):
    create_building("A1")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "lou", "--role", "building_manager", "--building", "A1",
                                 "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "lou"))
    assert [b.code for b in user.managed_buildings] == ["A1"]
    for args in (["--building", "Z9"], []):
        result = runner.invoke(args=["user", "create", "lou2", "--role", "building_manager", *args,
                                     "--password", "long enough pw"])
        assert result.exit_code == 1


@pytest.mark.commits
def test_a_requests_round_from_the_command_line(app, create_building, create_room, create_student):
    from dorms.residence import services as residence
    from dorms.roomchange import services as room_changes

    building = create_building("C1")
    rooms = [create_room(building, f"{n}01", capacity=1) for n in range(1, 4)]
    people = [create_student(f"20240000{n}", name=f"学生{n}") for n in range(3)]
    for person, room in zip(people, rooms):
        residence.assign(person, room.beds[0], reason="x")
    for n, person in enumerate(people):  # each wants the next one's room: a three-way trade
        room_changes.ask_to_move(person, [room_changes.Choice("room", rooms[(n + 1) % 3].code)], "x")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["allocation", "start", "requests"])
    assert result.exit_code == 0, result.output
    assert "3 lines in the proposal" in result.output and "longest_trade: 3" in result.output
    run_id = re.search(r"run (\d+): done", result.output).group(1)
    declined = runner.invoke(args=["allocation", "apply", run_id], input="n\n")  # asks first, saying how many
    assert declined.exit_code != 0 and "Apply run " + run_id + ": 3 students change bed?" in declined.output
    applied = runner.invoke(args=["allocation", "apply", run_id], input="y\n")
    assert applied.exit_code == 0 and "3 students changed bed" in applied.output
    db.session.rollback()
    assert residence.current_assignment(people[0]).bed.room == rooms[1]
    again = runner.invoke(args=["allocation", "apply", run_id, "--yes"])
    assert again.exit_code != 0 and "Only a finished proposal" in again.output
    back = runner.invoke(args=["allocation", "rollback", run_id, "--yes"])
    assert back.exit_code == 0 and "3 students are back" in back.output
    assert runner.invoke(args=["allocation", "start", "intake", "--building", "NOPE"]).exit_code != 0
