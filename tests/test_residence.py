"""Assign, move, vacate: the rules, the history and the audit log."""
import pytest
import sqlalchemy as sa

from dorms.audit.models import AuditEntry
from dorms.core.enums import Gender, GenderPolicy, RoomStatus, StudentStatus
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.residence import services as residence


def test_assign_then_move_keeps_history_and_logs_both(create_room, create_student):
    room_a, room_b = create_room(capacity=2), create_room(capacity=2)
    student = create_student()
    residence.assign(student, room_a.beds[0], reason="new intake")
    residence.move(student, room_b.beds[1], reason="asked to move")
    db.session.commit()

    history = residence.history(student)
    assert [a.bed_id for a in history] == [room_b.beds[1].id, room_a.beds[0].id]
    assert history[0].is_current and not history[1].is_current
    assert history[1].end_reason == "asked to move"
    assert residence.current_occupant(room_a.beds[0]) is None
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["assignment.assign", "assignment.move"]


def test_vacate_ends_the_assignment(create_room, create_student):
    student = create_student()
    bed = create_room().beds[0]
    residence.assign(student, bed, reason="intake")
    residence.vacate(student, reason="graduated")
    db.session.commit()
    assert residence.current_assignment(student) is None
    assert residence.history(student)[0].end_reason == "graduated"
    with pytest.raises(ServiceError, match="has no bed"):
        residence.vacate(student, reason="again")


def test_a_taken_bed_is_refused_with_the_occupants_name(create_room, create_student):
    bed = create_room().beds[0]
    residence.assign(create_student(name="李四"), bed, reason="intake")
    with pytest.raises(ServiceError, match="already taken by .*李四"):
        residence.assign(create_student(), bed, reason="intake")


def test_assign_refuses_a_student_who_has_a_bed(create_room, create_student):
    student = create_student()
    room = create_room(capacity=2)
    residence.assign(student, room.beds[0], reason="intake")
    with pytest.raises(ServiceError, match="move them instead"):
        residence.assign(student, room.beds[1], reason="again")


@pytest.mark.parametrize("room_gender, policy", [(Gender.FEMALE, GenderPolicy.MIXED), (None, GenderPolicy.FEMALE)])
def test_room_and_building_gender_are_enforced(create_building, create_room, create_student, room_gender, policy):
    room = create_room(create_building(gender_policy=policy), gender=room_gender)
    with pytest.raises(ServiceError, match="houses female students"):
        residence.assign(create_student(gender=Gender.MALE), room.beds[0], reason="intake")
    residence.assign(create_student(gender=Gender.FEMALE), room.beds[0], reason="intake")


def test_a_mixed_room_takes_the_gender_of_its_occupants(create_room, create_student):
    room = create_room(capacity=2)
    residence.assign(create_student(gender=Gender.FEMALE), room.beds[0], reason="intake")
    with pytest.raises(ServiceError, match="houses female students"):
        residence.assign(create_student(gender=Gender.MALE), room.beds[1], reason="intake")


def test_closed_rooms_take_nobody(create_room, create_student):
    room = create_room(status=RoomStatus.CLOSED)
    with pytest.raises(ServiceError, match="is closed"):
        residence.assign(create_student(), room.beds[0], reason="intake")


def test_accessible_needs_are_met(create_room, create_student):
    student = create_student(needs_accessible=True)
    with pytest.raises(ServiceError, match="needs an accessible room"):
        residence.assign(student, create_room(accessible=False).beds[0], reason="intake")
    residence.assign(student, create_room(accessible=True).beds[0], reason="intake")


def test_inactive_students_get_no_bed(create_room, create_student):
    student = create_student(status=StudentStatus.GRADUATED)
    with pytest.raises(ServiceError, match="not active"):
        residence.assign(student, create_room().beds[0], reason="intake")


def test_every_problem_is_named_at_once(create_room, create_student):
    room = create_room(gender=Gender.FEMALE, status=RoomStatus.CLOSED)
    problems = residence.placement_problems(create_student(gender=Gender.MALE, needs_accessible=True), room.beds[0])
    assert len(problems) == 3


def test_closing_an_occupied_room_reports_its_residents(create_room, create_student):
    from dorms.residence.occupancy import set_room_status

    room = create_room(capacity=2)
    residence.assign(create_student(), room.beds[0], reason="intake")
    assert set_room_status(room, RoomStatus.CLOSED, reason="renovation") == 1
    assert set_room_status(room, RoomStatus.CLOSED, reason="again") == 0


def test_lowering_capacity_never_drops_an_occupied_bed(create_room, create_student):
    from dorms.residence.occupancy import set_capacity

    room = create_room(capacity=4)
    residence.assign(create_student(), room.beds[3], reason="intake")
    db.session.flush()
    with pytest.raises(ServiceError, match="occupied"):
        set_capacity(room, 3)
    assert set_capacity(room, 6) is True
    assert room.capacity == 6


def test_assignments_belong_to_the_running_term(create_room, create_student):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from dorms.students.models import Term

    room = create_room(capacity=2)
    student = create_student()
    assert residence.assign(student, room.beds[0], reason="no term defined").term is None
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the campus calendar's day
    db.session.add_all([
        Term(code="past", name="past", starts_on=today - timedelta(days=400), ends_on=today - timedelta(days=200)),
        Term(code="now", name="now", starts_on=today, ends_on=today + timedelta(days=30)),
    ])
    assert residence.move(student, room.beds[1], reason="moved").term.code == "now"
