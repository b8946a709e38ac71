"""The narrower roles: building managers see their buildings only, hygiene inspectors score rounds and read
rooms, repair workers their own tickets, auditors read what staff read and change nothing.

A table of pages × roles, as tests/test_permissions.py does for staff, counselors and students, then the
refusals one by one."""
from datetime import date, timedelta

import pytest
from flask import current_app

from dorms import jobs
from dorms.auth.models import User
from dorms.campus.models import ManagedBuilding
from dorms.checkin import services as checkin
from dorms.core.clock import utcnow
from dorms.core.enums import Role
from dorms.extensions import db
from dorms.facilities import repairs
from dorms.facilities.models import RepairStatus, RepairTicket
from dorms.hygiene import services as hygiene
from dorms.jobs import schedules
from dorms.transfer import tasks as transfer_tasks
from dorms.residence import services as residence
from dorms.selection import services as selection

ROLES = ("staff", "auditor", "manager", "inspector", "worker")


@pytest.fixture
def site(create_building, create_room, create_student, create_user):
    """Buildings A (managed by the building manager) and B, a room and a resident in each; a ticket in each
    room, A's assigned to the repair worker; a hygiene round of both buildings."""
    a, b = create_building("A", name="桃李苑A"), create_building("B", name="桃李苑B")
    room_a, room_b = create_room(a, "101", capacity=2), create_room(b, "101", capacity=2)
    in_a = create_student("2024100001", name="甲同学")
    in_b = create_student("2024100002", name="乙同学")
    residence.assign(in_a, room_a.beds[0], reason="intake")
    residence.assign(in_b, room_b.beds[0], reason="intake")
    staff = create_user("office", role=Role.STAFF)
    users = {
        "staff": staff,
        "auditor": create_user("auditor", role=Role.AUDITOR),
        "manager": create_user("manager", role=Role.BUILDING_MANAGER, buildings=[a]),
        "inspector": create_user("inspector", role=Role.INSPECTOR),
        "worker": create_user("worker", role=Role.REPAIR_WORKER),
        "other_worker": create_user("other-worker", role=Role.REPAIR_WORKER),
    }
    ticket_a = repairs.report(room_a, "灯坏了，不亮", actor=staff)
    ticket_b = repairs.report(room_b, "门锁坏了", actor=staff)
    repairs.move(ticket_a, RepairStatus.ASSIGNED, assignee="worker", actor=staff)
    repairs.move(ticket_b, RepairStatus.ASSIGNED, assignee="other-worker", actor=staff)
    hygiene.ensure_default_checklist()
    the_round = hygiene.create_round(date.today(), [a, b], [users["inspector"], users["manager"]], actor=staff)
    schedules.ensure_default_schedules()
    job = jobs.enqueue("access.rollup", actor=staff)
    import_job = transfer_tasks.start_import("rooms", "rooms.csv", b"building\n", dry_run=True, confirm=None,
                                             language="en")
    export_job = transfer_tasks.start_export("rooms", "csv", "en")
    event = selection.create_event("2026 秋季选宿", closes_at=utcnow() + timedelta(days=1))  # a draft
    db.session.commit()
    return {**users, "event": event, "job": job, "import_job": import_job, "export_job": export_job, "a": a, "b": b, "room_a": room_a, "room_b": room_b, "in_a": in_a, "in_b": in_b,
            "ticket_a": ticket_a, "ticket_b": ticket_b, "round": the_round,
            "floor_a": room_a.floor, "floor_b": room_b.floor}


# url, then the status each of staff, auditor, building manager, inspector, repair worker gets.
PAGES = [
    ("/", 200, 200, 302, 302, 302),
    ("/buildings", 200, 200, 200, 200, 403),
    ("/buildings/{a.id}", 200, 200, 200, 200, 403),
    ("/buildings/{b.id}", 200, 200, 404, 200, 403),
    ("/rooms", 200, 200, 200, 200, 403),
    ("/rooms/{room_a.id}", 200, 200, 200, 200, 403),
    ("/rooms/{room_b.id}", 200, 200, 404, 200, 403),
    ("/students/", 200, 200, 200, 403, 403),
    ("/students/{in_a.id}", 200, 200, 200, 404, 404),
    ("/students/{in_b.id}", 200, 200, 404, 404, 404),
    ("/checkin/desk", 200, 200, 200, 403, 403),
    ("/checkin/reports", 200, 200, 403, 403, 403),
    ("/checkin/students/{in_b.id}/room-change", 302, 302, 403, 403, 403),
    ("/hygiene/", 200, 200, 200, 200, 403),
    ("/hygiene/rounds", 200, 200, 200, 200, 403),
    ("/hygiene/rounds/{round.id}", 200, 200, 200, 200, 403),
    ("/hygiene/rounds/{round.id}/floors/{floor_a.id}", 200, 200, 200, 200, 403),
    ("/hygiene/rounds/{round.id}/floors/{floor_b.id}", 200, 200, 404, 200, 403),
    ("/hygiene/checklist", 200, 200, 403, 403, 403),
    ("/hygiene/export/rooms.csv", 200, 200, 200, 200, 403),
    ("/hygiene/export/buildings.csv", 200, 200, 403, 200, 403),
    ("/hygiene/rounds/{round.id}/scores.csv", 200, 200, 403, 200, 403),
    ("/repairs", 200, 200, 200, 403, 200),
    ("/repairs/{ticket_a.id}", 200, 200, 200, 200, 200),
    ("/repairs/{ticket_b.id}", 200, 200, 404, 200, 404),
    ("/allocation/", 200, 200, 403, 403, 403),
    ("/room-change/", 200, 200, 403, 403, 403),
    ("/selection/", 403, 403, 403, 403, 403),  # a student's own: refused before any event is looked up
    ("/selection/1", 403, 403, 403, 403, 403),
    ("/curfew/", 200, 200, 403, 403, 403),
    ("/curfew/students/{in_a.id}/nights/2026-09-07", 200, 200, 403, 403, 403),
    ("/curfew/me/nights/2026-09-07", 404, 404, 404, 404, 404),
    ("/curfew/integrations", 200, 200, 403, 403, 403),
    ("/violations/", 200, 200, 403, 403, 403),
    ("/audit/", 200, 200, 403, 403, 403),
    ("/import", 200, 200, 403, 403, 403),
    ("/export/rooms.csv", 200, 200, 403, 403, 403),
    ("/import/jobs/{import_job.id}", 200, 200, 403, 403, 403),
    ("/export/jobs/{export_job.id}", 200, 200, 403, 403, 403),
    ("/directory/", 200, 200, 403, 403, 403),
    ("/jobs/", 200, 200, 403, 403, 403),
    ("/jobs/{job.id}", 200, 200, 403, 403, 403),
    ("/jobs/schedules", 200, 200, 403, 403, 403),
    ("/selection-office/", 200, 200, 403, 403, 403),
    ("/selection-office/{event.id}", 200, 200, 403, 403, 403),
    ("/accounts/", 200, 200, 403, 403, 403),
    ("/accounts/{staff.id}", 200, 200, 403, 403, 403),
    ("/setup", 200, 200, 403, 403, 403),
    ("/checkin/settings", 200, 200, 403, 403, 403),
    ("/notifications/", 200, 200, 200, 200, 200),
    ("/notifications/preferences", 200, 200, 200, 200, 200),
    ("/notifications/failing", 200, 200, 403, 403, 403),
]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_what_it_may_and_no_more(site, login, role):
    client = login(site[role])
    wrong = []
    for url, *expected in PAGES:
        address = url.format(**site)
        got = client.get(address).status_code
        if got != expected[ROLES.index(role)]:
            wrong.append((address, got, expected[ROLES.index(role)]))
    assert wrong == []


@pytest.mark.parametrize("role", ["auditor", "manager", "inspector", "worker"])
def test_no_page_without_arguments_fails_for_a_narrower_role(site, login, role):
    """Every page a menu could link to answers a narrower role with a page, a redirect or a refusal, never 500."""
    client = login(site[role])
    for rule in current_app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/iclock/", "/static")):
            assert client.get(rule.rule).status_code < 500, rule.rule


def test_the_navigation_shows_each_role_only_what_it_may_open(site, login, client):
    links = {
        "manager": (["/checkin/desk", "/hygiene/rounds", "/repairs", "/buildings"],
                    ["/allocation/", "/audit/", "/accounts/", "/selection-office/"]),
        "inspector": (["/hygiene/rounds", "/rooms"], ["/checkin/desk", "/allocation/", "/students/"]),
        "worker": (["/repairs"], ["/buildings", "/hygiene/", "/checkin/desk"]),
        "auditor": (["/audit/", "/allocation/", "/accounts/", "/selection-office/"], []),
    }
    for role, (shown, hidden) in links.items():
        page = login(site[role]).get("/repairs" if role == "worker" else "/hygiene/").get_data(as_text=True)
        nav = page.split('id="nav"')[1].split("</ul>")[0] if role != "auditor" else page.split('id="nav"')[1]
        for href in shown:
            assert f'href="{href}"' in nav, (role, href)
        for href in hidden:
            assert f'href="{href}"' not in nav, (role, href)
        client.post("/logout")


# --- auditor -----------------------------------------------------------------------------------------------

def test_an_auditor_changes_nothing_every_post_is_refused(site, login):
    client = login(site["auditor"])
    posts = [
        f"/beds/{site['room_a'].beds[1].id}/place",
        f"/students/{site['in_a'].id}/vacate",
        f"/rooms/{site['room_a'].id}/status",
        f"/repairs/{site['ticket_a'].id}/step",
        f"/rooms/{site['room_a'].id}/repairs",
        "/hygiene/rounds",
        f"/hygiene/rounds/{site['round'].id}/floors/{site['floor_a'].id}",
        f"/checkin/students/{site['in_a'].id}/check-in",
        "/accounts/",
        f"/accounts/{site['worker'].id}/active",
        "/accounts/students",
        "/violations/types",
        "/allocation/runs",
        f"/students/{site['in_a'].id}/requests",
        "/room-change/1/withdraw",  # staff and students: its decorator refuses it (the rule itself: below)
    ]
    for url in posts:
        assert client.post(url, data={"reason": "x", "status": "closed"}).status_code == 403, url
    db.session.rollback()
    assert residence.current_assignment(site["in_a"]) is not None
    assert db.session.get(User, site["worker"].id).active
    # Its own session, password and language are its own.
    assert client.post("/language/en", data={"next": "/"}).status_code == 302
    assert client.post("/logout").status_code == 302


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_app_wide_rule_refuses_an_auditors_change_before_any_view_but_not_the_machines(app, site, method):
    """Every view refuses an auditor's post on its own too (the test above): here the rule itself, which
    stands for a view that forgets. The door API and the ZKTeco devices carry no user and are left alone."""
    from flask_login import login_user
    from werkzeug.exceptions import Forbidden

    cases = [("/room-change/1/withdraw", True), ("/no/such/page", True), ("/api/events", False),
             ("/iclock/cdata", False)] + ([("/language/en", False), ("/login", False)] if method == "POST" else [])
    for path, refused in cases:
        with app.test_request_context(path, method=method):
            login_user(site["auditor"])
            if refused:
                with pytest.raises(Forbidden):
                    app.preprocess_request()
            else:
                assert app.preprocess_request() is None, path
        with app.test_request_context(path, method=method):
            login_user(site["staff"])
            assert app.preprocess_request() is None, path


def test_an_auditor_reads_what_staff_read_without_the_forms(site, login):
    page = login(site["auditor"]).get(f"/rooms/{site['room_a'].id}").get_data(as_text=True)
    assert "甲同学" in page
    assert "/status" not in page and "/inventory" not in page and "/place" not in page


# --- building manager ----------------------------------------------------------------------------------------

def test_a_building_manager_lists_only_their_buildings_rooms_and_residents(site, login):
    client = login(site["manager"])
    assert "桃李苑B" not in client.get("/buildings").get_data(as_text=True)
    rooms = client.get("/rooms").get_data(as_text=True)
    assert f"/rooms/{site['room_a'].id}" in rooms and f"/rooms/{site['room_b'].id}" not in rooms
    rooms = client.get(f"/rooms?building={site['b'].id}").get_data(as_text=True)
    assert f"/rooms/{site['room_b'].id}" not in rooms
    students = client.get("/students/").get_data(as_text=True)
    assert "甲同学" in students and "乙同学" not in students
    repairs_page = client.get("/repairs").get_data(as_text=True)
    assert f"/repairs/{site['ticket_a'].id}" in repairs_page and f"/repairs/{site['ticket_b'].id}" not in repairs_page


@pytest.mark.parametrize("role", ["manager", "inspector"])
def test_the_room_pages_name_no_student_beyond_the_readers_scope(site, login, role):
    client = login(site[role])
    for url in ("/rooms?for_student={id}", "/rooms/{room_a}?for_student={id}"):
        page = client.get(url.format(id=site["in_b"].id, room_a=site["room_a"].id)).get_data(as_text=True)
        assert "乙同学" not in page and "2024100002" not in page, url
    client.post("/logout")
    staff_page = login(site["staff"]).get(f"/rooms?for_student={site['in_b'].id}").get_data(as_text=True)
    assert "乙同学" in staff_page


def test_a_building_manager_checks_in_their_residents_and_not_another_buildings(site, login):
    client = login(site["manager"])
    desk = client.get("/checkin/desk?q=2024100002").get_data(as_text=True)
    assert "乙同学" not in desk
    assert "甲同学" in client.get("/checkin/desk?q=2024100001").get_data(as_text=True)
    assert client.post(f"/checkin/students/{site['in_b'].id}/check-in", data={}).status_code == 404
    response = client.post(f"/checkin/students/{site['in_a'].id}/check-in", data={})
    assert response.status_code == 302
    db.session.rollback()
    assert checkin.current_check_in(site["in_a"]) is not None
    assert checkin.current_check_in(site["in_b"]) is None
    assert client.get(f"/checkin/students/{site['in_b'].id}/check-out").status_code == 404


def test_a_building_manager_opens_no_check_in_of_another_building_a_resident_had_before(site, login):
    from dorms.checkin import leaving
    from dorms.checkin.models import LeavingPolicy

    before = checkin.check_in(site["in_b"], note="乙楼的入住记录", actor=site["staff"])
    leaving.set_leaving_policy(LeavingPolicy.CHECK_OUT, actor=site["staff"])
    residence.move(site["in_b"], site["room_a"].beds[1], reason="换宿", actor=site["staff"])  # now A's resident
    db.session.commit()
    client = login(site["manager"])
    assert client.get(f"/checkin/{before.id}").status_code == 404
    assert client.post(f"/checkin/{before.id}/keys", data={}).status_code == 404
    assert client.get(f"/students/{site['in_b'].id}").status_code == 200  # the resident themself is theirs


def test_a_building_manager_scores_only_their_buildings_floors(site, login):
    client = login(site["manager"])
    round_page = client.get(f"/hygiene/rounds/{site['round'].id}").get_data(as_text=True)
    assert f"/floors/{site['floor_a'].id}" in round_page and f"/floors/{site['floor_b'].id}" not in round_page
    url = f"/hygiene/rounds/{site['round'].id}/floors/{site['floor_b'].id}"
    assert client.post(url, data={"room": [str(site["room_b"].id)]}).status_code == 404


def test_a_building_manager_reads_only_their_buildings_scores_on_a_round(site, login):
    for room, note in ((site["room_a"], "甲楼干净"), (site["room_b"], "乙楼杂乱")):
        hygiene.save_floor(site["round"], room.floor, {room.id: hygiene.RoomEntry(absent=True, note=note)},
                           actor=site["inspector"])
    db.session.commit()
    page = login(site["manager"]).get(f"/hygiene/rounds/{site['round'].id}").get_data(as_text=True)
    assert "甲楼干净" in page and "乙楼杂乱" not in page


def test_a_building_managers_class_rankings_count_their_buildings_rooms_only(site, login):
    """Both residents are in one class; B's room scores 0, A's full marks: A's manager sees the class at 100."""
    items = hygiene.checklist()
    for room, full in ((site["room_a"], True), (site["room_b"], False)):
        points = {item.id: str(item.max_points if full else 0) for item in items}
        hygiene.save_floor(site["round"], room.floor, {room.id: hygiene.RoomEntry(points=points)},
                           actor=site["inspector"])
    db.session.commit()
    day = site["round"].inspected_on.isoformat()
    rows = login(site["manager"]).get(f"/hygiene/export/classes.csv?first={day}&last={day}").get_data(as_text=True)
    assert rows.splitlines()[1].split(",")[1:3] == ["计科2401", "100.0"] and rows.strip().endswith(",1,1"), rows


def test_a_building_manager_moves_their_buildings_tickets_only(site, login):
    client = login(site["manager"])
    assert client.post(f"/repairs/{site['ticket_b'].id}/step", data={"status": "in_progress"}).status_code == 404
    assert client.post(f"/rooms/{site['room_b'].id}/repairs", data={"description": "窗户坏了"}).status_code == 404
    assert client.post(f"/repairs/{site['ticket_a'].id}/step", data={"status": "in_progress"}).status_code == 302
    db.session.rollback()
    assert db.session.get(RepairTicket, site["ticket_a"].id).status == RepairStatus.IN_PROGRESS
    assert db.session.get(RepairTicket, site["ticket_b"].id).status == RepairStatus.ASSIGNED


def test_a_building_manager_cannot_change_who_lives_where_or_a_students_requests(site, login):
    client = login(site["manager"])
    assert client.post(f"/students/{site['in_a'].id}/vacate", data={"reason": "x"}).status_code == 403
    assert client.post(f"/students/{site['in_a'].id}/requests", data={"other_number": "1"}).status_code == 403
    assert client.post(f"/rooms/{site['room_a'].id}/status", data={"status": "closed", "reason": "x"}).status_code == 403


def test_the_database_keeps_managed_buildings_to_building_managers(site):
    from sqlalchemy.exc import IntegrityError
    db.session.add(ManagedBuilding(user_id=site["inspector"].id, building_id=site["a"].id, role="building_manager"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(ManagedBuilding(user_id=site["inspector"].id, building_id=site["a"].id, role="inspector"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- hygiene inspector --------------------------------------------------------------------------------------

def test_an_inspector_scores_a_round_and_cannot_open_check_in_or_allocation(site, login):
    client = login(site["inspector"])
    items = hygiene.checklist()
    room = site["room_a"]
    data = {"room": [str(room.id)], **{f"p-{room.id}-{item.id}": str(item.max_points) for item in items},
            f"note-{room.id}": ""}
    response = client.post(f"/hygiene/rounds/{site['round'].id}/floors/{site['floor_a'].id}", data=data)
    assert response.status_code == 302
    for url in ("/checkin/desk", "/allocation/", "/students/", "/hygiene/checklist"):
        assert client.get(url).status_code == 403, url
    assert client.post("/hygiene/rounds", data={}).status_code == 403
    assert client.post(f"/rooms/{site['room_a'].id}/status", data={"status": "closed", "reason": "x"}).status_code == 403


# --- repair worker -------------------------------------------------------------------------------------------

def test_a_repair_worker_sees_and_moves_only_the_tickets_assigned_to_them(site, login):
    client = login(site["worker"])
    queue = client.get("/repairs").get_data(as_text=True)
    assert f"/repairs/{site['ticket_a'].id}" in queue and f"/repairs/{site['ticket_b'].id}" not in queue
    assert client.post(f"/repairs/{site['ticket_b'].id}/step", data={"status": "fixed"}).status_code == 404
    # Rejecting or reassigning is the office's.
    client.post(f"/repairs/{site['ticket_a'].id}/step", data={"status": "rejected", "note": "不修"})
    db.session.rollback()
    assert db.session.get(RepairTicket, site["ticket_a"].id).status == RepairStatus.ASSIGNED
    assert client.post(f"/repairs/{site['ticket_a'].id}/step", data={"status": "in_progress"}).status_code == 302
    assert client.post(f"/repairs/{site['ticket_a'].id}/step", data={"status": "fixed"}).status_code == 302
    db.session.rollback()
    assert db.session.get(RepairTicket, site["ticket_a"].id).status == RepairStatus.FIXED
    assert db.session.get(RepairTicket, site["ticket_b"].id).status == RepairStatus.ASSIGNED


def test_a_ticket_assigned_by_name_to_a_repair_worker_joins_their_queue_other_text_does_not(site):
    ticket = site["ticket_b"]
    assert ticket.assigned_to_id == site["other_worker"].id and ticket.assignee == site["other_worker"].display_name
    repairs.move(ticket, RepairStatus.ASSIGNED, assignee="王师傅 (outside electrician)", actor=site["staff"])
    assert ticket.assigned_to_id is None and ticket.assignee == "王师傅 (outside electrician)"
