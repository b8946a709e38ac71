"""The real app in headless Chromium (Debian's, through Playwright): what people actually do."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dorms.core.enums import Gender, GenderPolicy, Role
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.residence.models import Assignment

from .browsing import loaded_width, readme_screenshot, sign_in
from .factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def campus(create_building, create_room, create_student, create_user):
    building = create_building("A1", gender_policy=GenderPolicy.MALE, name="桃李苑1号楼")
    full = create_room(building, "101", capacity=2)
    free = create_room(building, "102", capacity=4)
    resident = create_student("2024000001", name="王小明", gender=Gender.MALE)
    neighbour = create_student("2024000002", name="李大壮", gender=Gender.MALE)
    newcomer = create_student("2024000003", name="张新生", gender=Gender.MALE)
    residence.assign(resident, full.beds[0], reason="intake")
    residence.assign(neighbour, full.beds[1], reason="intake")
    db.session.commit()
    return {
        "free_room": free, "newcomer": newcomer, "resident": resident, "neighbour": neighbour,
        "staff": create_user("staff", role=Role.STAFF),
        "student": create_user(resident.student_number, role=Role.STUDENT, student=resident),
    }


def test_staff_find_a_free_bed_and_assign_a_student(page, live_server, campus):
    sign_in(page, live_server, "staff")
    page.click("nav >> text=Rooms")
    page.check("input[name=free]")
    page.click("button:has-text('Search')")
    results = page.locator("[data-testid=room-results]")
    assert "A1-102" in results.inner_text() and "A1-101" not in results.inner_text()
    results.locator("a:has-text('A1-102')").click()

    bed = page.locator("tr[data-bed='1']")
    bed.locator("input[name=student_number]").fill(campus["newcomer"].student_number)
    bed.locator("input[name=reason]").fill("New intake 2026")
    bed.locator("button:has-text('Assign')").click()

    page.wait_for_selector("text=now lives in A1-102-1")
    assert "张新生" in page.locator("tr[data-bed='1']").inner_text()
    db.session.rollback()  # end our snapshot: read what the other side committed
    assert residence.current_assignment(campus["newcomer"]).bed.code == "A1-102-1"


def test_a_refused_assignment_shows_the_reason_in_the_page(page, live_server, campus, create_student):
    woman = create_student("2024000009", name="赵小红", gender=Gender.FEMALE)
    db.session.commit()
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/rooms/{campus['free_room'].id}")
    bed = page.locator("tr[data-bed='2']")
    bed.locator("input[name=student_number]").fill(woman.student_number)
    bed.locator("input[name=reason]").fill("test")
    bed.locator("button:has-text('Assign')").click()
    assert "houses male students" in page.locator(".alert-danger").inner_text()


def test_a_student_sees_only_their_own_bed(page, live_server, campus):
    sign_in(page, live_server, campus["student"].username)
    assert page.url.endswith(f"/students/{campus['resident'].id}")
    current = page.locator("[data-testid=current-bed]").inner_text()
    assert "A1-101-1" in current and "李大壮" in current  # their bed and their roommate
    assert page.locator("nav >> text=Rooms").count() == 0
    assert page.goto(f"{live_server}/students/{campus['neighbour'].id}").status == 404
    assert page.goto(f"{live_server}/rooms").status == 403
    assert page.goto(f"{live_server}/audit/").status == 403


def test_the_page_renders_in_chinese_when_chosen(page, live_server, campus):
    sign_in(page, live_server, "staff")
    page.click("button:has-text('简体中文')")
    page.wait_for_selector("text=入住情况")
    readme_screenshot(page, "dashboard")  # docs/screenshot-dashboard.png
    assert page.locator("html").get_attribute("lang") == "zh-Hans-CN"
    assert "退出登录" in page.locator("nav").inner_text()
    page.goto(f"{live_server}/rooms/{campus['free_room'].id}")
    assert "空闲" in page.content()
    # The choice is the account's: it holds in a new browser session too.
    page.context.clear_cookies()
    sign_in_chinese = page.goto(f"{live_server}/login")
    assert sign_in_chinese.status == 200
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=入住情况")


def test_the_dashboard_chart_and_phone_layout(browser, live_server, campus):
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server, "staff")
    assert page.locator(".chart svg").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_staff_run_an_allocation_apply_it_and_roll_it_back(page, live_server, campus):
    sign_in(page, live_server, "staff")
    page.click("nav >> text=Allocation")
    page.select_option("select[name=mode]", "intake")
    page.fill("input[name=time_limit]", "2")
    page.click("button:has-text('Start a run')")
    page.wait_for_selector("[data-testid=run-status]:has-text('Proposal ready')", timeout=60_000)
    moves = page.locator("[data-testid=moves]").inner_text()
    assert "张新生" in moves and "New: had no bed" in moves
    assert "1 student changes bed" in page.locator("[data-testid=apply-form]").inner_text()
    page.check("#confirm-apply")  # the box says how many change bed; the server wants it ticked
    page.click("button:has-text('Apply this proposal')")
    page.wait_for_selector("text=students changed bed")
    assert "Applied" in page.locator("[data-testid=run-status]").inner_text()
    db.session.rollback()  # end our snapshot: read what the server committed
    assert residence.current_assignment(campus["newcomer"]) is not None
    assert "1 student goes back" in page.locator("[data-testid=rollback-form]").inner_text()
    page.check("#confirm-rollback")
    page.click("button:has-text('Roll back')")
    page.wait_for_selector("text=back where they were")
    assert "Rolled back" in page.locator("[data-testid=run-status]").inner_text()
    db.session.rollback()
    assert residence.current_assignment(campus["newcomer"]) is None


def test_a_student_asks_to_move_and_a_requests_round_grants_it(page, live_server, campus):
    sign_in(page, live_server, campus["student"].username)
    page.click("nav >> text=Room change")
    page.select_option("select[name='choices-0-target']", "room")
    page.fill("input[name='choices-0-room']", "A1-102")
    page.fill("#move-reason", "My roommate snores")
    page.click("[data-testid=move-form] button[type=submit]")
    page.wait_for_selector("text=Your request is in")
    assert "Waiting for the next round" in page.locator("[data-testid=live-request]").inner_text()

    page.context.clear_cookies()
    sign_in(page, live_server, "staff")
    page.click("nav >> text=Allocation")
    page.select_option("select[name=mode]", "requests")
    page.click("button:has-text('Start a run')")
    page.wait_for_selector("[data-testid=run-status]:has-text('Proposal ready')", timeout=60_000)
    assert "Granted" in page.locator("[data-testid=round-outcomes]").inner_text()
    assert "Request granted" in page.locator("[data-testid=moves]").inner_text()
    page.check("#confirm-apply")
    page.click("button:has-text('Apply this proposal')")
    page.wait_for_selector("text=students changed bed")

    page.context.clear_cookies()
    sign_in(page, live_server, campus["student"].username)
    page.click("nav >> text=Room change")
    assert "A1-102-" in page.locator("[data-testid=my-bed]").inner_text()
    assert "Granted" in page.locator("[data-testid=request-history]").inner_text()


def test_a_student_asks_for_late_return_on_a_phone_and_the_counselor_approves(browser, page, live_server, campus,
                                                                             create_user):
    create_user("counselor", role=Role.COUNSELOR, classes=[campus["resident"].class_name])
    phone = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = phone.new_page()
    mobile.set_default_timeout(15_000)
    sign_in(mobile, live_server, campus["resident"].student_number)
    mobile.goto(f"{live_server}/curfew/requests")
    mobile.select_option("select[name=kind]", "late")
    mobile.fill("input[name=first_night]", date.today().isoformat())
    mobile.fill("input[name=expected_return]", "23:40")
    mobile.fill("textarea[name=reason]", "图书馆闭馆后返回")
    mobile.click("form[data-testid=request-form] button[type=submit]")
    mobile.wait_for_selector("[data-testid=my-requests] [data-status=pending]")
    assert mobile.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    sign_in(page, live_server, "counselor")
    page.click("nav >> text=Requests")
    page.fill("[data-testid=requests] textarea[name=comment]", "注意安全")
    page.click("[data-testid=requests] button:has-text('Approve')")
    page.wait_for_selector("text=Approved.")
    mobile.reload()
    mobile.wait_for_selector("[data-testid=my-requests] [data-status=approved]")
    assert "注意安全" in mobile.inner_text("[data-testid=my-requests]")
    phone.close()


def test_a_counselor_opens_on_last_night_and_reads_the_report(browser, page, live_server, campus, create_user):
    from dorms.access.ingest import IncomingEvent, Report, store_events
    from dorms.access.models import Card
    from dorms.access.reports import last_finished_night
    from dorms.students.models import Term

    night = last_finished_night()
    db.session.add(Term(code="now", name="Current term", starts_on=night - timedelta(days=30),
                        ends_on=night + timedelta(days=30)))
    for student in (campus["resident"], campus["neighbour"]):
        db.session.add(Card(number=student.student_number, student_id=student.id))
        for assignment in db.session.scalars(sa.select(Assignment).where(Assignment.student_id == student.id)):
            assignment.started_at = datetime.now(UTC) - timedelta(days=40)
    zone = ZoneInfo("Asia/Shanghai")
    back = datetime.combine(night + timedelta(days=1), datetime.min.time(), tzinfo=zone) + timedelta(minutes=40)
    db.session.flush()
    store_events([IncomingEvent("b1", campus["resident"].student_number, "A1", "A1-1", back, "in", True)], Report())
    db.session.commit()
    create_user("counselor", role=Role.COUNSELOR, classes=[campus["resident"].class_name])
    sign_in(page, live_server, "counselor")
    assert page.locator("[data-testid=last-night] [data-status=late]").count() == 1
    page.click("text=The whole report")
    row = page.locator(f"tr[data-student='{campus['resident'].student_number}']")
    assert row.locator("[data-status=late]").count() == 1 and "00:40" in row.inner_text()
    assert page.locator(f"tr[data-student='{campus['neighbour'].student_number}'] "
                        "[data-status=absent_no_events]").count() == 1
    assert page.locator("[data-testid=trend] svg").count() == 1


def test_a_student_reports_a_broken_air_conditioner_from_a_phone_with_a_photo(browser, live_server, campus, tmp_path):
    import io

    from PIL import Image

    from dorms.facilities import services as inventory
    from dorms.facilities.models import ItemKind, RepairTicket

    room = residence.current_assignment(campus["resident"]).bed.room
    air_conditioner = inventory.add_item(room, ItemKind.AIR_CONDITIONER, asset_label="KT-A1-101")
    db.session.commit()
    photo = tmp_path / "空调.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 200)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())

    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        sign_in(phone, live_server, campus["student"].username)
        phone.click("button.navbar-toggler")
        phone.wait_for_selector(".navbar-collapse.show")  # opened, not still sliding: the link stays where it is
        phone.click("nav >> a[href='/repairs/mine']")
        phone.wait_for_url("**/repairs/mine")
        form = phone.locator("[data-testid=report-fault]")
        form.locator("select[name=item]").select_option(str(air_conditioner.id))
        form.locator("textarea[name=description]").fill("空调不制冷，开机后只吹热风")
        form.locator("input[name=photos]").set_input_files(str(photo))
        form.locator("button[type=submit]").click()
        phone.wait_for_selector("text=Saved.")
        assert "空调不制冷" in phone.locator("[data-testid=tickets]").inner_text()
        phone.locator("[data-testid=tickets] a").first.click()
        image = phone.locator("[data-testid=photos] img")
        assert loaded_width(image) == 640
    finally:
        context.close()
    db.session.rollback()
    ticket = db.session.scalar(sa.select(RepairTicket))
    assert ticket.item.asset_label == "KT-A1-101" and len(ticket.photos) == 1
