"""Violations in headless Chromium: staff record one with a photo and notify; the student appeals on a phone."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from dorms.extensions import db
from dorms.violations.models import Severity, Violation, ViolationStatus, ViolationType

from .browsing import loaded_width, sign_in
from .test_browser import campus  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_staff_record_and_notify_then_the_student_appeals_on_a_phone(browser, page, live_server, campus,  # noqa: F811
                                                                      tmp_path):
    db.session.add(ViolationType(name="违规电器", severity=Severity.SERIOUS))
    db.session.commit()
    photo = tmp_path / "电热锅.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())

    sign_in(page, live_server, "staff")
    page.click("nav >> text=Residence")
    page.click("nav >> .dropdown-item:has-text('Violations')")
    page.click("main >> text=Record a violation")
    page.fill("#student_numbers", campus["resident"].student_number)
    page.fill("#room_code", "A1-101")
    page.select_option("#type_id", label="违规电器 (Serious)")
    page.fill("#occurred_on", "2026-01-05")
    page.fill("#description", "床下发现电热锅一只")
    page.set_input_files("#photos", str(photo))
    page.click("main button:has-text('Record')")
    page.wait_for_selector("text=Saved.")
    evidence = page.locator("[data-testid=photos] img")
    # The thumbnail loads lazily, maybe after "Saved." shows: wait for it to load or fail.
    assert loaded_width(evidence) == 64
    page.select_option("#status", "notified")
    page.fill("#note", "已当面告知")
    page.click("[data-testid=move] button")
    page.wait_for_selector("[data-event=notified]")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US")
    student_page = phone.new_page()
    try:
        sign_in(student_page, live_server, campus["student"].username)
        student_page.goto(f"{live_server}/violations/")
        student_page.click("[data-testid=violations] a")
        student_page.fill("#reason", "电热锅是上一届同学留下的")
        student_page.click("[data-testid=appeal-form] button")
        student_page.wait_for_selector("[data-event=appealed]")
        assert student_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        phone.close()
    db.session.rollback()
    violation = db.session.query(Violation).one()
    assert violation.status == ViolationStatus.APPEALED and violation.appeal_reason == "电热锅是上一届同学留下的"
