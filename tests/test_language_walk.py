"""Every page of the demo campus, for every role in Chinese and the main roles in English: nothing untranslated.

The bulk of the pages is rendered through the test client (the HTML is what the browser gets; the
checks read its visible text and the attributes a reader sees or hears); a few pages per role are
then opened in Chromium, whose text after the scripts ran is checked the same way. One demo campus
is seeded for both languages: seeding it was a fifth of the walk.
Chinese pages may show no English message of the catalogue; no page may show a stored machine word
(`check-out`, `rolled_back`) or a Python value (`['…`, `run=2`, `None`).
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.routing import BuildError

from dorms import jobs
from dorms.access import tokens
from dorms.access.reports import last_finished_night
from dorms.allocation import services as allocation
from dorms.allocation.models import AllocationRun, RunMode
from dorms.auth.models import User
from dorms.campus.models import Building, Floor, Room
from dorms.checkin.models import CheckIn
from dorms.core.clock import utcnow
from dorms.core.enums import Role
from dorms.demo import seed as demo_seed
from dorms.demo.seed import ROLE_PASSWORD, seed_demo
from dorms.extensions import db
from dorms.facilities.models import RepairTicket
from dorms.hygiene.models import InspectionRound
from dorms.jobs.models import Job
from dorms.jobs.schedules import ensure_default_schedules
from dorms.selection import services as selection
from dorms.selection.models import SelectionEvent
from dorms.students.models import Student
from dorms.transfer import exporting
from dorms.transfer import tasks as transfer_tasks
from dorms.violations.models import Violation

from .language_walk import english_fragments, machine_words, untranslated, visible_text

pytestmark = [pytest.mark.commits, pytest.mark.browser]

LANGUAGES = {"zh": "zh_CN", "en": "en"}
BRAND = {"zh": "宿舍管理", "en": "Dormitories"}  # the header of every page


def _demo_login(role: str):
    """The demo's sign-in for ``role`` (DemoLogins' ROLE_username and ROLE_password)."""
    return lambda logins: {"username": getattr(logins, f"{role}_username"),
                           "password": getattr(logins, f"{role}_password")}


def _narrower_login(username: str):
    """The demo's account of a narrower role (ROLE_ACCOUNTS, one password for all)."""
    return lambda logins: {"username": username, "password": ROLE_PASSWORD}


# One entry per role: how it signs in on the demo campus (a function of the DemoLogins seed_demo returns, giving
# {"username", "password"}) and the pages also opened in the browser ({name} is a sample id, see _samples).
ROLES = {
    "staff": (_demo_login("staff"), ["/", "/hygiene/rounds/{round_id}/floors/{floor_id}", "/allocation/runs/{run_id}"]),
    "counselor": (_demo_login("counselor"), ["/", "/curfew/"]),
    "student": (_demo_login("student"), ["/", "/students/me"]),
    "building_manager": (_narrower_login("manager-a1"), ["/checkin/desk"]),
    "inspector": (_narrower_login("inspector1"), ["/hygiene/rounds"]),
    "repair_worker": (_narrower_login("repair1"), ["/repairs"]),
    "auditor": (_narrower_login("auditor1"), ["/accounts/"]),
}

# Pages not worth a walk: files, images, machine endpoints.
SKIPPED = re.compile(r"^/(static|bootstrap|api|iclock)/|/photos/|^/login$|^/language/")
# The arguments of downloads (and pages) that take more than the sample ids.
DOWNLOADS = {"transfer.export": {"kind": "students"}, "setup.template": {"kind": "students", "language": "zh"}, "hygiene.export": {"kind": "classes"},
             "hygiene.ranking": {"kind": "rooms"},
             "checkin.export": {"what": "check-outs"}}
# A student's own pages: not found for anyone else.
STUDENTS_OWN = ("/students/me", "/curfew/me/")
# Pages worth opening with a query as well.
EXTRA = ["/rooms?free=1", "/students/?q=2026", "/audit/?action=allocation.apply", "/curfew/?status=absent",
         "/export/rooms.csv", "/checkin/export/check-ins.csv", "/violations/counts.csv?by=month"]


def _samples() -> dict[str, int | str]:
    """An id for every kind of page argument, from the demo campus."""
    student = db.session.scalar(sa.select(Student).join(User, User.student_id == Student.id)
                                .where(User.role == Role.STUDENT).limit(1))
    first = lambda model, *where: db.session.scalar(sa.select(model.id).where(*where).order_by(model.id).limit(1))
    the_round = db.session.scalar(sa.select(InspectionRound).order_by(InspectionRound.id.desc()).limit(1))
    floor_id = first(Floor, Floor.building_id.in_([b.id for b in the_round.buildings]))
    return {
        "student_id": student.id, "room_id": first(Room), "building_id": first(Building),
        "check_in_id": first(CheckIn), "ticket_id": first(RepairTicket), "violation_id": first(Violation),
        "round_id": the_round.id, "floor_id": floor_id, "run_id": first(AllocationRun),
        "user_id": first(User, User.role == Role.COUNSELOR), "night": last_finished_night().isoformat(),
        "job_id": first(Job), "import_job_id": first(Job, Job.kind == "transfer.import"),
        "export_job_id": first(Job, Job.kind == "transfer.export"),
        "event_id": first(SelectionEvent),
    }


def _pages(app, samples: dict[str, int]) -> list[str]:
    pages = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or SKIPPED.search(rule.rule) or rule.endpoint == "directory.run":
                continue
            # Downloads too, as CSV: a spreadsheet from a page follows the reader's language as the page does.
            values = {**samples, "file_format": "csv", **DOWNLOADS.get(rule.endpoint, {})}
            try:
                pages.append(url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments}))
            except (KeyError, BuildError):
                pages.append(None)
    assert None not in pages, "a page argument without a sample: add it to _samples"
    return sorted(set(pages)) + EXTRA


def _seed(app, monkeypatch) -> object:
    # The demo of a Chinese install, the default: its checklist and violation types are the office's own words,
    # written in Chinese when they were first put in (the tests' app runs in English otherwise).
    # Classes of 10, not 30: every page and kind of record is there, with a third of the rows to render.
    monkeypatch.setattr(demo_seed, "CLASS_SIZE", 10)
    default_locale = app.config["BABEL_DEFAULT_LOCALE"]
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    try:
        logins = seed_demo()
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    db.session.flush()
    # An applied allocation run and a rolled-back one: their pages, and what they leave in history and audit.
    run = allocation.create_run(mode=RunMode.REALLOCATION, building_ids=[], time_limit=1, weights={"move": 30})
    db.session.commit()
    allocation.execute_run(run.id)
    db.session.commit()
    tokens.create_token("门禁系统", tokens.EVENTS_SCOPE)  # the integrations page lists its scope
    if db.session.scalar(sa.select(SelectionEvent.id).limit(1)) is None:  # a selection day being set up
        selection.create_event("2026 秋季选宿", closes_at=utcnow() + timedelta(days=7))
    db.session.commit()
    db.session.commit()  # the demo rolled up its nights, as the morning rollup leaves an install
    # The schedules an install starts with, and a job the morning rollup's schedule would have run.
    ensure_default_schedules()
    job = jobs.enqueue("access.rollup")
    # A large import (a dry run of the rooms as exported) and export as jobs: their pages show the outcome.
    rooms = exporting.export("rooms", "csv", language="zh")
    imported = transfer_tasks.start_import("rooms", "rooms.csv", rooms, dry_run=True, confirm=None, language="zh_CN")
    exported = transfer_tasks.start_export("students", "csv", "zh")
    db.session.commit()
    for queued in (job, imported, exported):
        jobs.perform(queued.id)
    return logins


def _walk(app, logins, pages: list[str], language: str, roles, problems) -> int:
    """Every page through the test client for each of ``roles``; the number of pages read."""
    code, walked = LANGUAGES[language], 0
    for role in roles:
        credentials = ROLES[role][0]
        client = app.test_client()  # the conftest's client class: each request in an app context of its own
        assert client.post("/login", data=credentials(logins)).status_code == 302
        client.post(f"/language/{code}")
        for url in pages:
            response = client.get(url)
            assert response.status_code < 500, f"{role} {url}: {response.status_code}"
            if role == "staff":  # staff see every record: a sample that does not fit its page shows here
                assert response.status_code != 404 or url.startswith(STUDENTS_OWN), url
            if response.status_code in (301, 302, 303) or response.mimetype not in ("text/html", "text/csv"):
                continue
            walked += 1
            if response.mimetype == "text/csv":
                text = response.data.decode("utf-8-sig")
            else:
                text = visible_text(response.get_data(as_text=True))
                if BRAND[language] not in text:  # the page is in the language asked for at all
                    problems[f"not in {language}"].add(f"{role} {url}")
            for problem in untranslated(text, language):
                problems[f"{problem} ({language})"].add(f"{role} {url}")
    return walked


def _browse(browser, live_server, logins, samples, language: str, roles, problems) -> None:
    """The text after the scripts ran, for a few pages of each of ``roles``."""
    code = LANGUAGES[language]
    for role in roles:
        credentials, browser_pages = ROLES[role]
        context = browser.new_context(locale="zh-CN" if language == "zh" else "en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        failed = []  # what the browser asked for on its own and did not get (a favicon, say)
        page.on("response", lambda response, failed=failed: response.status >= 400 and failed.append(response.url))
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", credentials(logins)["username"])
        page.fill("input[name=password]", credentials(logins)["password"])
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        with page.expect_navigation():  # the switcher may sit in the collapsed menu of a phone: submit it
            page.locator(f"form[action$='/language/{code}']").evaluate("form => form.submit()")
        for url in browser_pages:
            url = url.format(**samples)
            assert page.goto(live_server + url).status == 200, url
            for problem in untranslated(page.locator("body").inner_text(), language):
                problems[f"{problem} ({language})"].add(f"{role} {url} (browser)")
        page.goto(live_server + "/favicon.ico")
        context.close()
        for address in failed:
            problems[f"not found: {address}"].add(role)


# Chinese is walked by every role. English, whose check is only for machine words and Python values (which show
# in Chinese as well), by the roles whose pages differ most; its plural forms are the ones Chinese does not have.
ENGLISH_ROLES = ("staff", "counselor", "student")


@pytest.mark.long
def test_every_role_sees_every_page_in_its_language(app, client, browser, live_server, monkeypatch):
    logins = _seed(app, monkeypatch)
    assert len(english_fragments()) > 500 and {"check-out", "rolled_back"} <= machine_words()
    samples = _samples()
    pages = _pages(app, samples)
    problems: dict[str, set[str]] = defaultdict(set)
    assert _walk(app, logins, pages, "zh", ROLES, problems) > 500
    assert _walk(app, logins, pages, "en", ENGLISH_ROLES, problems) > 200
    _browse(browser, live_server, logins, samples, "zh", ROLES, problems)
    _browse(browser, live_server, logins, samples, "en", ("staff",), problems)

    report = "\n".join(f"{problem}: {', '.join(sorted(where)[:4])}" for problem, where in sorted(problems.items()))
    assert not problems, f"shown untranslated:\n{report}"


def test_the_checks_find_what_they_look_for():
    html = ("<p>已离开 <span>check-out</span></p><p title='Roll back'>回滚</p><p>run=2, moves=4</p>"
            "<script>var x = 'Roll back';</script><p>['A1-101']</p>")
    found = untranslated(visible_text(html), "zh")
    assert "machine word: 'check-out'" in found and "English: 'Roll back'" in found
    assert "English word: 'improving'" in untranslated(visible_text("<div>improving</div>"), "zh")
    assert "machine word: 'student_number'" in untranslated("student_number,name\r\n2024000001,王小明", "zh")
    assert any("run=2" in f for f in found) and any("['" in f for f in found)
    assert untranslated(visible_text("<p>Roll back A1-101 None</p>"), "en") == []
    assert untranslated(visible_text("<p>房间 A1-101 的学生 2024000001</p>"), "zh") == []
