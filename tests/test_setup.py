"""First run: the default checklist and violation types, rounds refused without a checklist, the set-up checklist
and its template spreadsheets."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from dorms.access import ingest
from dorms.access.models import ApiToken, Card
from dorms.cli import ensure_defaults
from dorms.core.enums import Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.hygiene import services as hygiene
from dorms.hygiene.models import ChecklistItem, InspectionRound
from dorms.pages import setup
from dorms.students.models import Student, Term
from dorms.transfer import importing
from dorms.violations import services as violations
from dorms.violations.models import Severity, ViolationType

ENGLISH_CHECKLIST = [("Clean floor", 20), ("Beds made", 20), ("Tidy desks", 15), ("Balcony", 15), ("Bathroom", 20),
                     ("No banned items", 10)]
CHINESE_CHECKLIST = [("地面", 20), ("床铺", 20), ("桌面", 15), ("阳台", 15), ("卫生间", 20), ("无违禁物品", 10)]


def _checklist() -> list[tuple[str, int]]:
    return [(item.name, item.max_points) for item in hygiene.checklist()]


def _types() -> list[tuple[str, Severity, bool]]:
    return [(t.name, t.severity, t.active) for t in db.session.scalars(sa.select(ViolationType).order_by(ViolationType.id))]


# --- the defaults --------------------------------------------------------------------------------------------


def test_defaults_are_seeded_once_in_the_install_language(app):
    assert ensure_defaults() == {"checklist_items": 6, "violation_types": 8, "schedules": 9}
    assert _checklist() == ENGLISH_CHECKLIST
    assert hygiene.checklist_problem() is None
    assert [name for name, _severity, _active in _types()][:4] == [
        "Banned electrical appliances", "Smoking", "Overnight guests", "Late return"]
    assert ensure_defaults() == {"checklist_items": 0, "violation_types": 0, "schedules": 0}
    assert len(db.session.scalars(sa.select(ChecklistItem)).all()) == 6 and len(_types()) == 8


def test_a_chinese_install_gets_chinese_defaults(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"  # the fixture puts it back
    ensure_defaults()
    assert _checklist() == CHINESE_CHECKLIST == hygiene.default_checklist("zh_CN")
    assert _types()[:3] == [("违规电器", Severity.SERIOUS, True), ("吸烟", Severity.SERIOUS, True),
                            ("留宿外人", Severity.GRAVE, True)]
    assert {name for name, _s, _a in _types()} == {name for name, _s in violations.default_types("zh_CN")}


def test_the_office_s_edits_survive_running_the_defaults_again(app):
    ensure_defaults()
    items = hygiene.checklist()
    rows = [hygiene.ItemRow("地面卫生", 30, items[0].id), hygiene.ItemRow("", 20, items[1].id, remove=True)]
    rows += [hygiene.ItemRow(i.name, i.max_points, i.id) for i in items[2:]]  # 30 + 15 + 15 + 20 + 10 = 90
    rows.append(hygiene.ItemRow("门窗", 10))
    hygiene.set_checklist(rows)
    smoking = db.session.scalar(sa.select(ViolationType).where(ViolationType.name == "Smoking"))
    violations.update_type(smoking, "吸烟（含电子烟）", Severity.GRAVE)
    pets = db.session.scalar(sa.select(ViolationType).where(ViolationType.name == "Keeping pets"))
    violations.remove_type(pets)
    edited_checklist, edited_types = _checklist(), _types()

    assert ensure_defaults() == {"checklist_items": 0, "violation_types": 0, "schedules": 0}
    assert _checklist() == edited_checklist and ("地面卫生", 30) in edited_checklist
    assert _types() == edited_types and ("吸烟（含电子烟）", Severity.GRAVE, True) in edited_types
    assert "Keeping pets" not in [name for name, _s, _a in _types()]

    # A catalogue the office emptied on purpose stays empty.
    for vtype in db.session.scalars(sa.select(ViolationType)).all():
        violations.remove_type(vtype)
    assert ensure_defaults() == {"checklist_items": 0, "violation_types": 0, "schedules": 0} and _types() == []


def test_db_upgrade_seeds_the_defaults(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "6 hygiene checklist items, 8 violation types and 9 job schedules added" in result.output
    assert _checklist() == ENGLISH_CHECKLIST and len(_types()) == 8
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0 and "added" not in again.output
    assert len(_types()) == 8


# --- a round needs a complete checklist ---------------------------------------------------------------------


@pytest.fixture
def round_site(create_building, create_room, create_user):
    building = create_building("A1")
    create_room(building, "101")
    return {"building": building, "inspector": create_user("inspector", role=Role.STAFF)}


def test_a_round_is_refused_while_the_checklist_is_incomplete(app, round_site):
    args = (date.today(), [round_site["building"]], [round_site["inspector"]])
    with pytest.raises(ServiceError, match="The hygiene checklist is empty"):
        hygiene.create_round(*args)
    db.session.add(ChecklistItem(name="地面", max_points=60, position=1))
    db.session.flush()
    with pytest.raises(ServiceError, match="maxima add up to 60, not 100"):
        hygiene.create_round(*args)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectionRound)) == 0
    db.session.add(ChecklistItem(name="床铺", max_points=40, position=2))
    db.session.flush()
    assert hygiene.create_round(*args).id


def test_the_rounds_page_refuses_and_points_at_the_checklist(app, client, login, round_site):
    login(round_site["inspector"])
    page = client.get("/hygiene/rounds").get_data(as_text=True)
    assert 'data-testid="checklist-incomplete"' in page and 'href="/hygiene/checklist"' in page
    response = client.post("/hygiene/rounds", follow_redirects=True, data={
        "inspected_on": date.today().isoformat(), "buildings": [str(round_site["building"].id)],
        "inspectors": [str(round_site["inspector"].id)]})
    page = response.get_data(as_text=True)
    assert "The hygiene checklist is empty" in page and 'href="/hygiene/checklist"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectionRound)) == 0
    hygiene.ensure_default_checklist()
    db.session.commit()
    assert 'data-testid="checklist-incomplete"' not in client.get("/hygiene/rounds").get_data(as_text=True)


def test_an_empty_checklist_page_offers_the_usual_checklist(app, client, login, round_site):
    login(round_site["inspector"])
    page = client.get("/hygiene/checklist").get_data(as_text=True)
    assert 'data-testid="checklist-suggested"' in page and page.count('data-testid="suggested-item"') == 6
    assert hygiene.checklist() == []  # only offered: looking saves nothing
    form = {"row": [str(n) for n in range(1, 7)]}
    for n, (name, points) in enumerate(ENGLISH_CHECKLIST, start=1):
        assert f'name="name-{n}" value="{name}"' in page
        form |= {f"name-{n}": name, f"max-{n}": str(points)}
    client.post("/hygiene/checklist", data=form)
    assert _checklist() == ENGLISH_CHECKLIST
    assert "checklist-suggested" not in client.get("/hygiene/checklist").get_data(as_text=True)


# --- the set-up checklist -----------------------------------------------------------------------------------


def _steps(page: str) -> dict[str, str]:
    found = {}
    for key in ("campus", "rooms", "students", "accounts", "terms", "doors"):
        marker = f'data-testid="setup-step-{key}" data-done="'
        if marker in page:
            found[key] = page.split(marker, 1)[1][:3].rstrip('"')
    return found


def test_an_empty_install_opens_on_the_set_up_checklist(app, client, login, create_user):
    login(create_user("admin", role=Role.STAFF))
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="setup-checklist"' in page
    assert _steps(page) == dict.fromkeys(("campus", "rooms", "students", "accounts", "terms", "doors"), "no")
    for href in ("/import", "/curfew/rules", "/curfew/integrations", "/setup/templates/rooms-zh.xlsx",
                 "/setup/templates/students-en.csv", "/setup/templates/cards-zh.csv"):
        assert f'href="{href}"' in page


def test_the_set_up_checklist_speaks_chinese(app, client, login, create_user):
    staff = create_user("admin", role=Role.STAFF)
    staff.locale = "zh_CN"
    db.session.commit()
    login(staff)
    page = client.get("/").get_data(as_text=True)
    for text in ("初始设置清单", "已完成 0 / 6 步", "校区：楼栋", "门禁系统", "尚未完成", "中文表头 (XLSX)", "英文表头 (CSV)",
                 "宿管办：1 个，辅导员：0 个，学生账号：0 个"):
        assert text in page


def test_the_checklist_follows_the_data_and_leaves_the_dashboard_once_set_up(
        app, client, login, create_user, create_building, create_room, create_student):
    staff = create_user("admin", role=Role.STAFF)
    login(staff)
    create_room(create_building("A1"), "101", capacity=4)
    student = create_student("2026000001")
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="setup-checklist"' not in page and 'data-testid="setup-link"' in page  # a link only
    assert _steps(client.get("/setup").get_data(as_text=True)) == {
        "campus": "yes", "rooms": "yes", "students": "yes", "accounts": "no", "terms": "no", "doors": "no"}

    create_user("counselor", role=Role.COUNSELOR, classes=["计科2401"])
    db.session.add(Term(code="t", name="t", starts_on=date.today() - timedelta(days=30),
                        ends_on=date.today() + timedelta(days=60)))
    db.session.add(Card(number="1234", student_id=student.id))
    db.session.commit()
    assert _steps(client.get("/setup").get_data(as_text=True))["doors"] == "no"  # cards, but no feed yet
    db.session.add(ApiToken(name="gate", prefix="abc", token_hash="0" * 64))
    db.session.commit()
    assert set(_steps(client.get("/setup").get_data(as_text=True)).values()) == {"yes"}
    page = client.get("/").get_data(as_text=True)
    assert "setup-checklist" not in page and "setup-link" not in page
    assert client.get("/setup").status_code == 200  # still there to look at


def test_only_staff_see_the_set_up_checklist(app, client, login, create_user, create_student):
    assert client.get("/setup").status_code == 302  # to the sign-in page
    assert client.get("/setup/templates/rooms-en.csv").status_code == 302
    login(create_user("counselor", role=Role.COUNSELOR))
    assert client.get("/setup").status_code == 403
    assert client.get("/setup/templates/rooms-en.csv").status_code == 403
    assert "setup-checklist" not in client.get("/").get_data(as_text=True)


# --- templates ----------------------------------------------------------------------------------------------

EXAMPLES = {  # one row for each import, by column name
    "rooms": {"building": "A1", "building_name": "桃李苑1号楼", "campus": "main", "building_gender": "M", "floor": "1",
              "room": "101", "capacity": "4", "type": "standard", "gender": "M", "accessible": "no",
              "status": "open", "bed_type": "loft"},
    "students": {"student_number": "2026000001", "name": "张三", "gender": "男", "college": "计算机学院",
                 "major": "计算机科学与技术", "class": "计科2601", "grade": "2026", "phone": "13800000000",
                 "status": "在读", "needs_accessible": "否", "building": "A1", "room": "101", "bed": "1"},
    "cards": {"card": "0x00BC614E", "pin": "NLVJLA052", "student_number": "2026000001"},
}


def _filled(kind: str, headers: list[str], body: bytes, file_format: str) -> bytes:
    """The downloaded template with one example row under its headers."""
    columns = list(setup.TEMPLATES[kind][0])
    row = [EXAMPLES[kind][columns[position]] for position in range(len(headers))]
    if file_format == "xlsx":
        workbook = load_workbook(io.BytesIO(body))
        workbook.worksheets[0].append(row)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    return body + (",".join(row) + "\r\n").encode()


def _headers(body: bytes, file_format: str) -> list[str]:
    if file_format == "xlsx":
        return [cell.value for cell in load_workbook(io.BytesIO(body)).worksheets[0][1]]
    return next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_every_column_has_a_chinese_and_an_english_header(app):
    for kind in setup.TEMPLATES:
        chinese, english = setup.template_headers(kind, "zh"), setup.template_headers(kind, "en")
        assert english == list(setup.TEMPLATES[kind][0]) == list(EXAMPLES[kind])
        assert len(chinese) == len(english) and all(not h.isascii() for h in chinese)
    assert setup.template_headers("rooms", "zh")[:2] == ["楼栋", "楼栋名称"]
    assert setup.template_headers("cards", "zh") == ["卡号", "人员编号", "学号"]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_the_room_and_student_templates_import_as_they_are_filled(app, client, login, create_user, language,
                                                                  file_format):
    login(create_user("admin", role=Role.STAFF))
    for kind in ("rooms", "students"):
        response = client.get(f"/setup/templates/{kind}-{language}.{file_format}")
        assert response.status_code == 200
        assert f'filename="{kind}-template-{language}.{file_format}"' in response.headers["Content-Disposition"]
        headers = _headers(response.data, file_format)
        assert headers == setup.template_headers(kind, language)
        report = importing.import_file(kind, f"{kind}.{file_format}",
                                       _filled(kind, headers, response.data, file_format))
        assert (report.rows, report.created, report.ignored_columns) == (1, 1, [])
    db.session.flush()
    student = db.session.scalar(sa.select(Student).where(Student.student_number == "2026000001"))
    assert (student.name, student.class_name, student.phone) == ("张三", "计科2601", "13800000000")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_card_template_imports_as_it_is_filled(app, client, login, create_user, create_student, language):
    login(create_user("admin", role=Role.STAFF))
    student = create_student("2026000001")
    db.session.commit()
    response = client.get(f"/setup/templates/cards-{language}.csv")
    headers = _headers(response.data, "csv")
    assert headers == setup.template_headers("cards", language)
    report = ingest.import_cards(_filled("cards", headers, response.data, "csv"))
    assert (report.rows, report.created) == (1, 2)
    assert db.session.execute(sa.select(Card.number, Card.kind, Card.student_id).order_by(Card.number)).all() == [
        ("12345678", "card", student.id), ("NLVJLA052", "pin", student.id)]
    assert client.get(f"/setup/templates/cards-{language}.xlsx").status_code == 404  # the card import reads CSV
    assert client.get("/setup/templates/beds-en.csv").status_code == 404
