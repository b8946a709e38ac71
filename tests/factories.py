"""Factory fixtures: create_building(...), create_room(...), create_student(...), create_user(...)."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from dorms.auth.services import create_user as create_account
from dorms.campus import services as campus
from dorms.campus.models import Building, ManagedBuilding, Room
from dorms.core.enums import Gender, GenderPolicy, Role, RoomStatus, StudentStatus
from dorms.extensions import db
from dorms.residence.occupancy import set_capacity
from dorms.students.models import Student

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@pytest.fixture
def create_building(app):
    def create(code: str | None = None, *, gender_policy=GenderPolicy.MIXED, name: str | None = None) -> Building:
        code = code or f"T{next(_counter)}"
        building = Building(code=code, name=name or f"Building {code}", gender_policy=gender_policy,
                            campus=campus.get_or_create_campus("main", "主校区"))
        db.session.add(building)
        db.session.flush()
        return building

    return create


@pytest.fixture
def create_room(app, create_building):
    def create(building: Building | None = None, number: str | None = None, *, capacity: int = 4,
               floor: int = 1, gender: Gender | None = None, accessible: bool = False,
               status=RoomStatus.OPEN, room_type: str = "standard") -> Room:
        building = building or create_building()
        number = number or str(floor * 100 + next(_counter) % 100)
        room = Room(building=building, floor=campus.get_or_create_floor(building, floor), number=number,
                    gender=gender, accessible=accessible, status=status, room_type=room_type)
        db.session.add(room)
        set_capacity(room, capacity)
        db.session.flush()
        return room

    return create


@pytest.fixture
def create_student(app):
    def create(student_number: str | None = None, *, name: str = "张三", gender=Gender.MALE,
               class_name: str = "计科2401", college: str = "计算机学院", status=StudentStatus.ACTIVE,
               needs_accessible: bool = False, **fields) -> Student:
        student = Student(student_number=student_number or f"2024{next(_counter):06d}", name=name,
                          gender=gender, class_name=class_name, college=college, status=status,
                          needs_accessible=needs_accessible, **fields)
        db.session.add(student)
        db.session.flush()
        return student

    return create


@pytest.fixture
def create_user(app):
    def create(username: str | None = None, *, role=Role.STAFF, student: Student | None = None,
               classes=(), colleges=(), password: str = PASSWORD, buildings=()):
        user = create_account(username or f"user{next(_counter)}", role=role, password=password,
                              student=student, classes=list(classes), colleges=list(colleges))
        for building in buildings:  # a building manager's buildings
            user.managed.append(ManagedBuilding(building=building, role=role.value))
        db.session.commit()
        return user

    return create


@pytest.fixture
def login(client):
    def sign_in(user, password: str = PASSWORD):
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.data
        return client

    return sign_in


@pytest.fixture
def student_client(client, login, create_user, create_student):
    """Signed in as a student; ``.student`` is theirs."""
    student = create_student("2026000001", name="欧阳修", class_name="计科2401")
    login(create_user("2026000001", role=Role.STUDENT, student=student))
    client.student = student
    return client


@pytest.fixture
def open_selection(app):
    """``open_selection(students, beds, **settings)``: an open selection event over ``beds`` for ``students``,
    everyone's window opened a minute ago, committed (selection/services.py)."""
    from dorms.core.clock import utcnow
    from dorms.selection import services as selection

    def create(students, beds, *, name: str = "选宿", **settings):
        now = utcnow()
        event = selection.create_event(name, closes_at=now + timedelta(hours=1), **settings)
        selection.add_window(event, "all", starts_at=now - timedelta(minutes=1))
        selection.add_participants(event, students)
        selection.offer_beds(event, beds)
        selection.open_event(event)
        db.session.commit()
        return event

    return create
