"""Selection day end to end in Chromium, as served (CSRF on): the office sets an event up and rehearses it, students
choose on phones in Chinese (one alone, two together), the dashboard follows, and after closing the choices are
applied and an allocation run places the student who did not choose, in the beds the event offered."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms.core.clock import campus_zone, utcnow
from dorms.core.enums import GenderPolicy, RequestKind, Role
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.selection.models import SelectionEvent
from dorms.students import roommate_requests

from .browsing import sign_in, signed_in_phone
from .language_walk import untranslated

pytestmark = pytest.mark.browser


def _campus_time(moment) -> str:
    """What a datetime-local field takes, in campus time."""
    return moment.astimezone(campus_zone()).strftime("%Y-%m-%dT%H:%M")


def _phone(browser, live_server, username):
    phone = signed_in_phone(browser, live_server, username)
    with phone.expect_navigation():  # the switcher sits in the phone's collapsed menu: submit it
        phone.locator("form[action$='/language/zh_CN']").evaluate("form => form.submit()")
    return phone


def _choose_alone(phone, live_server, event_id: int) -> None:
    phone.goto(f"{live_server}/selection/{event_id}")
    phone.locator("form[action$='/hold'] button").first.click()
    phone.wait_for_selector("form[action$='/confirm'] button")
    phone.locator("form[action$='/confirm'] button").click()
    phone.wait_for_selector("[data-testid=confirmed]")


def test_an_event_rehearsed_then_run_from_the_browser(browser, page, live_server, create_building, create_room,
                                                      create_student, create_user):
    building = create_building("X1", gender_policy=GenderPolicy.MALE)
    rooms = [create_room(building, number, capacity=4) for number in ("101", "102")]
    alone, leader, friend, idle = (create_student(class_name="选宿2601") for _ in range(4))
    for a, b in ((leader, friend), (friend, leader)):
        roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
    for student, username in ((alone, "alone"), (leader, "leader")):
        create_user(username, role=Role.STUDENT, student=student)
    create_user("office", role=Role.STAFF)
    db.session.commit()
    now = utcnow()

    # The office: an event, a window for the class, its students, the building's beds.
    sign_in(page, live_server, "office")
    page.goto(f"{live_server}/selection-office/")
    page.fill("input[name=name]", "2026 秋季选宿")
    page.fill("input[name=closes_at]", _campus_time(now + timedelta(days=1)))
    page.click("button:has-text('Create')")
    page.wait_for_selector("[data-testid=window-form]")
    event_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.fill("[data-testid=window-form] input[name=name]", "选宿2601")
    page.fill("[data-testid=window-form] input[name=starts_at]", _campus_time(now - timedelta(minutes=5)))
    page.fill("[data-testid=window-form] input[name=class_name]", "选宿2601")
    page.click("button:has-text('Add the window')")
    page.fill("[data-testid=participants-form] input[name=class_name]", "选宿2601")
    page.click("button:has-text('Add the students')")
    page.select_option("[data-testid=offers-form] select[name=building]", str(building.id))
    page.click("button:has-text('Offer the beds')")
    page.wait_for_selector("text=Nothing stops the event from opening.")

    # A rehearsal: a student chooses in it on a phone, then it is thrown away with what was chosen.
    page.fill("[data-testid=rehearsal-form] input[name=starts_at]", _campus_time(now - timedelta(minutes=5)))
    page.fill("[data-testid=rehearsal-form] input[name=closes_at]", _campus_time(now + timedelta(hours=2)))
    page.click("button:has-text('Make a rehearsal')")
    page.wait_for_selector("text=Throw the rehearsal away")
    rehearsal_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.check("#confirm-open")
    page.click("button:has-text('Open the selection')")
    page.wait_for_selector("[data-testid=beds-left]")
    phone = _phone(browser, live_server, "alone")
    _choose_alone(phone, live_server, rehearsal_id)
    page.check("#confirm-discard")
    page.click("button:has-text('Throw the rehearsal away')")
    page.wait_for_selector("text=The rehearsal was thrown away.")

    # The real event: one student alone, two together, one not at all.
    page.check("#confirm-open")
    page.click("button:has-text('Open the selection')")
    page.wait_for_selector("[data-testid=beds-left]")
    _choose_alone(phone, live_server, event_id)
    assert untranslated(phone.locator("body").inner_text(), "zh") == []  # the phone's page all in Chinese
    together = _phone(browser, live_server, "leader")
    together.goto(f"{live_server}/selection/{event_id}")
    together.check(f"#member-{friend.id}")
    together.click("[data-testid=group-form] button[type=submit]")
    together.wait_for_selector("form[action$='/confirm'] button")
    together.locator("form[action$='/confirm'] button").click()
    together.wait_for_selector("[data-testid=confirmed]")
    assert together.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.reload()
    assert page.locator("[data-figure=confirmed]").inner_text() == "3"
    assert "All is well" in page.locator("[data-testid=invariant]").inner_text()
    page.check("#confirm-close")
    page.click("button:has-text('Close the selection')")
    page.check("#confirm-apply")
    page.click("button:has-text('Apply the choices')")
    page.wait_for_selector("text=Applied: 3 students changed bed.")
    page.click("[data-testid=place-the-rest]")
    page.wait_for_selector("[data-testid=run-status]:has-text('Proposal ready')", timeout=60_000)
    page.check("#confirm-apply")
    page.click("button:has-text('Apply this proposal')")
    page.wait_for_selector("text=students changed bed")

    db.session.rollback()  # read what the server committed
    beds = {s.id: residence.current_assignment(s) for s in (alone, leader, friend, idle)}
    assert all(beds.values()) and {a.bed.room_id for a in beds.values()} <= {room.id for room in rooms}
    assert beds[leader.id].bed.room_id == beds[friend.id].bed.room_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionEvent)) == 1  # the rehearsal gone
    for context in (phone.context, together.context):
        context.close()
