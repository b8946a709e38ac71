"""Check-in in a real browser: the desk at the start of term, and a student checking in on a phone."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dorms.checkin.models import CheckIn, KeyKind
from dorms.core.enums import Gender, GenderPolicy, Role
from dorms.extensions import db
from dorms.facilities import services as facilities
from dorms.facilities.models import Condition, ItemKind
from dorms.residence import services as residence

from .browsing import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def arrivals(create_building, create_room, create_student, create_user):
    building = create_building("A1", gender_policy=GenderPolicy.MALE, name="桃李苑1号楼")
    room = create_room(building, "101", capacity=4)
    facilities.add_item(room, ItemKind.DESK, asset_label="GZ-0001")
    facilities.add_item(room, ItemKind.CHAIR, asset_label="GZ-0002", condition=Condition.WORN)
    newcomer = create_student("2026000001", name="张新生", gender=Gender.MALE)
    others = [create_student(f"202600001{n}", name=f"新生{n}", gender=Gender.MALE) for n in range(3)]
    for bed, student in zip(room.beds, [newcomer, *others]):
        residence.assign(student, bed, reason="intake")
    db.session.commit()
    return {"newcomer": newcomer, "room": room, "staff": create_user("staff", role=Role.STAFF),
            "student": create_user(newcomer.student_number, role=Role.STUDENT, student=newcomer)}


def test_staff_check_a_student_in_at_the_desk(page, live_server, arrivals):
    sign_in(page, live_server, "staff")
    page.click("nav >> text=Residence")
    page.click("nav >> text=Check-in desk")
    search = page.locator("input[name=q]")
    assert search.evaluate("element => element === document.activeElement")  # ready for the scanner
    search.fill("2026000001")
    search.press("Enter")
    found = page.locator("[data-testid=desk-student]")
    assert "张新生" in found.inner_text() and "A1-101-1" in found.inner_text()
    assert page.locator("[data-testid=key-rows] input[name=key_label]").first.input_value() == "A1-101"
    page.locator("[data-testid=key-rows] input[name=key_label]").nth(2).fill("0012345678")
    page.click("[data-testid=check-in-form] button:has-text('Check in')")
    page.wait_for_selector("text=2026000001 张新生 is checked in.")
    assert page.locator("[data-testid=desk-student] [data-state=checked-in]").count() == 1
    assert "张新生" in page.locator("[data-testid=today]").inner_text()
    assert "张新生" not in page.locator("[data-testid=expected]").inner_text()
    assert page.locator("[data-testid=progress-chart]").count() == 0  # the queue's pages skip the chart
    page.goto(f"{live_server}/checkin/desk")
    assert page.locator("[data-testid=progress-chart] svg").count() == 1
    page.locator("select[name=building]").select_option(label="A1 桃李苑1号楼")  # shown at once (forms.js)
    page.wait_for_url(re.compile(r"building=\d+"))
    db.session.rollback()  # read what the server committed
    record = db.session.scalar(sa.select(CheckIn))
    assert [k.kind for k in record.keys] == [KeyKind.ROOM_KEY, KeyKind.MAILBOX_KEY, KeyKind.ACCESS_CARD]


def test_a_student_checks_in_on_a_phone_and_acknowledges_the_report(browser, live_server, arrivals):
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    sign_in(phone, live_server, arrivals["student"].username)
    phone.goto(f"{live_server}/checkin/me")
    assert "Not checked in yet" in phone.locator("[data-testid=check-in-state]").inner_text()
    phone.click("button:has-text('Check in now')")
    phone.wait_for_selector("text=You are checked in.")
    assert phone.locator("[data-report=pending]").count() == 1
    phone.click("button:has-text('I acknowledge this report')")
    phone.wait_for_selector("[data-report=acknowledged]")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_staff_check_a_student_out_with_a_damage_and_a_missing_key(page, live_server, arrivals):
    from dorms.checkin import services

    services.check_in(arrivals["newcomer"], keys=[services.KeyInput(KeyKind.ROOM_KEY, "A1-101-1"),
                                                  services.KeyInput(KeyKind.ACCESS_CARD, "0012345678")])
    db.session.commit()
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/students/{arrivals['newcomer'].id}")
    page.click("[data-testid=check-in-summary] a:has-text('Check out')")
    inspection = page.locator("[data-testid=inspection]")
    assert "Worn" in inspection.inner_text()  # the chair as it was at check-in
    desk_row = inspection.locator("tr", has_text="Desk")
    desk_row.locator("select").select_option("broken")
    desk_row.locator("input").fill("桌面裂开")
    card = page.locator("[data-testid=key-returns] tr", has_text="0012345678")
    card.locator("input[value=missing]").check()
    card.locator("input[name$=-charge]").fill("20")
    row = page.locator("[data-testid=damage-row]").first
    row.locator("select").select_option(label="Desk #GZ-0001")
    row.locator("input[name=damage_description]").fill("桌面裂开，需更换")
    row.locator("input[name=damage_amount]").fill("150")
    page.click("button:has-text('Check out and free the bed')")
    page.wait_for_selector("text=checked out of A1-101-1")
    assert "Total charged: ¥170.00" in page.locator("[data-testid=charges]").inner_text()
    db.session.rollback()
    assert residence.current_assignment(arrivals["newcomer"]) is None
