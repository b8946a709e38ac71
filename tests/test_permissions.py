"""Every page checks who asks: staff everything, counselors their students, students themselves."""
import pytest

from dorms.core.enums import Role
from dorms.extensions import db
from dorms.residence import services as residence

STAFF_PAGES = ["/buildings", "/rooms", "/audit/", "/import", "/export/rooms.csv", "/export/students.xlsx"]


@pytest.fixture
def campus(create_room, create_student, create_user):
    """Two classes in two colleges; a counselor for one class; a student account in each class."""
    room = create_room(capacity=4)
    mine = create_student(class_name="计科2401", college="计算机学院", name="王小明")
    theirs = create_student(class_name="英语2401", college="外国语学院", name="赵小红")
    residence.assign(mine, room.beds[0], reason="intake")
    db.session.commit()
    return {
        "room": room, "mine": mine, "theirs": theirs,
        "counselor": create_user("counselor", role=Role.COUNSELOR, classes=["计科2401"]),
        "college_counselor": create_user("dean", role=Role.COUNSELOR, colleges=["外国语学院"]),
        "student": create_user(mine.student_number, role=Role.STUDENT, student=mine),
        "other_student": create_user(theirs.student_number, role=Role.STUDENT, student=theirs),
        "staff": create_user("staff", role=Role.STAFF),
    }


@pytest.mark.parametrize("url", ["/", "/students/", "/buildings", "/rooms/1", "/audit/", "/students/me"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_student_sees_their_own_page(campus, login):
    client = login(campus["student"])
    response = client.get("/students/me")
    assert response.headers["Location"].endswith(f"/students/{campus['mine'].id}")
    page = client.get(f"/students/{campus['mine'].id}").get_data(as_text=True)
    assert "王小明" in page and campus["room"].beds[0].code in page


def test_a_student_gets_404_on_another_students_page(campus, login):
    client = login(campus["student"])
    assert client.get(f"/students/{campus['theirs'].id}").status_code == 404


@pytest.mark.parametrize("url", STAFF_PAGES + ["/students/", "/rooms/1", "/buildings/1"])
def test_a_student_may_not_open_staff_pages(campus, login, url):
    assert login(campus["student"]).get(url).status_code == 403


def test_a_student_is_sent_from_the_start_page_to_their_own(campus, login):
    response = login(campus["student"]).get("/")
    assert response.headers["Location"].endswith("/students/me")


def test_a_counselor_sees_only_students_in_scope(campus, login):
    client = login(campus["counselor"])
    assert client.get(f"/students/{campus['mine'].id}").status_code == 200
    assert client.get(f"/students/{campus['theirs'].id}").status_code == 404
    listing = client.get("/students/").get_data(as_text=True)
    assert "王小明" in listing and "赵小红" not in listing


def test_a_college_wide_counselor_sees_the_whole_college(campus, login):
    client = login(campus["college_counselor"])
    assert client.get(f"/students/{campus['theirs'].id}").status_code == 200
    assert client.get(f"/students/{campus['mine'].id}").status_code == 404


def test_a_counselors_filter_cannot_widen_the_scope(campus, login):
    listing = login(campus["counselor"]).get("/students/?class_name=英语2401").get_data(as_text=True)
    assert "赵小红" not in listing


@pytest.mark.parametrize("url", STAFF_PAGES + ["/rooms/1", "/buildings/1"])
def test_a_counselor_may_not_open_staff_pages(campus, login, url):
    assert login(campus["counselor"]).get(url).status_code == 403


@pytest.mark.parametrize("who", ["counselor", "student"])
def test_only_staff_may_change_who_lives_where(campus, login, who):
    client = login(campus[who])
    bed = campus["room"].beds[1]
    response = client.post(f"/beds/{bed.id}/place", data={"student_number": campus["theirs"].student_number,
                                                          "reason": "sneaky"})
    assert response.status_code == 403
    assert client.post(f"/students/{campus['mine'].id}/vacate", data={"reason": "x"}).status_code == 403
    assert client.post(f"/rooms/{campus['room'].id}/status", data={"status": "closed", "reason": "x"}).status_code == 403
    db.session.rollback()  # end our snapshot: read what the other side committed
    assert residence.current_occupant(bed) is None
    assert residence.current_assignment(campus["mine"]) is not None


def test_staff_see_everyone(campus, login):
    client = login(campus["staff"])
    for student in (campus["mine"], campus["theirs"]):
        assert client.get(f"/students/{student.id}").status_code == 200
    for url in STAFF_PAGES:
        assert client.get(url).status_code == 200


def test_students_and_counselors_see_roommates_names_only(campus, login, create_student):
    roommate = create_student(class_name="英语2402", college="外国语学院", name="钱多多")
    residence.assign(roommate, campus["room"].beds[1], reason="intake")
    db.session.commit()
    for who in ("student", "counselor"):
        page = login(campus[who]).get(f"/students/{campus['mine'].id}").get_data(as_text=True)
        assert "钱多多" in page and "英语2402" not in page and f"/students/{roommate.id}" not in page
        login(campus[who]).post("/logout")
    page = login(campus["staff"]).get(f"/students/{campus['mine'].id}").get_data(as_text=True)
    assert "英语2402" in page and f"/students/{roommate.id}" in page
