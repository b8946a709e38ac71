"""What the database itself guarantees, whatever the code above it does."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorms.auth.models import User
from dorms.campus.models import Floor, Room
from dorms.core.clock import utcnow
from dorms.core.enums import Role
from dorms.extensions import db
from dorms.residence.models import Assignment

# The database itself refuses these, each with its own kind of index and check: both are tested.
pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _assignment(student, bed, ended=False):
    now = utcnow()
    return Assignment(student=student, bed=bed, started_at=now - timedelta(days=2),
                      ended_at=now - timedelta(days=1) if ended else None)


def test_a_bed_has_at_most_one_current_occupant(create_room, create_student):
    room = create_room(capacity=2)
    bed = room.beds[0]
    db.session.add(_assignment(create_student(), bed))
    db.session.commit()
    db.session.add(_assignment(create_student(), bed))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_a_student_has_at_most_one_current_bed(create_room, create_student):
    room = create_room(capacity=2)
    student = create_student()
    db.session.add(_assignment(student, room.beds[0]))
    db.session.commit()
    db.session.add(_assignment(student, room.beds[1]))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_ended_assignments_do_not_count_as_current(create_room, create_student):
    bed = create_room(capacity=1).beds[0]
    first, second = create_student(), create_student()
    db.session.add_all([_assignment(first, bed, ended=True), _assignment(second, bed)])
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 2


def test_an_assignment_cannot_end_before_it_starts(create_room, create_student):
    bed = create_room(capacity=1).beds[0]
    assignment = _assignment(create_student(), bed)
    assignment.ended_at = assignment.started_at - timedelta(seconds=1)
    db.session.add(assignment)
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_a_room_cannot_sit_on_another_buildings_floor(create_building):
    one, other = create_building(), create_building()
    floor = Floor(building=other, number=1)
    db.session.add(floor)
    db.session.flush()
    db.session.add(Room(building_id=one.id, floor_id=floor.id, number="101"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_room_numbers_are_unique_within_a_building(create_room, create_building):
    building = create_building()
    create_room(building, "101")
    db.session.commit()
    with pytest.raises(IntegrityError):
        create_room(building, "101")


def test_only_student_accounts_link_to_a_student(create_student):
    db.session.add(User(username="odd", display_name="odd", role=Role.STAFF, student=create_student()))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(User(username="odd2", display_name="odd", role=Role.STUDENT))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_timestamps_come_back_aware_and_in_utc(create_room, create_student):
    assignment = _assignment(create_student(), create_room().beds[0])
    db.session.add(assignment)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Assignment, assignment.id)
    assert stored.started_at.utcoffset() == timedelta(0)
    assert abs(stored.started_at - (utcnow() - timedelta(days=2))) < timedelta(minutes=1)


def test_enum_values_are_checked_by_the_database(create_student):
    student = create_student()
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE students SET gender = 'X' WHERE id = :id"), {"id": student.id})
        db.session.commit()
