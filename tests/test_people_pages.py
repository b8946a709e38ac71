"""The people pages at campus scale: the student search, a student's page, a room's page and a student's room
change page. The search reads a number by its start and a name by any part, a page at a time; each page takes
the same queries however many students match, roommates share the room or records there are."""
import re

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField, widgets
from wtforms.validators import DataRequired

from dorms.checkin import services as checkin
from dorms.checkin.models import KeyKind
from dorms.core import kept
from dorms.core.enums import GenderPolicy, RequestKind, Role
from dorms.core.forms import QuickSelect, options, row_choice
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.roomchange import services as room_changes
from dorms.students import roommate_requests


@pytest.fixture
def staff_client(login, create_user):
    return login(create_user("staff"))


def _listed(page: str) -> list[str]:
    """The student numbers of a student list page, in the order shown."""
    table = page.split('data-testid="student-results"')[1].split("</table>")[0]
    return re.findall(r'<td class="card-title"><a href="/students/\d+">([^<]+)</a>', table)


def _has_next(page: str) -> bool:
    return re.search(r'<li class="page-item ">\s*<a class="page-link" href="[^"]*">Next</a>', page) is not None


def _counted(count_queries, client, url: str) -> int:
    """The queries of one request, from nothing kept (as the first reader after a change)."""
    kept.forget_all()
    db.session.expire_all()
    with count_queries() as statements:
        assert client.get(url).status_code == 200, url
    return len(statements)


# --- the student search -----------------------------------------------------------------------------------------


def test_the_search_finds_a_number_by_its_start_and_a_name_by_any_part(staff_client, create_student):
    create_student("2031000001", name="欧阳修")
    create_student("2031000002", name="王2031")  # matches both ways: listed once
    create_student("1120310000", name="杜甫")  # 2031 inside the number, not at its start
    create_student("2032000001", name="李白")
    create_student("2033000001", name="打5%折")
    create_student("2033000002", name="五五折")
    db.session.commit()
    assert _listed(staff_client.get("/students/?q=2031").get_data(as_text=True)) == ["2031000001", "2031000002"]
    assert _listed(staff_client.get("/students/?q=阳修").get_data(as_text=True)) == ["2031000001"]
    assert _listed(staff_client.get("/students/?q=+王2031+").get_data(as_text=True)) == ["2031000002"]
    # What is typed is taken literally: % and _ are not wildcards.
    assert _listed(staff_client.get("/students/?q=5%25").get_data(as_text=True)) == ["2033000001"]
    assert _listed(staff_client.get("/students/?q=_").get_data(as_text=True)) == []
    assert _listed(staff_client.get("/students/?q=2031000001&housed=yes").get_data(as_text=True)) == []
    assert _listed(staff_client.get("/students/?q=2031000001&housed=no").get_data(as_text=True)) == ["2031000001"]


def test_the_search_pages_its_matches_in_student_number_order(staff_client, create_student):
    for n in range(120):
        create_student(f"2031{n:06d}", name=f"学生{n}")
    create_student("1999000001", name="张2031")  # found by name, first by number
    create_student("2032000000", name="李白")
    db.session.commit()
    first = staff_client.get("/students/?q=2031").get_data(as_text=True)
    assert _listed(first) == ["1999000001"] + [f"2031{n:06d}" for n in range(49)]
    assert "121 students" in first and _has_next(first)
    third = staff_client.get("/students/?q=2031&page=3").get_data(as_text=True)
    assert _listed(third) == [f"2031{n:06d}" for n in range(99, 120)]
    assert "121 students" in third and not _has_next(third)
    assert _listed(staff_client.get("/students/?q=2031&page=4").get_data(as_text=True)) == []
    everyone = staff_client.get("/students/").get_data(as_text=True)
    assert "122 students" in everyone and _listed(everyone)[:2] == ["1999000001", "2031000000"]


def test_a_counselor_finds_only_their_own_students(client, login, create_user, create_student):
    create_student("2031000001", name="欧阳修", class_name="文学2401")
    create_student("2031000002", name="欧阳询", class_name="书法2401")
    db.session.commit()
    login(create_user("counselor", role=Role.COUNSELOR, classes=["文学2401"]))
    assert _listed(client.get("/students/?q=2031").get_data(as_text=True)) == ["2031000001"]
    assert _listed(client.get("/students/?q=欧阳").get_data(as_text=True)) == ["2031000001"]
    page = client.get("/students/").get_data(as_text=True)
    assert 'value="文学2401"' in page and "书法2401" not in page  # the class filter offers their classes


def test_the_search_takes_the_same_queries_however_many_match(staff_client, create_student, count_queries):
    def add(prefix: str, start: int, how_many: int):
        for n in range(start, start + how_many):
            create_student(f"{prefix}{n:06d}")
        db.session.commit()

    add("2041", 0, 110)  # more than two pages: a page, and how many in all
    add("2042", 0, 2)  # less than a page: the page says how many
    few = [_counted(count_queries, staff_client, url) for url in ("/students/?q=2041", "/students/?q=2042",
                                                                 "/students/?q=2041&page=2", "/students/")]
    add("2041", 110, 90)
    add("2042", 2, 40)
    many = [_counted(count_queries, staff_client, url) for url in ("/students/?q=2041", "/students/?q=2042",
                                                                  "/students/?q=2041&page=2", "/students/")]
    assert many == few


# --- a student's page, a room's page, the room change page ------------------------------------------------------


@pytest.fixture
def hall(create_building, create_room):
    """A men's building of rooms for six, and one for one."""
    building = create_building("H1", gender_policy=GenderPolicy.MALE)
    return {"building": building, "rooms": [create_room(building, f"{n}", capacity=6) for n in (101, 102, 103)],
            "single": create_room(building, "104", capacity=1)}


def test_a_students_page_takes_the_same_queries_with_more_roommates_and_records(
        client, login, create_user, create_student, count_queries, hall):
    room, other = hall["rooms"][0], hall["rooms"][1]
    student = create_student("2050000001", name="欧阳修")
    residence.assign(student, room.beds[0], reason="intake")
    residence.assign(create_student("2050000002"), room.beds[1], reason="intake")
    account = create_user("2050000001", role=Role.STUDENT, student=student)
    staff = create_user("staff")
    roommate_requests.add_request(student, "2050000002", RequestKind.WANT)
    db.session.commit()
    page = f"/students/{student.id}"

    def measure() -> tuple[int, int]:
        login(staff)
        by_staff = _counted(count_queries, client, page)
        client.post("/logout")
        login(account)
        by_themself = _counted(count_queries, client, page)
        client.post("/logout")
        return by_staff, by_themself

    few = measure()
    for n in range(3, 7):
        residence.assign(create_student(f"20500000{n:02d}"), room.beds[n - 1], reason="intake")
        roommate_requests.add_request(student, f"20500000{n:02d}", RequestKind.WANT)
    residence.move(student, other.beds[0], reason="closer to the stairs")
    residence.move(student, room.beds[0], reason="back again")
    roommate_requests.set_preferred_buildings(student, [hall["building"].id])
    checkin.check_in(student, keys=[checkin.KeyInput(KeyKind.ROOM_KEY, "101-1")])
    db.session.commit()
    assert measure() == few
    login(staff)
    text = client.get(page).get_data(as_text=True)
    assert "closer to the stairs" in text and all(f"Bed {n}:" in text for n in range(2, 7))


def test_a_rooms_page_takes_the_same_queries_with_more_residents_and_check_ins(
        staff_client, create_student, count_queries, hall):
    room = hall["rooms"][0]
    first = create_student("2051000001")
    residence.assign(first, room.beds[0], reason="intake")
    checkin.check_in(first, keys=[checkin.KeyInput(KeyKind.ROOM_KEY, "101-1")])
    db.session.commit()
    few = _counted(count_queries, staff_client, f"/rooms/{room.id}")
    for n in range(2, 6):
        student = create_student(f"20510000{n:02d}")
        residence.assign(student, room.beds[n - 1], reason="intake")
        if n % 2:
            checkin.check_in(student, keys=[checkin.KeyInput(KeyKind.ROOM_KEY, f"101-{n}")])
    db.session.commit()
    assert _counted(count_queries, staff_client, f"/rooms/{room.id}") == few
    page = staff_client.get(f"/rooms/{room.id}").get_data(as_text=True)
    assert page.count('data-state="checked-in"') == 3 and page.count("Not checked in yet") == 2


@pytest.mark.backends("sqlite", "postgresql")
def test_a_page_body_is_drawn_once_per_reader_until_what_it_shows_changes(
        client, login, create_user, create_student, count_queries, hall):
    room = hall["rooms"][0]
    student = create_student("2052000001", name="欧阳修")
    residence.assign(student, room.beds[0], reason="intake")
    first, second = create_user("staff"), create_user("staff2")
    db.session.commit()
    page = f"/students/{student.id}"

    def view(user) -> tuple[str, int]:
        login(user)
        db.session.expire_all()
        with count_queries() as statements:
            text = client.get(page).get_data(as_text=True)
        client.post("/logout")
        return text, len(statements)

    drawn, drawing = view(first)
    shown, showing = view(first)
    assert shown == drawn.replace(_tokens(drawn)[0], _tokens(shown)[0]) and showing < drawing
    # Another reader gets the page drawn for them, their own token in every form and the header's switcher.
    other, _queries = view(second)
    assert len(set(_tokens(other))) == 1 and _tokens(other)[0] not in drawn and "kept-csrf" not in other

    residence.move(student, room.beds[1], reason="closer to the window")
    db.session.commit()
    moved, _queries = view(first)
    assert "closer to the window" in moved and "closer to the window" not in shown


def _tokens(page: str) -> list[str]:
    """The CSRF tokens of a page's forms."""
    return re.findall(r'name="csrf_token" value="([^"]+)"', page)


def test_a_student_asks_for_a_room_change_on_their_own_page(client, login, create_user, create_student, hall,
                                                           count_queries):
    """The room change page is /room-change/mine (linked from the student's page); an offer to swap shows the
    asker's bed, and the page takes the same queries with an offer and earlier requests as without."""
    student = create_student("2052000001", name="欧阳修")
    asker = create_student("2052000002", name="李白")
    residence.assign(student, hall["rooms"][0].beds[0], reason="intake")
    residence.assign(asker, hall["rooms"][1].beds[0], reason="intake")
    login(create_user("2052000001", role=Role.STUDENT, student=student))

    def ask_and_withdraw():
        request = room_changes.ask_to_move(student, [room_changes.Choice("building", str(hall["building"].id))],
                                           "太吵")
        db.session.commit()
        room_changes.withdraw(request.id, by=student)
        db.session.commit()

    assert 'href="/room-change/mine"' in client.get(f"/students/{student.id}").get_data(as_text=True)
    assert client.get("/roomchange/mine").status_code == 404
    ask_and_withdraw()
    few = _counted(count_queries, client, "/room-change/mine")
    ask_and_withdraw()
    ask_and_withdraw()
    room_changes.ask_to_swap(asker, "2052000001", "想换到一楼")
    db.session.commit()
    assert _counted(count_queries, client, "/room-change/mine") == few
    offer = client.get("/room-change/mine").get_data(as_text=True)
    assert 'data-testid="swap-offer"' in offer and "H1-102-1" in offer and "2052000002 李白" in offer


# --- long selects -----------------------------------------------------------------------------------------------


class _Choosing(Form):
    text = SelectField("Text", choices=[], validate_choice=False, validators=[DataRequired()])
    row = SelectField("Row", choices=[], coerce=row_choice, validate_choice=False)


def test_a_quick_select_writes_what_wtforms_writes(app):
    with app.test_request_context("/"):
        for data in ({"text": 'b"<', "row": "3"}, {}, {"text": "", "row": "x"}):
            form = _Choosing(MultiDict(data))
            form.text.choices = options([("", "—"), ("a&", "A & a"), ('b"<', "<b>"), (True, "yes"), ("z", "")])
            form.row.choices = options([(0, "—"), (3, "Three"), (4, "<four>")])
            for field in (form.text, form.row):
                assert (QuickSelect()(field, class_="form-select", aria_label="Pick")
                        == widgets.Select()(field, class_="form-select", aria_label="Pick"))
