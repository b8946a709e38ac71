"""Hand-edited ids, numbers and dates: each gets a 404/400 or a message naming the field, never a 500.

``str.isdigit`` takes "²" (which ``int`` refuses), Arabic-Indic "٣" and full-width "１"; only ASCII digits
name a row or make a number here."""
import pytest

from dorms.core.enums import Role
from dorms.core.forms import row_id
from dorms.extensions import db

UNICODE_DIGITS = ("²", "٣", "１", "1²")
HUGE = "99999999999999999999"


@pytest.fixture
def staff_client(login, create_user):
    return login(create_user(role=Role.STAFF))


@pytest.mark.parametrize("value", UNICODE_DIGITS)
def test_page_and_count_arguments_take_ascii_digits_only(app, value):
    from flask import request

    from dorms.core.forms import number_arg, page_number

    with app.test_request_context(f"/?page={value}&days={value}"):
        assert page_number(request.args) == 1 and number_arg(request.args, "days", 7, 90) == 7
    with app.test_request_context(f"/?page={'9' * 5000}&days=0"):
        assert page_number(request.args) == 10_000 and number_arg(request.args, "days", 7, 90) == 1


def test_only_ascii_digits_name_a_row():
    assert [row_id(text) for text in UNICODE_DIGITS + (HUGE, "9" * 5000, "", None, "-1", " 7")] == [None] * 10
    assert row_id("42") == 42


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("value", UNICODE_DIGITS + (HUGE,))
def test_id_arguments_in_unicode_digits_or_huge_name_no_row(staff_client, create_building, create_room, value):
    room = create_room(create_building("U1"), "101")
    db.session.commit()
    for url in (f"/rooms?for_student={value}", f"/rooms?building={value}", f"/checkin/desk?building={value}",
                f"/violations/summary?building={value}&type={value}"):
        assert staff_client.get(url).status_code == 200, url
    arabic_indic = str(room.id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert staff_client.get(f"/rooms/{arabic_indic}").status_code == 404  # the route's id: ASCII digits too


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("value", UNICODE_DIGITS + (HUGE,))
def test_numbers_typed_in_forms_in_unicode_digits_get_a_message(staff_client, value):
    page = staff_client.post("/hygiene/checklist", data={"row": "1", "name-1": "地面", "max-1": value},
                             follow_redirects=True).get_data(as_text=True)
    assert "the maximum must be a whole number from 1 to 100" in page
    page = staff_client.post("/allocation/runs", data={"mode": "intake", "time_limit": 2, "scope_grades": value},
                             follow_redirects=True).get_data(as_text=True)
    assert "Write years such as 2026" in page
    response = staff_client.post("/allocation/runs", data={"mode": "intake", "time_limit": value})
    assert response.status_code in (200, 302)


# --- dates -------------------------------------------------------------------------------------------------

OUT_OF_RANGE = ("0001-01-01", "9999-12-31")
RANGE_MESSAGE = "Give a date from 2000-01-01 to"


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_reports_refuse_dates_out_of_range_with_a_400_saying_the_range(staff_client, day):
    for url in (f"/curfew/?night={day}", f"/curfew/export.csv?night={day}", f"/curfew/range?first={day}",
                f"/curfew/range?last={day}", f"/hygiene/?first={day}", f"/hygiene/?last={day}",
                f"/violations/summary?first={day}", f"/violations/summary?last={day}",
                f"/violations/counts.csv?last={day}"):
        response = staff_client.get(url)
        assert response.status_code == 400, url
        assert RANGE_MESSAGE in response.get_data(as_text=True), url


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_filters_ignore_dates_out_of_range_and_say_so(staff_client, day):
    for url in (f"/audit/?since={day}", f"/audit/?until={day}", f"/violations/?first={day}",
                f"/violations/?last={day}"):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert RANGE_MESSAGE in response.get_data(as_text=True), url


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_forms_refuse_dates_out_of_range_and_change_nothing(staff_client, create_building, day):
    from dorms.access.models import NoCurfewNight
    from dorms.auth.models import User
    from dorms.hygiene.models import InspectionRound
    from dorms.students.models import Term
    from dorms.violations.models import Violation

    building = create_building("D1")
    db.session.commit()
    for url, form in (("/curfew/holidays", {"night": day, "name": "x"}),
                      ("/curfew/terms", {"code": "T1", "starts_on": "2026-09-01", "ends_on": day}),
                      ("/hygiene/rounds", {"inspected_on": day, "buildings": building.id,
                                           "inspectors": db.session.scalar(db.select(User.id))}),
                      ("/violations/new", {"occurred_on": day, "room_code": "D1-101", "type_id": 0})):
        page = staff_client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
        assert RANGE_MESSAGE in page, url
    for model in (NoCurfewNight, Term, InspectionRound, Violation):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("night", ("9999-12-31", "61 days ahead"))
def test_a_late_return_is_asked_for_within_the_next_60_days(client, login, create_user, create_student, night):
    from datetime import timedelta

    from dorms.access.models import Permission
    from dorms.core.clock import campus_today

    login(create_user(role=Role.STUDENT, student=create_student()))
    if night == "61 days ahead":
        night = (campus_today() + timedelta(days=61)).isoformat()
    form = {"kind": "late", "first_night": night, "expected_return": "23:30", "reason": "实验课"}
    page = client.post("/curfew/requests", data=form, follow_redirects=True).get_data(as_text=True)
    assert RANGE_MESSAGE in page or "Ask for nights at most 60 days ahead." in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Permission)) == 0
    form["first_night"] = (campus_today() + timedelta(days=60)).isoformat()
    assert client.post("/curfew/requests", data=form).status_code == 302


@pytest.mark.backends("sqlite", "postgresql")
def test_a_nul_character_in_an_address_or_a_form_is_a_400_and_stores_nothing(staff_client):
    """PostgreSQL cannot store NUL in text: the request is refused before any view runs, on SQLite too."""
    from dorms.violations.models import ViolationType

    for response in (staff_client.get("/students/?text=a%00b"),
                     staff_client.post("/violations/types", data={"name": "电\x00器", "severity": "minor"})):
        assert response.status_code == 400
        assert "NUL character" in response.get_data(as_text=True)
    assert db.session.query(ViolationType).filter(ViolationType.name.contains("器")).count() == 0


@pytest.mark.backends("sqlite", "postgresql")
def test_a_nul_character_in_an_uploaded_file_name_is_a_400(login, create_user, create_building, create_room,
                                                           create_student):
    import io

    from dorms.residence import services as residence

    room = create_room(create_building("N1"), "101")
    student = create_student()
    residence.assign(student, room.beds[0], reason="test")
    client = login(create_user(role=Role.STUDENT, student=student))
    response = client.post("/repairs/mine", data={"description": "灯管不亮",
                                                   "photos": [(io.BytesIO(b"not read"), "a\x00b.png")]},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


def test_exported_headers_are_neutralised_too():
    """Some headers are names staff typed (checklist items, violation types)."""
    import io

    from openpyxl import load_workbook

    from dorms.core.tables import write_csv, write_xlsx

    assert write_csv(["=1+1"], [[1]]).decode("utf-8-sig").splitlines()[0] == "'=1+1"
    cell = load_workbook(io.BytesIO(write_xlsx(["=1+1"], [[1]], "t"))).active["A1"]
    assert (cell.value, cell.data_type) == ("'=1+1", "s")


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("value", UNICODE_DIGITS + (HUGE,))
def test_row_selects_that_take_any_value_name_no_row_from_a_bad_one(staff_client, create_student, value):
    """Violation filters and a student's building choices accept values outside their choices."""
    for url in (f"/violations/?type_id={value}", f"/violations/?building_id={value}",
                f"/violations/export.csv?type_id={value}&building_id={value}"):
        assert staff_client.get(url).status_code == 200, url
    student = create_student()
    response = staff_client.post(f"/students/{student.id}/buildings", data={"first": value})
    assert response.status_code == 302


def test_a_busy_database_is_a_json_409_under_the_api(app, client, monkeypatch):
    """SQLite's "database is locked" to a door system: JSON it can read, like every other API error."""
    import sqlalchemy as sa

    from dorms.access import ingest

    token = app.test_cli_runner().invoke(args=["access", "token", "create", "gate"]).stdout.split(": ", 1)[1].strip()

    def locked(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(ingest, "import_event_batch", locked)
    response = client.post("/api/access/events", json={"events": []}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 409 and response.is_json and "busy" in response.json["error"]
