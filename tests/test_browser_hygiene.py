"""An inspector scores a floor on a phone, in Chinese, in headless Chromium."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from dorms.core.enums import Gender, GenderPolicy, Role, RoomStatus
from dorms.extensions import db
from dorms.hygiene import services
from dorms.hygiene.models import RoomInspection
from dorms.residence import services as residence

from .browsing import readme_screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def floor_to_inspect(create_building, create_room, create_student, create_user):
    building = create_building("A1", gender_policy=GenderPolicy.MALE, name="桃李苑1号楼")
    rooms = {n: create_room(building, n, floor=3, capacity=4) for n in ("301", "302", "303", "304", "306")}
    create_room(building, "305", floor=3, status=RoomStatus.CLOSED)
    names = ["王小明", "李大壮", "张伟", "刘洋", "陈浩", "杨帆"]
    for n, name in enumerate(names):
        student = create_student(f"20240003{n:02d}", name=name, gender=Gender.MALE,
                                 class_name="计科2401" if n < 4 else "软工2402")
        residence.assign(student, rooms["301" if n < 3 else "302" if n < 5 else "304"].beds[n % 3], reason="intake")
    services.ensure_default_checklist("zh_CN")
    inspector = create_user("inspector", role=Role.STAFF)
    inspector.display_name, inspector.locale = "刘老师", "zh_CN"
    earlier = services.create_round(date.today() - timedelta(days=14), [building], [inspector], title="第10周检查")
    items = services.checklist()
    services.save_floor(earlier, rooms["301"].floor, {
        rooms[n].id: services.RoomEntry(points={i.id: str(i.max_points - d) for i, d in zip(items, deduct)})
        for n, deduct in (("301", [2, 0, 3, 0, 0, 0]), ("302", [8, 10, 5, 5, 8, 0]), ("304", [10, 10, 5, 5, 10, 5]))},
        actor=inspector)
    the_round = services.create_round(date.today(), [building], [inspector], title="第12周检查")
    db.session.commit()
    return {"round": the_round, "rooms": rooms, "items": items}


def test_an_inspector_scores_a_floor_on_a_phone(browser, live_server, floor_to_inspect):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, "inspector")
        page.goto(f"{live_server}/hygiene/rounds/{floor_to_inspect['round'].id}")
        page.locator("[data-testid=floors] a").first.click()
        page.wait_for_selector("[data-testid=floor-form]")
        assert page.locator("[data-room='A1-305'][data-closed]").count() == 1  # closed: no inputs
        assert page.locator("[data-room='A1-305'] input").count() == 0

        items = floor_to_inspect["items"]
        rooms = floor_to_inspect["rooms"]

        def card(number):
            return page.locator(f"[data-room='A1-{number}']")

        def fill(number, points):
            for item, value in zip(items, points):
                card(number).locator(f"input[name='p-{rooms[number].id}-{item.id}']").fill(str(value))

        card("301").locator("button.full-marks").click()  # then take off two points for the balcony
        card("301").locator(f"input[name='p-{rooms['301'].id}-{items[3].id}']").fill("13")
        fill("302", [16, 18, 12, 13, 17, 10])
        fill("304", [10, 12, 8, 9, 10, 5])
        card("304").locator(f"input[name='note-{rooms['304'].id}']").fill("地面有垃圾，阳台堆放杂物")
        card("303").locator("input.absent").check()
        assert "98" in card("301").locator("[data-testid=total]").inner_text()  # the live total
        assert card("304").locator("[data-band=fail]").count() == 1
        page.click("button:has-text('保存本层')")
        page.wait_for_selector(".alert-success")
        assert "已保存 4 间宿舍的得分" in page.locator(".alert-success").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert card("302").locator("[data-band=pass]").count() == 1  # 86: saved and shown again
        # As tall as the page, so that the sticky save button sits at the end of the picture.
        page.set_viewport_size({"width": 390, "height": page.evaluate("document.documentElement.scrollHeight")})
        readme_screenshot(page, "hygiene-floor")
    finally:
        context.close()

    db.session.rollback()  # read what the server committed
    saved = {i.room.number: i for i in db.session.scalars(
        sa.select(RoomInspection).where(RoomInspection.round_id == floor_to_inspect["round"].id))}
    assert {n: (i.total, i.absent) for n, i in saved.items()} == {
        "301": (98, False), "302": (86, False), "303": (None, True), "304": (54, False)}
    assert saved["304"].note == "地面有垃圾，阳台堆放杂物"
    assert "306" not in saved  # left blank: not inspected yet
