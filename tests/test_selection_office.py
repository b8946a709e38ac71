"""Selection day for the housing office (/selection-office): staff set an event up, check it, open, pause,
resume, close and apply it, and rehearse it, through the pages; auditors read; everyone else is refused; bad
input is a message; the live dashboard takes the same queries however many students take part."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms.allocation.models import AllocationRun
from dorms.audit.models import AuditEntry
from dorms.core import kept
from dorms.core.clock import campus_zone, utcnow
from dorms.core.enums import GenderPolicy, Role
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.selection import services as selection
from dorms.selection.models import EventStatus, SelectionEvent, SelectionOffer, SelectionParticipant


def _campus_time(moment) -> str:
    """A moment as a datetime-local input sends it, in campus time."""
    return moment.astimezone(campus_zone()).strftime("%Y-%m-%dT%H:%M")


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def hall(create_building, create_room):
    men = create_building("M1", gender_policy=GenderPolicy.MALE, name="桃李苑")
    return {"building": men, "rooms": [create_room(men, "101", capacity=2), create_room(men, "201", floor=2,
                                                                                        capacity=2)]}


@pytest.fixture
def staff(login, create_user):
    return login(create_user("wang01", role=Role.STAFF))


def _event(hall, students, *, status=EventStatus.OPEN) -> SelectionEvent:
    """An event over every bed of ``hall``, one window for everyone, open since a minute."""
    now = utcnow()
    event = selection.create_event("2026 秋季选宿", closes_at=now + timedelta(hours=2), seed="published-seed")
    selection.add_window(event, "全体", starts_at=now - timedelta(minutes=1))
    selection.add_participants(event, students)
    selection.offer_beds(event, [bed for room in hall["rooms"] for bed in room.beds])
    if status == EventStatus.OPEN:
        selection.open_event(event)
    db.session.commit()
    return event


def _actions() -> list[str]:
    """The selection entries the staff member's pages left, in order (what a test sets up by calling the services
    is recorded too, by "system")."""
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("selection.%"),
                                                                      AuditEntry.actor_name == "wang01")
                                   .order_by(AuditEntry.id)))


def test_staff_set_up_check_open_pause_resume_close_and_apply_an_event(app, staff, hall, create_student):
    first = create_student("2026000001", class_name="计科2601", grade=2026)
    second = create_student("2026000002", class_name="计科2601", grade=2026)
    create_student("2026000003", class_name="软工2601", grade=2026)  # another class: not added
    now = utcnow()

    page = _text(staff.post("/selection-office/events", data={
        "name": "2026 秋季选宿", "closes_at": _campus_time(now + timedelta(hours=3)), "hold_minutes": 5,
        "change_limit": 1}, follow_redirects=True))
    event = db.session.scalar(sa.select(SelectionEvent))
    assert "The event was created" in page and event.status == EventStatus.DRAFT
    assert event.hold_seconds == 300 and event.change_limit == 1
    assert abs(event.closes_at - (now + timedelta(hours=3))) < timedelta(minutes=1)  # typed in campus time
    assert event.seed in page  # the published seed
    assert 'data-kind="no_beds"' in page  # the pre-flight check: nothing offered yet
    base = f"/selection-office/{event.id}"

    page = _text(staff.post(f"{base}/windows", data={
        "name": "计科", "starts_at": _campus_time(now - timedelta(minutes=2)), "tier": 1, "class_name": "计科2601",
        "gender": "", "batch_size": 0, "batch_minutes": 0}, follow_redirects=True))
    assert "The window was added" in page and event.windows[0].class_name == "计科2601"
    page = _text(staff.post(f"{base}/participants", data={"class_name": "计科2601"}, follow_redirects=True))
    assert "2 students added" in page
    page = _text(staff.post(f"{base}/participants", data={"numbers": "2026000001\n2026000002"},
                            follow_redirects=True))
    assert "0 students added (2 given" in page  # taken once
    page = _text(staff.post(f"{base}/offers", data={"building": hall["building"].id, "floor": 1},
                            follow_redirects=True))
    assert "2 free beds offered" in page
    page = _text(staff.post(f"{base}/offers", data={"building": hall["building"].id, "floor": 2, "reserved": "y"},
                            follow_redirects=True))
    assert "2 free beds offered" in page and "Reserved for the office" in page
    assert "Nothing stops the event from opening" in page

    # A rehearsal: a copy of the set-up, thrown away with what was chosen in it.
    page = _text(staff.post(f"{base}/rehearse", data={"starts_at": _campus_time(now - timedelta(minutes=1)),
                                                      "closes_at": _campus_time(now + timedelta(hours=1))},
                            follow_redirects=True))
    rehearsal = db.session.scalar(sa.select(SelectionEvent.id).where(SelectionEvent.rehearsal_of_id == event.id))
    assert "A rehearsal was made" in page and "(rehearsal)" in page
    assert db.session.scalar(sa.select(sa.func.count()).where(SelectionParticipant.event_id == rehearsal)) == 2
    page = _text(staff.post(f"/selection-office/{rehearsal}/discard", follow_redirects=True))
    assert "tick the box to confirm" in page
    page = _text(staff.post(f"/selection-office/{rehearsal}/discard", data={"confirm": "yes"},
                            follow_redirects=True))
    db.session.expire_all()
    assert "The rehearsal was thrown away" in page and db.session.get(SelectionEvent, rehearsal) is None

    page = _text(staff.post(f"{base}/open", follow_redirects=True))
    assert "tick the box to confirm" in page and event.status == EventStatus.DRAFT
    page = _text(staff.post(f"{base}/open", data={"confirm": "yes"}, follow_redirects=True))
    db.session.refresh(event)
    assert "The selection is open" in page and event.status == EventStatus.OPEN
    assert 'data-refresh-seconds="5"' in page and "selection.js" in page  # the dashboard refreshes itself
    assert 'data-figure="participants">2<' in page and 'data-figure="confirmed">0<' in page
    assert 'data-testid="waiting-count">2<' in page and "2026000001" in page

    bed = hall["rooms"][0].beds[0]
    selection.hold(event, first, bed.id)
    selection.confirm(event, first)
    selection.hold(event, second, hall["rooms"][0].beds[1].id)
    db.session.commit()
    page = _text(staff.get(base))
    assert 'data-figure="confirmed">1<' in page and 'data-figure="holding">1<' in page
    assert 'data-testid="waiting-count">1<' in page
    beds_left = page.split('data-testid="beds-left"')[1].split("</table>")[0]
    assert "<strong>0</strong>" in beds_left  # both unreserved beds taken or held; the reserved ones not counted
    assert "All is well" in page

    assert "is paused" in _text(staff.post(f"{base}/pause", follow_redirects=True))
    assert "refresh" not in _text(staff.get(base))  # nothing moves while paused
    assert "The selection goes on" in _text(staff.post(f"{base}/resume", follow_redirects=True))
    assert "The event is Under way now, not Paused" in _text(staff.post(f"{base}/resume", follow_redirects=True))
    page = _text(staff.post(f"{base}/close", data={"confirm": "yes"}, follow_redirects=True))
    assert "The selection is closed" in page
    page = _text(staff.post(f"{base}/apply", data={"confirm": "yes"}, follow_redirects=True))
    assert "Applied: 1 student changed bed" in page
    assert residence.current_assignment(first).bed_id == bed.id
    assert residence.current_assignment(second) is None  # a hold is no choice
    assert "were applied already" in _text(staff.post(f"{base}/apply", data={"confirm": "yes"},
                                                      follow_redirects=True))
    placing = staff.post(f"{base}/place-the-rest")  # the one who only held is placed by an allocation run
    run = db.session.scalar(sa.select(AllocationRun).order_by(AllocationRun.id.desc()).limit(1))
    assert placing.headers["Location"].endswith(f"/allocation/runs/{run.id}")
    assert run.student_scope == {"students": [second.id]} and len(run.bed_ids) == 2  # the unreserved offered
    assert _actions() == ["selection.create", "selection.window", "selection.participants",
                          "selection.participants", "selection.offer", "selection.offer", "selection.rehearse",
                          "selection.discard", "selection.open", "selection.pause", "selection.resume",
                          "selection.close", "selection.apply", "selection.place_the_rest"]
    audit_log = _text(staff.get("/audit/"))
    assert "Applied a selection" in audit_log and f"status: {EventStatus.PAUSED.label}" in audit_log


def test_staff_offer_rooms_and_withdraw_them(app, staff, hall):
    event = selection.create_event("e", closes_at=utcnow() + timedelta(days=1))
    db.session.commit()
    base, building = f"/selection-office/{event.id}", hall["building"].id

    def offered() -> set[int]:
        return set(db.session.scalars(sa.select(SelectionOffer.bed_id).where(SelectionOffer.event_id == event.id)))

    page = _text(staff.post(f"{base}/offers", data={"building": building, "rooms": "101，201"}, follow_redirects=True))
    assert "4 free beds offered" in page and len(offered()) == 4
    page = _text(staff.post(f"{base}/offers", data={"building": building, "rooms": "201", "withdraw": "1"},
                            follow_redirects=True))
    assert "2 beds no longer offered" in page
    assert offered() == {bed.id for bed in hall["rooms"][0].beds}
    assert _actions() == ["selection.offer", "selection.withdraw"]
    assert list(db.session.scalars(sa.select(AuditEntry.details).where(AuditEntry.action.like("selection.%"),
                                                                       AuditEntry.actor_name == "wang01")
                                   .order_by(AuditEntry.id))) == [
        {"event": event.id, "building": "M1", "floor": None, "rooms": "101, 201", "beds": 4, "added": 4,
         "reserved": False},
        {"event": event.id, "building": "M1", "floor": None, "rooms": "201", "beds": 2}]
    page = _text(staff.post(f"{base}/offers", data={"building": building, "rooms": "201 999"}, follow_redirects=True))
    assert "M1 has no room 999." in page
    page = _text(staff.post(f"{base}/offers", data={"building": building, "floor": 2, "withdraw": "1"},
                            follow_redirects=True))
    assert "No bed is offered there." in page
    assert offered() == {bed.id for bed in hall["rooms"][0].beds} and len(_actions()) == 2


def test_a_refused_step_is_a_message_and_changes_nothing(app, staff, hall, create_student):
    event = _event(hall, [create_student()], status=EventStatus.DRAFT)
    selection.add_participants(event, [create_student(college="外语学院")])
    db.session.commit()
    base = f"/selection-office/{event.id}"
    # Both are in the one window for everyone; a second window of tier 1 for 外语学院 makes one in two windows.
    staff.post(f"{base}/windows", data={"name": "外语", "starts_at": _campus_time(utcnow()), "tier": 1,
                                        "college": "外语学院", "gender": "", "batch_size": 0, "batch_minutes": 0})
    page = _text(staff.get(base))
    assert 'data-kind="overlap"' in page
    page = _text(staff.post(f"{base}/open", data={"confirm": "yes"}, follow_redirects=True))
    assert "is in two windows of one tier" in page and event.status == EventStatus.DRAFT
    assert "A rehearsal cannot itself be rehearsed" not in page
    assert "Only a rehearsal can be thrown away" in _text(staff.post(f"{base}/discard", data={"confirm": "yes"},
                                                                     follow_redirects=True))
    assert "Close the selection before" in _text(staff.post(f"{base}/apply", data={"confirm": "yes"},
                                                            follow_redirects=True))
    assert "Only an open or paused event can be closed" in _text(
        staff.post(f"{base}/close", data={"confirm": "yes"}, follow_redirects=True))
    assert _actions() == ["selection.window"]


def test_bad_input_is_a_clear_message_not_a_500(app, staff, hall, create_student):
    create_student("2026000001")
    event = _event(hall, [], status=EventStatus.DRAFT)
    base = f"/selection-office/{event.id}"
    page = _text(staff.post(f"{base}/windows", data={"name": "x", "starts_at": "tomorrow at nine", "tier": 1,
                                                     "gender": "", "batch_size": 0, "batch_minutes": 0},
                            follow_redirects=True))
    assert "Starts at (campus time): Not a valid datetime value" in page
    page = _text(staff.post(f"{base}/participants", data={"numbers": "2026000001\n2026999999 2026888888\n"},
                            follow_redirects=True))
    assert "Nothing was added: 2 student numbers are nobody&#39;s (line 2: 2026999999; line 2: 2026888888)" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionParticipant)) == 0
    assert "Give student numbers, or a college, class or year" in _text(
        staff.post(f"{base}/participants", data={}, follow_redirects=True))
    assert "Building: Not a valid choice" in _text(staff.post(f"{base}/offers", data={"building": "٣"},
                                                              follow_redirects=True))
    page = _text(staff.post(f"{base}/windows", data={"name": "x", "tier": 1,
                                                     "starts_at": _campus_time(event.closes_at + timedelta(minutes=1)),
                                                     "gender": "", "batch_size": 0, "batch_minutes": 0},
                            follow_redirects=True))
    assert "The window would start after the event closes" in page and len(event.windows) == 1
    assert "Give a time still to come" in _text(staff.post("/selection-office/events", data={
        "name": "x", "closes_at": _campus_time(utcnow()), "hold_minutes": 5, "change_limit": 0},
        follow_redirects=True))
    assert "Not a valid datetime value" in _text(staff.post("/selection-office/events", data={
        "name": "x", "closes_at": "2026-13-45T99:99", "hold_minutes": 5, "change_limit": 0}, follow_redirects=True))
    page = _text(staff.post(f"{base}/rehearse", data={"starts_at": "2026-12-07T10:00", "closes_at": "2026-12-07T09:00"},
                            follow_redirects=True))
    assert "must close after it starts" in page
    assert staff.get("/selection-office/999999").status_code == 404
    assert staff.get("/selection-office/99999999999").status_code == 404  # beyond any row id
    assert staff.post("/selection-office/999999/open", data={"confirm": "yes"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionEvent)) == 1
    assert _actions() == []


def test_auditors_read_and_change_nothing(app, login, create_user, hall, create_student):
    event = _event(hall, [create_student()])
    auditor = login(create_user("auditor", role=Role.AUDITOR))
    assert 'data-testid="create-form"' not in _text(auditor.get("/selection-office/"))
    page = _text(auditor.get(f"/selection-office/{event.id}"))
    assert 'data-testid="beds-left"' in page and 'data-testid="actions"' not in page
    for url in ("/selection-office/events", f"/selection-office/{event.id}/pause",
                f"/selection-office/{event.id}/close"):
        assert auditor.post(url, data={"name": "x", "confirm": "yes"}).status_code == 403
    assert db.session.get(SelectionEvent, event.id).status == EventStatus.OPEN


@pytest.mark.parametrize("role", [Role.STUDENT, Role.COUNSELOR, Role.BUILDING_MANAGER])
def test_everyone_else_is_refused(app, login, create_user, create_student, hall, role):
    student = create_student()
    event = _event(hall, [student], status=EventStatus.DRAFT)
    client = login(create_user(role=role, student=student if role == Role.STUDENT else None))
    for url in ("/selection-office/", f"/selection-office/{event.id}"):
        assert client.get(url).status_code == 403, url
    for url in ("/selection-office/events", f"/selection-office/{event.id}/open",
                f"/selection-office/{event.id}/participants"):
        assert client.post(url, data={"confirm": "yes", "name": "x"}).status_code == 403, url
    assert db.session.get(SelectionEvent, event.id).status == EventStatus.DRAFT


def test_the_dashboard_takes_the_same_queries_however_many_take_part(app, staff, create_building, create_room,
                                                                      create_student, count_queries):
    def dashboard(students: int, chosen: int) -> int:
        building = create_building(gender_policy=GenderPolicy.MALE)
        rooms = [create_room(building, capacity=4, room_type=kind) for kind in ("standard", "suite")
                 for _ in range(students // 4 + 1)]
        cohort = [create_student() for _ in range(students)]
        event = _event({"rooms": rooms}, cohort)
        beds = [bed for room in rooms for bed in room.beds]
        for student, bed in zip(cohort[:chosen], beds):
            selection.hold(event, student, bed.id)
            selection.confirm(event, student)
        selection.hold(event, cohort[chosen], beds[chosen].id)
        db.session.commit()
        kept.forget_all()
        db.session.expire_all()
        with count_queries() as statements:
            page = _text(staff.get(f"/selection-office/{event.id}"))
        assert f'data-figure="confirmed">{chosen}<' in page
        return len(statements)

    assert dashboard(3, 1) == dashboard(60, 20)


def test_the_set_up_and_the_dashboard_read_in_chinese(app, staff, hall, create_student):
    from .language_walk import untranslated, visible_text

    student = create_student()
    draft = _event(hall, [student], status=EventStatus.DRAFT)
    selection.add_participants(draft, [create_student(college="外语学院")])
    selection.add_window(draft, "外语", starts_at=utcnow(), college="外语学院")  # a problem to show
    live = _event({"rooms": [hall["rooms"][0]]}, [student])
    selection.hold(live, student, hall["rooms"][0].beds[0].id)
    db.session.commit()
    staff.post("/language/zh_CN")
    for url in ("/selection-office/", f"/selection-office/{draft.id}", f"/selection-office/{live.id}"):
        page = _text(staff.get(url))
        assert "网上选宿" in page
        assert untranslated(visible_text(page), "zh") == [], url


@pytest.mark.browser
def test_staff_open_and_pause_an_event_on_a_phone(browser, live_server, app, hall, create_student, create_user):
    """With CSRF on, as served: the confirmation box, the dashboard on a 390-pixel screen, the pause button."""
    from .browsing import signed_in_phone

    event = _event(hall, [create_student(), create_student()], status=EventStatus.DRAFT)
    create_user("wang01", role=Role.STAFF)
    phone = signed_in_phone(browser, live_server, "wang01")
    phone.goto(f"{live_server}/selection-office/{event.id}")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.check("#confirm-open")
    phone.click("button:has-text('开始选宿')")
    phone.wait_for_selector("text=选宿已开始。")
    assert phone.locator("[data-testid=beds-left]").is_visible()
    assert phone.locator("[data-figure=participants]").inner_text() == "2"
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # The live dashboard reloads itself every 5 s (on a clock the test moves), never under a box being ticked.
    phone.clock.install()
    phone.reload()
    with phone.expect_navigation():
        phone.clock.run_for(6_000)
    phone.evaluate("window.notReloaded = true")
    phone.check("#confirm-close")
    phone.clock.run_for(20_000)
    assert phone.evaluate("window.notReloaded") and phone.is_checked("#confirm-close")
    phone.click("button:has-text('暂停')")
    phone.wait_for_selector("text=选宿已暂停")
    phone.reload()
    assert phone.locator("[data-testid=event-status]").inner_text() == "已暂停"
    phone.context.close()
