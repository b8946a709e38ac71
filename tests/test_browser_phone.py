"""Counselors and students on a 390×844 phone, in Chinese, in headless Chromium: a decision card in reach,
a rejection that asks for a reason, what waits on the home page, a floor sheet sent too late that keeps its scores."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect

from dorms.access.models import Permission, PermissionKind, PermissionStatus
from dorms.checkin.models import CheckIn
from dorms.core.clock import utcnow
from dorms.core.enums import Gender, Role
from dorms.extensions import db
from dorms.hygiene import services as hygiene
from dorms.hygiene.models import RoomInspection
from dorms.residence import services as residence
from dorms.roomchange import services as room_changes

from .browsing import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def residents(create_building, create_room, create_student, create_user):
    building = create_building("A1", name="桃李苑1号楼")
    rooms = [create_room(building, number, floor=1, capacity=2) for number in ("101", "102")]
    me = create_student("2024000001", name="王小明", gender=Gender.MALE)
    other = create_student("2024000002", name="李大壮", gender=Gender.MALE)
    residence.assign(me, rooms[0].beds[0], reason="intake")
    residence.assign(other, rooms[1].beds[0], reason="intake")
    late = Permission(student_id=me.id, kind=PermissionKind.LATE, first_night=date.today(), last_night=date.today(),
                      expected_return=time(23, 40), reason="实验课晚结束，实验楼十一点半关门",
                      destination="", status=PermissionStatus.PENDING)
    away = Permission(student_id=other.id, kind=PermissionKind.OVERNIGHT, first_night=date.today(),
                      last_night=date.today() + timedelta(days=2), reason="回家参加表哥的婚礼",
                      destination="南京市鼓楼区", emergency_contact="李父 13800000000",
                      status=PermissionStatus.PENDING)
    db.session.add_all([late, away])
    db.session.commit()
    return {"building": building, "rooms": rooms, "me": me, "other": other, "late": late, "away": away,
            "student": create_user(me.student_number, role=Role.STUDENT, student=me),
            "counselor": create_user("counselor", role=Role.COUNSELOR, classes=["计科2401"]),
            "staff": create_user("staff", role=Role.STAFF)}


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _within_the_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_a_counselor_decides_on_a_phone_and_a_rejection_asks_for_a_reason(phone, live_server, residents):
    sign_in(phone, live_server, "counselor")
    phone.goto(f"{live_server}/curfew/requests/review")
    away = phone.locator(f"[data-request='{residents['away'].id}']")
    for button in ("approve", "reject"):
        assert _within_the_screen(away.locator(f"[data-testid={button}]"))
    comment = away.locator("textarea[name=comment]")
    assert comment.bounding_box()["width"] > 250  # the full card, not a 30 px box
    assert _no_horizontal_scroll(phone)

    away.locator("[data-testid=reject]").click()
    error = phone.locator(f"[data-request='{residents['away'].id}'] [data-testid=decision-error]")
    assert error.inner_text() == "请填写驳回的理由。"
    assert _no_horizontal_scroll(phone)
    db.session.expire_all()
    assert db.session.get(Permission, residents["away"].id).status == PermissionStatus.PENDING

    away = phone.locator(f"[data-request='{residents['away'].id}']")
    away.locator("textarea[name=comment]").fill("婚礼请假请走学院的请假流程")
    away.locator("[data-testid=reject]").click()
    phone.wait_for_selector("text=已驳回。")
    late = phone.locator(f"[data-request='{residents['late'].id}']")
    late.locator("[data-testid=approve]").click()
    phone.wait_for_selector("text=已批准。")
    assert phone.locator("[data-testid=requests]").inner_text().strip() == "没有待审批的申请。"
    db.session.expire_all()
    rejected = db.session.get(Permission, residents["away"].id)
    assert rejected.status == PermissionStatus.REJECTED and rejected.comment == "婚礼请假请走学院的请假流程"
    assert db.session.get(Permission, residents["late"].id).status == PermissionStatus.APPROVED


def test_home_pages_on_a_phone_say_what_waits(phone, live_server, residents):
    room_changes.ask_to_swap(residents["other"], residents["me"].student_number, "想和同学住近一点")
    db.session.add(CheckIn(assignment_id=residence.current_assignment(residents["me"]).id,
                           ack_due_at=utcnow() + timedelta(days=3)))
    db.session.commit()
    sign_in(phone, live_server, residents["me"].student_number)
    block = phone.locator("[data-testid=waiting]")
    assert "待你处理" in block.inner_text()
    swap = block.locator("[data-waiting=swap-offers]")
    assert swap.inner_text().startswith("1 个互换申请待你答复") and _within_the_screen(swap)
    assert block.locator("[data-waiting=condition-report]").inner_text().startswith("1 份房间状况报告")
    assert _no_horizontal_scroll(phone)
    # The housing history below: one card per stay, each value labelled, no table header.
    history = phone.locator("[data-testid=history]")
    assert history.locator("thead").is_hidden()
    assert history.locator("td").nth(1).get_attribute("data-label") == "起始"
    assert history.locator("td").first.bounding_box()["width"] > 300
    swap.click()
    phone.wait_for_url(f"{live_server}/room-change/mine")
    phone.goto(f"{live_server}/")
    phone.locator("[data-waiting=condition-report]").click()
    phone.wait_for_url(f"{live_server}/checkin/me")
    phone.context.clear_cookies()  # signed out (the menu is folded away on a phone)

    sign_in(phone, live_server, "counselor")
    to_decide = phone.locator("[data-testid=waiting] [data-waiting=requests-to-decide]")
    assert to_decide.inner_text().startswith("2 条晚归或外宿申请待审批") and _within_the_screen(to_decide)
    to_decide.click()
    phone.wait_for_url(f"{live_server}/curfew/requests/review")
    assert phone.locator("[data-testid=requests] article").count() == 2


def test_a_floor_sheet_sent_with_an_expired_token_keeps_its_scores(phone, live_server, residents):
    hygiene.ensure_default_checklist()
    items = hygiene.checklist()
    the_round = hygiene.create_round(date.today(), [residents["building"]], [residents["staff"]], title="第12周检查")
    db.session.commit()
    room = residents["rooms"][0]
    sign_in(phone, live_server, "staff")
    phone.goto(f"{live_server}/hygiene/rounds/{the_round.id}/floors/{room.floor_id}")
    card = phone.locator("[data-room='A1-101']")
    for item in items:
        card.locator(f"input[name='p-{room.id}-{item.id}']").fill(str(item.max_points - 1))
    card.locator(f"input[name='note-{room.id}']").fill("地面有垃圾")
    # What an hour on the page does to the token: the server no longer accepts it.
    phone.evaluate("document.querySelector('[data-testid=floor-form] [name=csrf_token]').value = 'expired'")
    phone.locator("[data-testid=floor-form] button[type=submit]").last.click()
    notice = phone.locator("[data-testid=kept-notice]")
    assert "页面打开时间过长" in notice.inner_text()
    phone.wait_for_load_state("load")  # after the scripts that put the values back
    card = phone.locator("[data-room='A1-101']")
    for item in items:
        expect(card.locator(f"input[name='p-{room.id}-{item.id}']")).to_have_value(str(item.max_points - 1))
    expect(card.locator(f"input[name='note-{room.id}']")).to_have_value("地面有垃圾")
    expect(card.locator(".room-total [data-band]")).to_have_count(1)  # the page's own script saw them come back
    db.session.expire_all()
    assert db.session.query(RoomInspection).count() == 0
    phone.locator("[data-testid=floor-form] button[type=submit]").last.click()
    phone.wait_for_selector("text=已保存 1 间宿舍的得分。")
    db.session.expire_all()
    assert db.session.query(RoomInspection).one().total == sum(item.max_points - 1 for item in items)
