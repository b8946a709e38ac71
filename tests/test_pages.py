"""The pages staff use every day, in both languages, without N+1 queries."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dorms.audit.models import AuditEntry
from dorms.campus.models import Building, Room
from dorms.core.enums import Gender, GenderPolicy, RoomStatus
from dorms.extensions import db
from dorms.residence import services as residence


@pytest.fixture
def staff_client(login, create_user):
    return login(create_user("staff"))


@pytest.fixture
def small_campus(create_building, create_room, create_student):
    men = create_building("M1", gender_policy=GenderPolicy.MALE, name="桃李苑")
    women = create_building("F1", gender_policy=GenderPolicy.FEMALE)
    rooms = [create_room(men, "101", capacity=4), create_room(men, "102", capacity=2),
             create_room(women, "201", capacity=4, floor=2), create_room(women, "202", capacity=2, floor=2,
                                                                         status=RoomStatus.CLOSED)]
    for n in range(3):
        residence.assign(create_student(name=f"男生{n}"), rooms[0].beds[n], reason="intake")
    residence.assign(create_student(name="女生", gender=Gender.FEMALE), rooms[2].beds[0], reason="intake")
    db.session.commit()
    return rooms


def test_dashboard_counts_beds_occupied_free_and_closed(staff_client, small_campus):
    page = staff_client.get("/").get_data(as_text=True)
    for key, value in {"beds": 12, "occupied": 4, "free": 6, "closed": 2}.items():
        assert f'data-testid="total-{key}">{value}<' in page, key
    assert "<svg" in page and "in-closed-rooms" not in page
    staff_client.post(f"/rooms/{small_campus[0].id}/status", data={"status": "closed", "reason": "repairs"})
    page = staff_client.get("/").get_data(as_text=True)
    for key, value in {"beds": 12, "occupied": 1, "free": 5, "closed": 6}.items():
        assert f'data-testid="total-{key}">{value}<' in page, key
    assert "3 residents still live in closed rooms" in page


def test_room_search_filters(staff_client, small_campus):
    def codes(query):
        page = staff_client.get("/rooms?" + query).get_data(as_text=True)
        return {r.code for r in small_campus if f">{r.code}<" in page}

    assert codes("") == {"M1-101", "M1-102", "F1-201", "F1-202"}
    assert codes("free=y") == {"M1-101", "M1-102", "F1-201"}
    assert codes("gender=F") == {"F1-201", "F1-202"}
    assert codes(f"building={small_campus[0].building_id}&free=y") == {"M1-101", "M1-102"}
    assert codes("status=closed") == {"F1-202"}
    assert codes("number=20") == {"F1-201", "F1-202"}
    assert codes("status=bogus&gender=X") == codes("")  # hand-edited URLs are ignored, not a 500


def test_room_search_by_gender_skips_mixed_rooms_the_other_gender_lives_in(
        staff_client, create_building, create_room, create_student):
    mixed = create_building("X1")
    taken_by_women = create_room(mixed, "101")
    create_room(mixed, "102")
    residence.assign(create_student(gender=Gender.FEMALE), taken_by_women.beds[0], reason="intake")
    page = staff_client.get("/rooms?gender=M&free=y").get_data(as_text=True)
    assert ">X1-102<" in page and ">X1-101<" not in page
    assert ">X1-101<" in staff_client.get("/rooms?gender=F&free=y").get_data(as_text=True)


def test_huge_page_numbers_are_clamped(staff_client):
    for url in ("/students/?page=99999999999999999999999", "/audit/?page=99999999999999999999999&action=nope"):
        assert staff_client.get(url).status_code == 200


def test_room_page_shows_beds_and_occupants(staff_client, small_campus):
    page = staff_client.get(f"/rooms/{small_campus[0].id}").get_data(as_text=True)
    assert page.count("男生") == 3 and page.count('name="student_number"') == 1


def test_assign_from_the_room_page(staff_client, small_campus, create_student):
    student = create_student(name="新生")
    db.session.commit()
    bed = small_campus[1].beds[0]
    response = staff_client.post(f"/beds/{bed.id}/place", data={"student_number": student.student_number,
                                                               "reason": "new intake"}, follow_redirects=True)
    assert "now lives in M1-102-1" in response.get_data(as_text=True)
    assert residence.current_occupant(bed) == student
    # The same form moves a resident who already has a bed.
    other = small_campus[1].beds[1]
    response = staff_client.post(f"/beds/{other.id}/place", data={"student_number": student.student_number,
                                                                 "reason": "swap"}, follow_redirects=True)
    assert "now lives in M1-102-2" in response.get_data(as_text=True)
    assert [a.bed.code for a in residence.history(student)] == ["M1-102-2", "M1-102-1"]


def test_a_refused_assignment_says_why_and_changes_nothing(staff_client, small_campus, create_student):
    woman = create_student(gender=Gender.FEMALE)
    db.session.commit()
    bed = small_campus[1].beds[0]
    page = staff_client.post(f"/beds/{bed.id}/place", data={"student_number": woman.student_number, "reason": "x"},
                             follow_redirects=True).get_data(as_text=True)
    assert "houses male students" in page
    page = staff_client.post(f"/beds/{bed.id}/place", data={"student_number": "nobody", "reason": "x"},
                             follow_redirects=True).get_data(as_text=True)
    assert "No student has the number nobody" in page
    assert residence.current_occupant(bed) is None


def test_vacate_and_close_a_room_from_the_pages(staff_client, small_campus):
    occupant = residence.current_occupant(small_campus[2].beds[0])
    staff_client.post(f"/students/{occupant.id}/vacate", data={"reason": "left school"})
    assert residence.current_assignment(occupant) is None
    page = staff_client.post(f"/rooms/{small_campus[0].id}/status", data={"status": "closed", "reason": "repairs"},
                             follow_redirects=True).get_data(as_text=True)
    assert "3 residents still live in this closed room" in page


def test_student_search(staff_client, small_campus, create_student):
    create_student("2099000001", name="欧阳修", class_name="文学2401")
    db.session.commit()
    assert "欧阳修" in staff_client.get("/students/?q=2099").get_data(as_text=True)
    assert "欧阳修" in staff_client.get("/students/?q=阳修").get_data(as_text=True)
    page = staff_client.get("/students/?class_name=文学2401").get_data(as_text=True)
    assert "欧阳修" in page and "男生0" not in page
    page = staff_client.get("/students/?housed=no").get_data(as_text=True)
    assert "欧阳修" in page and "男生0" not in page


def test_student_page_shows_current_bed_roommates_and_history(staff_client, small_campus):
    student = residence.current_occupant(small_campus[0].beds[0])
    residence.move(student, small_campus[0].beds[3], reason="closer to the door")
    db.session.commit()
    page = staff_client.get(f"/students/{student.id}").get_data(as_text=True)
    assert "M1-101-4" in page and "M1-101-1" in page and "closer to the door" in page
    assert "男生1" in page and "男生2" in page  # roommates


def test_audit_log_filters(staff_client, small_campus):
    student = residence.current_occupant(small_campus[0].beds[0])
    residence.vacate(student, reason="graduated early")
    db.session.commit()
    page = staff_client.get("/audit/?action=assignment.vacate").get_data(as_text=True)
    assert "graduated early" in page and page.count("<tr>") == 2  # header + one entry
    page = staff_client.get(f"/audit/?student={student.student_number}").get_data(as_text=True)
    assert page.count("<tr>") == 3  # assigned, vacated
    assert "Nothing recorded" in staff_client.get("/audit/?since=2000-01-01&until=2000-01-02").get_data(as_text=True)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert "graduated early" in staff_client.get(f"/audit/?since={today}&until={today}").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action.like("assignment.%"))) == 5


def test_pages_do_not_query_per_row(staff_client, create_building, create_room, create_student, count_queries):
    """The query count of the list pages must not grow with the number of rooms and students."""
    building = create_building("Q1", gender_policy=GenderPolicy.MALE)

    def add_rooms(n):
        for _ in range(n):
            room = create_room(building, capacity=2)
            residence.assign(create_student(), room.beds[0], reason="intake")
        db.session.commit()

    def queries(url):
        db.session.expire_all()
        with count_queries() as statements:
            assert staff_client.get(url).status_code == 200
        return len(statements)

    urls = ["/", "/buildings", f"/buildings/{building.id}", "/rooms", "/students/", "/audit/",
            "/export/students.csv", "/export/rooms.csv"]
    add_rooms(2)
    few = {url: queries(url) for url in urls}
    add_rooms(20)
    many = {url: queries(url) for url in urls}
    assert many == few


def test_language_switch_and_browser_language(client, login, create_user):
    login(create_user("staff"))
    assert "Occupancy" in client.get("/").get_data(as_text=True)
    client.post("/language/zh_CN", data={"next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "入住情况" in page and 'lang="zh-Hans-CN"' in page
    client.post("/language/en")
    assert "Occupancy" in client.get("/").get_data(as_text=True)


def test_anonymous_visitors_get_their_browser_language(client):
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert "登录" in page
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in page



def test_bootstrap_is_served_by_us(client):
    page = client.get("/login").get_data(as_text=True)
    assert "cdn" not in page.lower()
    css = next(line for line in page.splitlines() if "bootstrap" in line and ".css" in line)
    href = css.split('href="')[1].split('"')[0]
    assert client.get(href).status_code == 200


@pytest.mark.backends("sqlite", "postgresql")
def test_a_building_named_like_math_text_is_drawn_as_written_on_the_occupancy_chart(
        staff_client, create_building, create_room):
    create_room(create_building(r"$A_{$", name=r"$\frac{a}{$"), "101")
    db.session.commit()
    response = staff_client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert r"$A_{$" in page[page.index("<svg"):page.index("</svg>")]


def test_the_dashboard_keeps_its_counts_until_someone_moves_and_adds_a_large_campus_up_per_gender(
        staff_client, create_building, create_room, create_student, count_queries):
    """Counting 20,000 beds on every visit would cost more than the rest of the page: the counts are kept until
    a bed, room or resident changes, and take the same queries however large the campus."""
    from dorms.pages.occupancy_chart import MOST_BARS

    def add_buildings(first: int, count: int):
        for n in range(first, first + count):
            room = create_room(create_building(f"B{n}", gender_policy=GenderPolicy.MALE if n % 2 else
                                               GenderPolicy.FEMALE), "101", capacity=2)
            residence.assign(create_student(gender=Gender.MALE if n % 2 else Gender.FEMALE), room.beds[0],
                             reason="intake")
        db.session.commit()

    def visit() -> tuple[int, str]:
        with count_queries() as statements:
            page = staff_client.get("/").get_data(as_text=True)
        return len(statements), page

    add_buildings(1, 2)
    (computed, page), (kept, _) = visit(), visit()
    assert kept < computed and 'data-testid="by-gender"' not in page and ">B1 " in page
    add_buildings(3, MOST_BARS)
    (computed_large, page), (kept_large, _) = visit(), visit()
    assert (computed_large, kept_large) == (computed, kept)
    assert 'data-testid="by-gender"' in page and f"{MOST_BARS + 2} buildings, added up per gender." in page
    assert ">B1 " not in page and "<svg" in page
    assert f'data-testid="total-occupied">{MOST_BARS + 2}<' in page
    men_room = db.session.scalar(sa.select(Room).join(Building).where(Building.code == "B1"))
    residence.assign(create_student(gender=Gender.MALE), men_room.beds[1], reason="intake")
    db.session.commit()
    assert f'data-testid="total-occupied">{MOST_BARS + 3}<' in staff_client.get("/").get_data(as_text=True)
