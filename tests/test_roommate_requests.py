"""Roommate wishes and "must not room with": who may set them, and that allocation runs honour them."""
import re

import pytest
import sqlalchemy as sa

from dorms.allocation import services as allocation
from dorms.allocation.models import RunMode
from dorms.core.enums import Gender, GenderPolicy, RequestKind, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.students import roommate_requests
from dorms.students.models import Student


@pytest.fixture
def people(create_building, create_room, create_student, create_user):
    building = create_building("A1", gender_policy=GenderPolicy.MALE)
    for n in range(3):
        create_room(building, f"10{n}", capacity=2)
    a = create_student("2026000001", name="甲", class_name="C1")
    b = create_student("2026000002", name="乙", class_name="C2")
    c = create_student("2026000003", name="丙", class_name="C1")
    d = create_student("2026000004", name="丁", class_name="C1")
    woman = create_student("2026000009", name="女生", gender=Gender.FEMALE)
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "woman": woman,
            "a_account": create_user(a.student_number, role=Role.STUDENT, student=a),
            "b_account": create_user(b.student_number, role=Role.STUDENT, student=b),
            "counselor": create_user("counselor", role=Role.COUNSELOR, classes=["C1", "C2"]),
            "staff": create_user("staff")}


def test_a_wish_counts_when_mutual(people):
    roommate_requests.add_request(people["a"], "2026000002", RequestKind.WANT)
    assert roommate_requests.mutual_ids(people["a"]) == set()
    roommate_requests.add_request(people["b"], "2026000001", RequestKind.WANT)
    assert roommate_requests.mutual_ids(people["a"]) == {people["b"].id}


@pytest.mark.parametrize("number, message", [("2026000001", "someone else"), ("nobody", "No student"),
                                             ("2026000009", "one gender")])
def test_bad_requests_are_refused(people, number, message):
    with pytest.raises(ServiceError, match=message):
        roommate_requests.add_request(people["a"], number, RequestKind.WANT)


def test_one_request_per_pair(people):
    roommate_requests.add_request(people["a"], "2026000002", RequestKind.WANT)
    with pytest.raises(ServiceError, match="already a request"):
        roommate_requests.add_request(people["a"], "2026000002", RequestKind.AVOID)


def test_a_student_edits_their_own_requests_only(people, login):
    client = login(people["a_account"])
    client.post(f"/students/{people['a'].id}/requests", data={"other_number": "2026000002", "kind": "want"})
    client.post(f"/students/{people['a'].id}/lifestyle", data={"lifestyle": "early"})
    page = client.get(f"/students/{people['a'].id}").get_data(as_text=True)
    assert "2026000002" in page and "乙" not in page and "not yet mutual" in page
    assert people["a"].lifestyle.value == "early"
    assert client.post(f"/students/{people['b'].id}/requests",
                       data={"other_number": "2026000001", "kind": "want"}).status_code == 404
    assert roommate_requests.requests_of(people["b"]) == []


def test_counselors_neither_see_nor_edit_requests(people, login):
    roommate_requests.add_request(people["a"], "2026000003", RequestKind.AVOID)
    db.session.commit()
    client = login(people["counselor"])
    page = client.get(f"/students/{people['a'].id}").get_data(as_text=True)
    assert "roommate-requests" not in page and "丙" not in page
    assert client.post(f"/students/{people['a'].id}/requests",
                       data={"other_number": "2026000004", "kind": "want"}).status_code == 403


def test_staff_edit_anyones_requests(people, login):
    client = login(people["staff"])
    client.post(f"/students/{people['b'].id}/requests", data={"other_number": "2026000001", "kind": "want"})
    request = roommate_requests.requests_of(people["b"])[0]
    client.post(f"/students/{people['b'].id}/requests/{request.id}/delete")
    assert roommate_requests.requests_of(people["b"]) == []


@pytest.mark.commits
def test_allocation_keeps_mutual_wishes_together_and_avoiders_apart(people):
    roommate_requests.add_request(people["a"], "2026000002", RequestKind.WANT)  # different classes
    roommate_requests.add_request(people["b"], "2026000001", RequestKind.WANT)
    roommate_requests.add_request(people["c"], "2026000004", RequestKind.AVOID)  # same class, kept apart
    db.session.commit()
    run = allocation.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    db.session.commit()
    run = allocation.execute_run(run.id)
    rooms = {m.student_id: m.to_bed.room_id for m in run.moves if m.to_bed}
    assert rooms[people["a"].id] == rooms[people["b"].id]
    assert rooms[people["c"].id] != rooms[people["d"].id]


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("kind", ["want", "avoid"])
def test_students_cannot_look_people_up_through_requests(people, login, kind):
    """A classmate, a woman and a number that is no one's: the same answer, the same page."""
    client = login(people["a_account"])
    numbers = ("2026000002", "2026000009", "2026999999")
    answers, entries = [], []
    for number in numbers:
        response = client.post(f"/students/{people['a'].id}/requests", data={"other_number": number, "kind": kind})
        page = client.get(response.location).get_data(as_text=True)
        listed = re.search(rf"<li[^>]*>\s*<span>[^<]*{number}</span>.*?</li>", page, re.DOTALL).group(0)
        answers.append((response.status_code, response.location, "Request saved." in page))
        entries.append(re.sub(r'\d{10}|/requests/\d+/|value="[^"]*"', "", listed))  # number, id, CSRF token
        assert "女生" not in page and "乙" not in page
    assert answers == [(302, f"/students/{people['a'].id}", True)] * 3
    assert entries[0] == entries[1] == entries[2]
    # The allocation meets only what can be met: no one behind the number, no wish across genders.
    expected = [people["b"].id, people["woman"].id] if kind == "avoid" else [people["b"].id]
    assert roommate_requests.all_requests()[people["a"].id][RequestKind(kind)] == expected
    client.post("/logout")
    staff_page = login(people["staff"]).get(f"/students/{people['a'].id}").get_data(as_text=True)
    assert "2026999999" in staff_page and "no such student" in staff_page and "2026000009 女生" in staff_page


@pytest.mark.backends("sqlite", "postgresql")
def test_a_request_for_a_student_not_yet_imported_counts_once_they_are(people, app, tmp_path):
    """A freshman named before the import that brings them in: the import links the request."""
    roommate_requests.add_request(people["a"], "2026000077", RequestKind.WANT, discreet=True)
    roommate_requests.add_request(people["a"], "2026000078", RequestKind.AVOID, discreet=True)
    assert people["a"].id not in roommate_requests.all_requests()
    students = tmp_path / "students.csv"
    students.write_text("student_number,name,gender,class\n2026000077,新同学,M,计科2601\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "students", str(students)])
    assert result.exit_code == 0, result.output
    arrived = db.session.scalar(sa.select(Student.id).where(Student.student_number == "2026000077"))
    assert roommate_requests.all_requests()[people["a"].id] == {RequestKind.WANT: [arrived], RequestKind.AVOID: []}


def test_must_not_room_with_is_capped(people, create_student):
    for n in range(roommate_requests.MAX_AVOIDS):
        create_student(f"20269900{n}", name=f"同学{n}")
        roommate_requests.add_request(people["a"], f"20269900{n}", RequestKind.AVOID)
    create_student("202699009", name="再一个")
    with pytest.raises(ServiceError, match="At most 3"):
        roommate_requests.add_request(people["a"], "202699009", RequestKind.AVOID)


@pytest.mark.commits
def test_notes_say_what_the_new_room_gives(people):
    roommate_requests.add_request(people["a"], "2026000002", RequestKind.WANT)
    roommate_requests.add_request(people["b"], "2026000001", RequestKind.WANT)
    db.session.commit()
    run = allocation.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    db.session.commit()
    run = allocation.execute_run(run.id)
    notes = {m.student_id: m.notes for m in run.moves if m.to_bed}
    assert notes[people["a"].id]["roommate"] is True and notes[people["b"].id]["roommate"] is True
    rooms = {m.student_id: m.to_bed.room_id for m in run.moves if m.to_bed}
    c, d = people["c"].id, people["d"].id
    assert notes[c]["classmates"] == sum(1 for s in (people["a"].id, d) if rooms[s] == rooms[c])


@pytest.mark.commits
def test_building_preferences_are_ranked_and_weighed(people, create_building, create_room, login):
    far = create_building("Z9", gender_policy=GenderPolicy.MALE)
    create_room(far, "101", capacity=2)
    db.session.commit()
    client = login(people["b_account"])
    response = client.post(f"/students/{people['b'].id}/buildings",
                           data={"first": str(far.id), "second": str(far.id), "third": "0"})
    assert response.status_code == 302
    assert [p.building.code for p in roommate_requests.preferred_buildings(people["b"])] == ["Z9"]  # repeats dropped
    assert "1. Z9" in client.get(f"/students/{people['b'].id}").get_data(as_text=True)
    assert client.post(f"/students/{people['a'].id}/buildings", data={"first": str(far.id)}).status_code == 404
    with pytest.raises(ServiceError, match="no such building"):
        roommate_requests.set_preferred_buildings(people["b"], [far.id, 999_999])
    assert [p.building.code for p in roommate_requests.preferred_buildings(people["b"])] == ["Z9"]

    run = allocation.create_run(mode=RunMode.INTAKE, building_ids=[], time_limit=2)
    db.session.commit()
    run = allocation.execute_run(run.id)
    move = next(m for m in run.moves if m.student_id == people["b"].id)  # alone in class C2
    assert move.to_bed.room.building.code == "Z9" and move.notes["preference"] == 1


def test_counselors_cannot_set_building_preferences(people, login):
    client = login(people["counselor"])
    assert client.post(f"/students/{people['a'].id}/buildings", data={"first": "0"}).status_code == 403
