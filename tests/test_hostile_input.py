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


def test_only_ascii_digits_name_a_row():
    assert [row_id(text) for text in UNICODE_DIGITS + (HUGE, "", None, "-1", " 7")] == [None] * 9
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
