"""The night report on a phone, in Chinese, in headless Chromium: summaries first, no sideways scrolling."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dorms.access.ingest import IncomingEvent, Report, store_events
from dorms.access.models import Card
from dorms.access.reports import last_finished_night
from dorms.core.enums import Gender, GenderPolicy, Role
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.residence.models import Assignment
from dorms.students.models import Term

from .browsing import sign_in

pytestmark = pytest.mark.browser


def test_the_night_report_on_a_phone_shows_summaries_first_and_fits_the_screen(browser, live_server, create_building,
                                                                              create_room, create_student, create_user):
    night = last_finished_night()
    db.session.add(Term(code="now", name="本学期", starts_on=night - timedelta(days=30),
                        ends_on=night + timedelta(days=30)))
    building = create_building("A1", gender_policy=GenderPolicy.MALE, name="桃李苑1号楼")
    rooms = [create_room(building, f"1{n:02d}", capacity=4) for n in range(4)]
    zone = ZoneInfo("Asia/Shanghai")
    evening = datetime.combine(night, datetime.min.time(), tzinfo=zone) + timedelta(hours=21)
    events = []
    for n in range(14):
        student = create_student(f"20240001{n:02d}", name=f"学生{n}", gender=Gender.MALE,
                                 class_name="计算机科学与技术2401班" if n < 7 else "软件工程2402班")
        residence.assign(student, rooms[n // 4].beds[n % 4], reason="intake")
        db.session.add(Card(number=student.student_number, student_id=student.id))
        if n % 3:  # a third have no swipe; a third went out at 21:00 (absent, last seen then); a third are in
            events.append(IncomingEvent(f"p{n}", student.student_number, "A1", "A1-北门-学生公寓闸机-通道3",
                                        evening + timedelta(minutes=n), "out" if n % 3 == 1 else "in", True))
    db.session.execute(sa.update(Assignment).values(started_at=datetime.now(UTC) - timedelta(days=40)))
    db.session.flush()
    store_events(events, Report())
    staff = create_user("staff", role=Role.STAFF)
    staff.locale = "zh_CN"
    db.session.commit()

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    sign_in(phone, live_server, "staff")
    phone.goto(f"{live_server}/curfew/?night={night}")
    totals, summaries, rows = (phone.locator(f"[data-testid={name}]").bounding_box()
                               for name in ("totals", "summaries", "report"))
    assert totals["y"] < rows["y"] and summaries["y"] < rows["y"]  # the summaries before the fourteen rows
    assert "按班级" in phone.inner_text("[data-testid=summaries]")
    card = phone.locator("[data-testid=report] tbody tr").first  # a row is a card as wide as the screen at most
    assert card.locator("[data-status]").is_visible() and card.bounding_box()["width"] <= 390
    went_out = phone.locator("[data-testid=report] tbody tr:has([data-status=absent_left])").first
    seen = went_out.locator("td").last.bounding_box()
    assert "A1-北门" in went_out.inner_text()
    assert seen["x"] + seen["width"] <= 390  # the last-seen cell is on the screen, not beyond a sideways scroll
    # Rows that need nothing are one line: their details are a tap away, on the student's record.
    quiet = phone.locator("[data-testid=report] tr:has([data-status=in])").first
    assert quiet.locator("td").nth(1).is_hidden() and quiet.bounding_box()["height"] < 40
    assert phone.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")
    context.close()
