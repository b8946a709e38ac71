"""Two staff members assign at the same moment: the database lets exactly one win.

On PostgreSQL the loser's insert waits for the winner, then hits the partial
unique index; on SQLite the loser cannot even start writing ("database is
locked"). Either way the loser gets a Conflict with a clear message.
"""
import threading

import pytest

from dorms.campus.models import Bed
from dorms.core.errors import Conflict
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.students.models import Student

from .racing import run_at_once

# Each backend settles a race its own way; the racers are threads with connections of their own.
pytestmark = [pytest.mark.backends("sqlite", "postgresql"), pytest.mark.commits]


def _race(app, monkeypatch, attempts):
    """Run each (student_id, bed_id) attempt in its own thread and transaction.

    A barrier holds every thread after its checks passed and before it
    writes, so both see the bed (or the student) free: the race is certain.
    """
    barrier = threading.Barrier(len(attempts), timeout=30)
    checks = residence._require_placeable

    def checked_then_wait(student, bed):
        checks(student, bed)
        barrier.wait()

    monkeypatch.setattr(residence, "_require_placeable", checked_then_wait)
    outcomes = run_at_once(app, {
        index: lambda student_id=student_id, bed_id=bed_id: residence.assign(
            db.session.get(Student, student_id), db.session.get(Bed, bed_id), reason="race")
        for index, (student_id, bed_id) in enumerate(attempts)}, refused=Conflict)
    return [outcomes.get(index) for index in range(len(attempts))]


@pytest.fixture
def one_room(create_room, create_student):
    room = create_room(capacity=2)
    students = [create_student(), create_student()]
    db.session.commit()
    return room, students


BUSY = "Someone else is changing room assignments right now"


def test_two_students_racing_for_one_bed(app, monkeypatch, one_room, backend):
    room, (first, second) = one_room
    bed_id = room.beds[0].id
    outcomes = _race(app, monkeypatch, [(first.id, bed_id), (second.id, bed_id)])
    assert outcomes.count("won") == 1
    loser = next(o for o in outcomes if o != "won")
    assert (BUSY if backend == "sqlite" else "was taken by someone else") in str(loser)
    db.session.rollback()  # end our snapshot: read what the other side committed
    assert residence.current_occupant(db.session.get(Bed, bed_id)) in (first, second)


def test_one_student_given_two_beds_at_once(app, monkeypatch, one_room, backend):
    room, (student, _other) = one_room
    outcomes = _race(app, monkeypatch, [(student.id, room.beds[0].id), (student.id, room.beds[1].id)])
    assert outcomes.count("won") == 1
    loser = next(o for o in outcomes if o != "won")
    assert (BUSY if backend == "sqlite" else "was given a bed by someone else") in str(loser)
    db.session.rollback()  # end our snapshot: read what the other side committed
    assert len([a for a in residence.history(student) if a.is_current]) == 1
