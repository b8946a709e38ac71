"""Selection day's areas (a college's buildings and floors), a window's zone and the names of who chose a room:
what each student may list and hold, the refusals, the pre-flight check, the office's forms and their audit,
the command line and rehearsals."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from dorms.audit.models import AuditEntry
from dorms.campus import services as campus
from dorms.core.clock import campus_zone, utcnow
from dorms.core.enums import GenderPolicy, Lifestyle, RequestKind, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.selection import services as selection
from dorms.selection.models import SelectionArea, SelectionEvent
from dorms.students import roommate_requests

CS, PHYSICS, ART = "计算机学院", "物理学院", "艺术学院"


@pytest.fixture
def site(create_building, create_room):
    """A1: floor 1 and floor 2, a room of two each; B1: one room of two; N1 on the north campus: one room."""
    a1, b1 = (create_building(code, gender_policy=GenderPolicy.MALE) for code in ("A1", "B1"))
    north = create_building("N1", gender_policy=GenderPolicy.MALE)
    north.campus = campus.get_or_create_campus("north", "北校区")
    db.session.flush()
    return {"a1-1": create_room(a1, "101", capacity=2), "a1-2": create_room(a1, "201", floor=2, capacity=2),
            "b1": create_room(b1, "101", capacity=2), "n1": create_room(north, "101", capacity=2)}


def _draft(site, students, areas=(), **settings) -> SelectionEvent:
    now = utcnow()
    event = selection.create_event("分区选宿", closes_at=now + timedelta(hours=2), **settings)
    selection.add_window(event, "everyone", starts_at=now - timedelta(minutes=1))
    selection.add_participants(event, students)
    selection.offer_beds(event, [bed for room in site.values() for bed in room.beds])
    for college, room, floor in areas:
        selection.add_area(event, college, site[room].building, floor)
    return event


def _open(event) -> SelectionEvent:
    selection.open_event(event)
    db.session.commit()
    return event


def _rooms(beds) -> set[str]:
    return {f"{bed.building}-{bed.room}" for bed in beds}


@pytest.mark.backends("sqlite", "postgresql")
def test_a_college_chooses_in_its_areas_and_nobody_else_there(app, site, create_student):
    cs, physics, art = (create_student(college=college) for college in (CS, PHYSICS, ART))
    event = _open(_draft(site, [cs, physics, art], [(CS, "a1-1", 1), (PHYSICS, "a1-2", 2)]))
    # Listed one after the other in one 10-second span: each college's list is its own.
    assert _rooms(selection.available_beds(event, cs)) == {"A1-101"}
    assert _rooms(selection.available_beds(event, physics)) == {"A1-201"}
    assert _rooms(selection.available_beds(event, art)) == {"B1-101", "N1-101"}  # no area: outside every one
    assert [(b, f) for b, f, _n in selection.free_by_floor(event, cs)] == [("A1", 1)]
    assert [(b, f) for b, f, _n in selection.free_by_floor(event, art)] == [("B1", 1), ("N1", 1)]

    with pytest.raises(ServiceError, match="^This floor belongs to another college.$"):
        selection.hold(event, cs, site["a1-2"].beds[0].id)
    with pytest.raises(ServiceError, match="^This floor belongs to another college.$"):
        selection.hold(event, art, site["a1-1"].beds[0].id)
    with pytest.raises(ServiceError, match=f"^Students of {CS} choose in their college's areas: A1 floor 1.$"):
        selection.hold(event, cs, site["b1"].beds[0].id)
    with force_locale("zh_Hans_CN"), pytest.raises(ServiceError, match="^这一层属于其他学院。$"):
        selection.hold(event, cs, site["a1-2"].beds[0].id)
    assert selection.hold(event, cs, site["a1-1"].beds[0].id).bed_id == site["a1-1"].beds[0].id
    assert selection.hold(event, art, site["b1"].beds[0].id).bed_id == site["b1"].beds[0].id
    db.session.commit()
    assert selection.invariant_problems(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_a_whole_building_area_and_a_floor_shared_by_two_colleges(app, site, create_student):
    cs, physics = create_student(college=CS), create_student(college=PHYSICS)
    event = _open(_draft(site, [cs, physics], [(CS, "a1-1", None), (PHYSICS, "a1-2", 2), (CS, "b1", None),
                                               (PHYSICS, "b1", 1)]))
    assert _rooms(selection.available_beds(event, cs)) == {"A1-101", "A1-201", "B1-101"}
    assert _rooms(selection.available_beds(event, physics)) == {"A1-201", "B1-101"}
    with pytest.raises(ServiceError, match="^This building belongs to another college.$"):
        selection.hold(event, physics, site["a1-1"].beds[0].id)


def test_a_group_holds_only_where_every_member_may(app, site, create_student):
    leader, friend = create_student(name="李白", college=CS), create_student(name="杜甫", college=PHYSICS)
    for a, b in ((leader, friend), (friend, leader)):
        roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
    event = _open(_draft(site, [leader, friend], [(CS, "a1-1", 1), (PHYSICS, "a1-2", 2)]))
    with pytest.raises(ServiceError, match="^杜甫 cannot choose this room: This floor belongs to another college.$"):
        selection.hold_group(event, leader, site["a1-1"].id, [friend.id])
    db.session.rollback()
    with pytest.raises(ServiceError, match="free beds?; your group needs 2"):  # not in the leader's areas
        selection.hold_group(event, leader, site["a1-2"].id, [friend.id])


def test_a_window_with_a_zone_chooses_only_there(app, site, create_student):
    north_student, anyone = create_student(class_name="北区班"), create_student()
    now = utcnow()
    event = selection.create_event("分园区", closes_at=now + timedelta(hours=2))
    north = campus.get_or_create_campus("north")
    selection.add_window(event, "north", starts_at=now - timedelta(minutes=1), class_name="北区班", campus_id=north.id)
    selection.add_window(event, "rest", starts_at=now - timedelta(minutes=1), tier=2)
    selection.add_participants(event, [north_student, anyone])
    selection.offer_beds(event, [bed for room in site.values() for bed in room.beds])
    _open(event)
    assert _rooms(selection.available_beds(event, north_student)) == {"N1-101"}
    assert len(_rooms(selection.available_beds(event, anyone))) == 4
    with pytest.raises(ServiceError, match="^Your window chooses in 北校区 only.$"):
        selection.hold(event, north_student, site["a1-1"].beds[0].id)
    assert selection.hold(event, north_student, site["n1"].beds[0].id)


def _kinds(event) -> list[tuple[str, str]]:
    return [(p.kind, p.message) for p in selection.arrange(event)]


def test_the_pre_flight_check_names_areas_nobody_can_choose_in(app, site, create_student):
    cs, art = create_student(college=CS), create_student(college=ART)
    event = _draft(site, [cs, art], [(CS, "a1-1", 7), (PHYSICS, "b1", 3)])
    assert _kinds(event) == [
        ("area_without_beds", f"Students of {CS} can choose nowhere: no bed is offered in their college's areas "
                              "(A1 floor 7)."),
        ("empty_area", f"No bed is offered in B1 floor 3, an area of {PHYSICS}.")]
    selection.remove_area(event, event.areas[1].id)
    selection.add_area(event, CS, site["a1-1"].building)
    for room in ("b1", "n1"):
        selection.add_area(event, PHYSICS, site[room].building)
    selection.remove_area(event, next(a.id for a in event.areas if a.floor == 7))
    assert _kinds(event) == [("outside_areas", "1 student is of a college without an area, and every bed offered "
                                               "is in an area: give their college one, or offer beds outside the "
                                               "areas.")]
    with pytest.raises(ServiceError, match="can choose nowhere|without an area"):
        selection.open_event(event)
    zoned = selection.create_event("zone", closes_at=utcnow() + timedelta(hours=1))
    selection.add_window(zoned, "北区", starts_at=utcnow(), campus_id=campus.get_or_create_campus("north").id)
    selection.add_participants(zoned, [cs])
    selection.offer_beds(zoned, site["b1"].beds)
    assert _kinds(zoned) == [("empty_zone", "Window 北区 chooses in 北校区, where no bed is offered.")]


def test_an_area_is_added_once_and_only_while_set_up(app, site, create_student):
    event = _draft(site, [create_student()], [(CS, "a1-1", 1)])
    with pytest.raises(ServiceError, match=f"^{CS} has this area already.$"):
        selection.add_area(event, CS, site["a1-1"].building, 1)
    with pytest.raises(ServiceError, match="Say which college"):
        selection.add_area(event, "  ", site["a1-1"].building, 1)
    _open(event)
    with pytest.raises(ServiceError, match="set-up can no longer change"):
        selection.add_area(event, PHYSICS, site["b1"].building)
    with pytest.raises(ServiceError, match="set-up can no longer change"):
        selection.remove_area(event, event.areas[0].id)
    with pytest.raises(ServiceError, match="set-up can no longer change"):
        selection.show_roommate_names(event, True)


def test_a_rehearsal_copies_areas_zones_and_the_names_setting(app, site, create_student):
    event = _draft(site, [create_student(college=CS)], [(CS, "a1-1", 1), (CS, "b1", None)], roommate_names=True)
    north = campus.get_or_create_campus("north")
    selection.add_window(event, "north", starts_at=utcnow(), tier=2, campus_id=north.id)
    copy = selection.rehearse(event, starts_at=utcnow() + timedelta(hours=1), closes_at=utcnow() + timedelta(hours=2))
    assert copy.roommate_names is True
    assert [(a.college, a.building_id, a.floor) for a in copy.areas] == [
        (a.college, a.building_id, a.floor) for a in event.areas]
    assert [w.campus_id for w in copy.windows] == [None, north.id]
    selection.discard(copy)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionArea)) == 2


@pytest.mark.parametrize("shown", [True, False])
def test_a_room_shows_who_chose_there_by_name_only_when_the_office_allows(student_client, site, create_student,
                                                                         shown):
    other = create_student(name="司马光", class_name="物理2402", lifestyle=Lifestyle.EARLY)
    event = _open(_draft(site, [student_client.student, other], roommate_names=shown))
    selection.hold(event, other, site["a1-1"].beds[0].id)
    db.session.commit()
    page = student_client.get(f"/selection/{event.id}").get_data(as_text=True)
    room = page.split('data-testid="room-A1-101"')[1].split('data-testid="room-')[0]
    assert "Bed 1:" in room and "物理2402 · Early sleeper" in room
    assert ("司马光" in room) is shown
    listed = student_client.get(f"/api/selection/{event.id}/beds?building=A1&floor=1").get_json()
    assert listed["choosers"] == [{"room": "A1-101", "bed": "1", "class_name": "物理2402",
                                   "sleep": Lifestyle.EARLY.value, "name": "司马光" if shown else None}]


def _campus_time(moment) -> str:
    return moment.astimezone(campus_zone()).strftime("%Y-%m-%dT%H:%M")


def _audited() -> list[tuple[str, dict]]:
    return [(entry.action, entry.details) for entry in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action.in_(["selection.area", "selection.area_remove",
                                                            "selection.names", "selection.window"]))
        .order_by(AuditEntry.id))]


def test_the_office_sets_areas_zones_and_names_on_the_draft_page(app, client, login, create_user, site):
    staff = login(create_user("wang01", role=Role.STAFF))
    created = staff.post("/selection-office/events", data={
        "name": "2026 秋季", "closes_at": _campus_time(utcnow() + timedelta(days=1)), "hold_minutes": 5,
        "change_limit": 0, "roommate_names": "y"})
    event = db.session.scalar(sa.select(SelectionEvent))
    assert created.status_code == 302 and event.roommate_names is True
    url = f"/selection-office/{event.id}"
    a1 = site["a1-1"].building
    page = staff.post(f"{url}/areas", data={"college": CS, "building": a1.id, "floor": 2},
                      follow_redirects=True).get_data(as_text=True)
    assert "The area was added." in page
    areas = page.split('data-testid="areas"')[1].split("</table>")[0]
    assert CS in areas and ">A1<" in areas and ">2<" in areas
    refused = staff.post(f"{url}/areas", data={"college": CS, "building": a1.id, "floor": 2}, follow_redirects=True)
    assert f"{CS} has this area already." in refused.get_data(as_text=True)
    assert "Choose a building." in staff.post(f"{url}/areas", data={"college": CS, "building": "999"},
                                              follow_redirects=True).get_data(as_text=True)
    area = db.session.scalar(sa.select(SelectionArea))
    removed = staff.post(f"{url}/areas/{area.id}/remove", follow_redirects=True).get_data(as_text=True)
    assert "The area was removed." in removed and db.session.scalar(sa.select(SelectionArea)) is None

    north = campus.get_or_create_campus("north")
    db.session.commit()
    assert f'value="{north.id}"' in _text_of(staff.get(url))
    added = staff.post(f"{url}/windows", data={
        "name": "北区", "starts_at": _campus_time(utcnow() + timedelta(hours=1)), "tier": 1, "batch_size": 0,
        "batch_minutes": 0, "gender": "", "campus": north.id}, follow_redirects=True)
    assert "The window was added." in added.get_data(as_text=True), added.get_data(as_text=True)
    db.session.expire_all()
    assert event.windows[0].campus_id == north.id and "in 北校区" in _text_of(staff.get(url))
    assert "no such zone" in staff.post(f"{url}/windows", data={
        "name": "x", "starts_at": _campus_time(utcnow() + timedelta(hours=1)), "tier": 1, "batch_size": 0,
        "batch_minutes": 0, "gender": "", "campus": 999}, follow_redirects=True).get_data(as_text=True)
    page = staff.post(f"{url}/names", data={}, follow_redirects=True).get_data(as_text=True)
    assert "not their names" in page
    db.session.expire_all()
    assert event.roommate_names is False
    assert _audited() == [
        ("selection.area", {"event": event.id, "college": CS, "building": "A1", "floor": 2}),
        ("selection.area_remove", {"event": event.id, "college": CS, "building": "A1", "floor": 2}),
        ("selection.window", {"event": event.id, "name": "北区", "starts_at": event.windows[0].starts_at.isoformat(),
                              "tier": 1, "college": None, "classes": None, "grade": None, "gender": None,
                              "batch_size": 0, "batch_minutes": 0, "zone": "north"}),
        ("selection.names", {"event": event.id, "roommate_names": False})]
    log = _text_of(staff.get("/audit/"))
    assert "Gave a college an area in a selection" in log and "Removed a college&#39;s area" in log


def test_only_staff_set_areas(app, login, create_user, site, create_student):
    event = _draft(site, [create_student()])
    db.session.commit()
    auditor = login(create_user("auditor", role=Role.AUDITOR))
    assert 'data-testid="area-form"' not in _text_of(auditor.get(f"/selection-office/{event.id}"))
    for path in ("areas", "names"):
        assert auditor.post(f"/selection-office/{event.id}/{path}",
                            data={"college": CS, "building": site["b1"].building.id}).status_code == 403
    assert db.session.scalar(sa.select(SelectionArea)) is None


def _text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_command_line_adds_areas_zones_and_the_names_setting(app, site):
    runner = app.test_cli_runner()

    def run(*args, expect=0):
        result = runner.invoke(args=["selection", *map(str, args)])
        assert result.exit_code == expect, result.output
        return result.output

    closes = (utcnow() + timedelta(days=1)).astimezone(campus_zone()).strftime("%Y-%m-%d %H:%M")
    event_id = int(run("create", "分区", "--closes", closes, "--show-names").split()[1].rstrip(","))
    assert "A1 floor 2 is for 计算机学院" in run("area", event_id, CS, "--building", "a1", "--floor", 2)
    assert "A1 is for 物理学院" in run("area", event_id, PHYSICS, "--building", "A1")
    assert "There is no building Z9." in run("area", event_id, CS, "--building", "Z9", expect=2)
    assert "has this area already" in run("area", event_id, CS, "--building", "A1", "--floor", 2, expect=1)
    starts = (utcnow() + timedelta(hours=1)).astimezone(campus_zone()).strftime("%Y-%m-%d %H:%M")
    assert "They choose in 北校区 only." in run("window", event_id, "北区", "--starts", starts, "--zone", "NORTH")
    assert "There is no campus or zone south." in run("window", event_id, "南", "--starts", starts, "--zone", "south",
                                                      expect=2)
    event = db.session.get(SelectionEvent, event_id)
    assert event.roommate_names is True and event.windows[0].campus.code == "north"
    assert {(a.college, a.floor) for a in event.areas} == {(CS, 2), (PHYSICS, None)}
