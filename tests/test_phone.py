"""Counselors and students on a phone, the server's side: a rejection needs a reason, what waits for you on the
home page (in few queries), and a form refused or sent too late comes back with what was typed."""
from __future__ import annotations

import html
import json
import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from dorms.access import permissions
from dorms.access.models import Permission, PermissionKind, PermissionStatus
from dorms.checkin.models import CheckIn, ReportItem
from dorms.core.clock import utcnow
from dorms.core.enums import Gender, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.facilities.models import Condition, ItemKind, RepairStatus, RepairTicket
from dorms.hygiene import services as hygiene
from dorms.hygiene.models import RoomInspection
from dorms.pages import waiting
from dorms.residence import services as residence
from dorms.roomchange import services as room_changes
from dorms.violations.models import Severity, Violation, ViolationStatus, ViolationType

ZH = {"Accept-Language": "zh-CN"}


def _late_return(student) -> Permission:
    request = Permission(student_id=student.id, kind=PermissionKind.LATE, first_night=date.today(),
                         last_night=date.today(), expected_return=time(23, 40), reason="实验课晚结束",
                         status=PermissionStatus.PENDING)
    db.session.add(request)
    return request


@pytest.fixture
def people(create_building, create_room, create_student, create_user):
    """Two students of 计科2401 in rooms A1-101 and A1-102, their counselor, staff, a pending late return."""
    building = create_building("A1", name="桃李苑1号楼")
    first, second = create_room(building, "101", floor=1, capacity=2), create_room(building, "102", floor=1, capacity=2)
    me = create_student("2024000001", name="王小明", gender=Gender.MALE)
    other = create_student("2024000002", name="李大壮", gender=Gender.MALE)
    residence.assign(me, first.beds[0], reason="intake")
    residence.assign(other, second.beds[0], reason="intake")
    request = _late_return(me)
    db.session.commit()
    return {"me": me, "other": other, "rooms": (first, second), "building": building, "request": request,
            "student": create_user(me.student_number, role=Role.STUDENT, student=me),
            "other_user": create_user(other.student_number, role=Role.STUDENT, student=other),
            "counselor": create_user("counselor", role=Role.COUNSELOR, classes=["计科2401"]),
            "staff": create_user("staff", role=Role.STAFF)}


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- a decision on a request ------------------------------------------------------------------------------


def test_a_rejection_needs_a_reason_and_says_so_on_the_requests_card(client, login, people):
    request = people["request"]
    with pytest.raises(ServiceError, match="reason for rejecting"):
        permissions.decide(request, False, people["counselor"], "   ")
    db.session.rollback()
    login(people["counselor"])
    refused = client.post(f"/curfew/requests/{request.id}/reject", data={"comment": " "}, headers=ZH)
    page = _text(refused)
    assert refused.status_code == 200 and "请填写驳回的理由。" in page
    card = page[page.index(f'data-request="{request.id}"'):]
    assert 'data-testid="decision-error"' in card and "autofocus" in card
    db.session.refresh(request)
    assert request.status == PermissionStatus.PENDING
    too_long = client.post(f"/curfew/requests/{request.id}/reject", data={"comment": "理" * 501})
    assert too_long.status_code == 200 and "longer than 500 characters" in _text(too_long)  # said, not cut
    with pytest.raises(ServiceError, match="longer than 500 characters"):  # the service itself, whoever calls it
        permissions.decide(request, False, people["counselor"], "理" * 501)
    db.session.rollback()
    db.session.refresh(request)
    assert request.status == PermissionStatus.PENDING
    done = client.post(f"/curfew/requests/{request.id}/reject", data={"comment": "当晚有查寝安排"})
    assert done.status_code == 302
    db.session.refresh(request)
    assert request.status == PermissionStatus.REJECTED and request.comment == "当晚有查寝安排"


def test_the_review_page_shows_each_request_as_a_card_with_its_own_decision(client, login, people):
    login(people["counselor"])
    page = _text(client.get("/curfew/requests/review"))
    assert '<article class="card decision-card' in page and 'data-testid="approve"' in page
    assert f'name="comment"' in page and "<table" not in page.split('data-testid="requests"')[1]


# --- what waits for you -------------------------------------------------------------------------------------


def _keys(lines) -> dict[str, int]:
    return {line.key: line.count for line in lines}


def test_a_students_home_says_a_swap_offer_and_a_condition_report_wait(app, client, login, people):
    me = people["me"]
    with app.test_request_context():
        assert _keys(waiting.for_student(me)) == {"pending-requests": 1}
    room_changes.ask_to_swap(people["other"], me.student_number, "想和同学住近一点")
    assignment = residence.current_assignment(me)
    db.session.add(CheckIn(assignment_id=assignment.id, ack_due_at=utcnow() + timedelta(days=3)))
    permissions.decide(people["request"], True, people["counselor"], "")
    db.session.commit()
    with app.test_request_context():
        assert _keys(waiting.for_student(me)) == {"swap-offers": 1, "condition-report": 1, "decided-requests": 1}
        assert _keys(waiting.for_student(people["other"])) == {}  # the asker waits for no one's answer of theirs
    login(people["student"])
    page = _text(client.get("/students/me", follow_redirects=True, headers=ZH))
    block = page[page.index('data-testid="waiting"'):]
    assert "1 个互换申请待你答复" in block and 'href="/room-change/mine"' in block, block


def test_counselors_and_staff_see_what_they_have_to_decide_or_handle(app, client, login, people, create_user):
    stranger = create_user(role=Role.COUNSELOR, classes=["其他班"])
    with app.test_request_context():
        assert _keys(waiting.for_counselor(people["counselor"])) == {"requests-to-decide": 1}
        assert _keys(waiting.for_counselor(stranger)) == {}
        assert _keys(waiting.for_staff(people["staff"])) == {"requests-to-decide": 1}
    first_room = people["rooms"][0]
    db.session.add(RepairTicket(room_id=first_room.id, description="灯不亮了", status=RepairStatus.REPORTED))
    record = CheckIn(assignment_id=residence.current_assignment(people["me"]).id,
                     ack_due_at=utcnow() + timedelta(days=3))
    db.session.add(record)
    db.session.flush()
    db.session.add(ReportItem(check_in_id=record.id, kind=ItemKind.DESK, condition=Condition.GOOD,
                              disputed_at=utcnow(), dispute_note="桌子本来就有划痕"))
    kind = ViolationType(name="违规电器", severity=Severity.SERIOUS)
    db.session.add(kind)
    db.session.flush()
    db.session.add(Violation(type_id=kind.id, building_id=people["building"].id, occurred_on=date.today(),
                             status=ViolationStatus.APPEALED, appellant_id=people["me"].id,
                             appeal_reason="电器不是我的"))
    db.session.commit()
    with app.test_request_context():
        assert _keys(waiting.for_staff(people["staff"])) == {"repair-tickets": 1, "disputes": 1, "appeals": 1,
                                                             "requests-to-decide": 1}
    login(people["counselor"])
    page = _text(client.get("/", headers=ZH))
    assert "1 条晚归或外宿申请待审批" in page and 'data-waiting="requests-to-decide"' in page


def test_the_waiting_block_takes_one_query_however_much_waits(app, people, create_student, count_queries):
    for n in range(5):
        student = create_student(f"20240001{n:02d}")
        _late_return(student)
    db.session.commit()
    users = [people["me"], people["staff"], people["counselor"]]
    assert all(user.id for user in users)  # loaded before counting
    with app.test_request_context():
        for lines in (lambda: waiting.for_student(people["me"]), lambda: waiting.for_staff(people["staff"]),
                      lambda: waiting.for_counselor(people["counselor"], 2)):
            with count_queries() as queries:
                found = lines()
            assert found and len(queries) == 1


# --- a form sent too late, or refused, keeps what was typed --------------------------------------------------


@pytest.fixture
def floor_sheet(people, create_user):
    items = hygiene.ensure_default_checklist()
    inspector = create_user("inspector", role=Role.STAFF)
    the_round = hygiene.create_round(date.today(), [people["building"]], [inspector], title="第12周")
    db.session.commit()
    room = people["rooms"][0]
    form = {"room": [str(room.id)], f"note-{room.id}": "地面有垃圾"}
    form.update({f"p-{room.id}-{item.id}": str(item.max_points - 1) for item in items})
    return {"url": f"/hygiene/rounds/{the_round.id}/floors/{room.floor_id}", "form": form, "inspector": inspector}


def _kept(page: str) -> dict[str, list[str]]:
    found = re.search(r"id=\"kept-form\" data-action=\"([^\"]*)\" data-fields='([^']*)'", page)
    assert found, "the page carries no kept values"
    fields: dict[str, list[str]] = {}
    for name, value in json.loads(found.group(2)):
        fields.setdefault(name, []).append(value)
    return {"action": found.group(1), **fields}


def _csrf_on(monkeypatch, app):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


@pytest.mark.parametrize("token", ["expired", "tampered"])
def test_a_floor_sheet_sent_after_its_token_expired_comes_back_translated_with_the_scores(
        app, client, login, floor_sheet, monkeypatch, token):
    login(floor_sheet["inspector"])
    _csrf_on(monkeypatch, app)
    old = re.search(r'name="csrf_token" value="([^"]+)"', client.get(floor_sheet["url"]).get_data(as_text=True))[1]
    if token == "expired":
        monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", -1)  # every token older than now: the page left open
    else:
        old = old[:-4] + "AAAA"
    response = client.post(floor_sheet["url"], data={**floor_sheet["form"], "csrf_token": old}, headers=ZH)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "页面打开时间过长" in page and 'data-testid="kept-notice"' in page
    assert 'class="navbar' in page and "dorms.css" in page  # the app's own page, not Werkzeug's
    assert 'data-testid="floor-form"' in page  # the sheet itself, to check and send again
    kept = _kept(page)
    assert kept["action"] == floor_sheet["url"]
    for name, value in floor_sheet["form"].items():
        assert kept[name] == (value if isinstance(value, list) else [value])
    assert "csrf_token" not in kept
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert db.session.scalar(sa.select(sa.func.count(RoomInspection.id))) == 0  # nothing posted was acted on
    saved = client.post(floor_sheet["url"], data={**floor_sheet["form"], "csrf_token": token})
    assert saved.status_code == 302 and db.session.scalar(sa.select(sa.func.count(RoomInspection.id))) == 1


def test_an_expired_decision_shows_the_page_it_was_sent_from(app, client, login, people, monkeypatch):
    login(people["counselor"])
    _csrf_on(monkeypatch, app)
    request = people["request"]
    response = client.post(f"/curfew/requests/{request.id}/reject", data={"comment": "当晚有查寝"},
                           headers={**ZH, "Referer": "http://localhost/curfew/requests/review"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'data-testid="requests"' in page and "页面打开时间过长" in page
    assert _kept(page)["comment"] == ["当晚有查寝"]
    db.session.refresh(request)
    assert request.status == PermissionStatus.PENDING


def test_a_token_failure_from_elsewhere_or_signed_out_keeps_nothing(app, client, login, people, floor_sheet,
                                                                     monkeypatch):
    _csrf_on(monkeypatch, app)
    signed_out = client.post(floor_sheet["url"], data=floor_sheet["form"], headers=ZH)
    assert signed_out.status_code == 400 and "页面打开时间过长" in signed_out.get_data(as_text=True)
    assert "kept-form" not in signed_out.get_data(as_text=True)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    login(floor_sheet["inspector"])
    _csrf_on(monkeypatch, app)
    forged = client.post(floor_sheet["url"], data=floor_sheet["form"], headers={"Origin": "https://evil.example"})
    assert forged.status_code == 400 and "kept-form" not in forged.get_data(as_text=True)


def test_a_refused_repair_report_comes_back_with_the_description(client, login, people):
    login(people["student"])
    response = client.post("/repairs/mine", data={"description": "灯", "item": ""}, headers=ZH)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page  # the page again, not a redirect to an empty form
    assert "故障描述: 字段长度必须介于 4 到 1000 个字符之间。" in _text(response)
    assert _kept(page)["description"] == ["灯"]
    assert db.session.scalar(sa.select(sa.func.count(RepairTicket.id))) == 0


def test_kept_values_name_the_form_by_its_address_under_a_path_prefix(client, login, people):
    """Served under a prefix (SCRIPT_NAME, behind a proxy): the form's action carries it, so the kept values
    must name the same address for forms.js to find the form again."""
    login(people["student"])
    response = client.post("/repairs/mine", data={"description": "灯", "item": ""}, headers=ZH,
                           base_url="http://localhost/dorms")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    action = _kept(page)["action"]
    assert action == "/dorms/repairs/mine" and f'action="{action}"' in page


def test_a_refused_move_request_comes_back_with_the_reason(client, login, people):
    login(people["student"])
    page = client.get("/room-change/mine").get_data(as_text=True)
    assert "kept-form" not in page
    sent = {"reason": "想换到安静的房间", "choices-0-target": "room", "choices-0-room": "Z9-999",
            "choices-1-target": f"building:{people['building'].id}"}
    response = client.post("/room-change/move", data=sent, headers=ZH)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Z9-999" in _text(response)  # the refusal names the room
    kept = _kept(page)
    assert {name: kept[name] for name in sent} == {name: [value] for name, value in sent.items()}
    assert 'name="choices-0-room"' in page  # the form it goes back into
