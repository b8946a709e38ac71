"""Say it in the reader's language and mean what it says: stored words shown translated, charts from 0, a favicon."""
import contextlib
import re

import pytest
from flask_babel import force_locale

from dorms.audit.models import AuditEntry
from dorms.extensions import db
from dorms.core.enums import RoomStatus
from dorms.residence.models import CHECK_OUT_REASON, ROOM_CHANGE_REASON, reason_label


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


@contextlib.contextmanager
def _in_chinese(app):
    with app.test_request_context(), force_locale("zh_CN"):
        yield


def test_empty_charts_count_from_zero(app):
    from dorms.access.charts import curfew_trend_chart
    from dorms.checkin.charts import progress_chart
    from dorms.violations.charts import per_month_by_type

    with app.test_request_context():
        for svg in (per_month_by_type({"2026-09": {}, "2026-10": {}}), curfew_trend_chart([], {}, {}),
                    progress_chart([])):
            numbers = [t for t in _texts(svg) if re.fullmatch(r"[−-]?[\d.]+", t)]
            assert numbers == ["0", "1"], numbers  # no negative axis, no fractions of a student


def test_stored_reasons_are_shown_translated_and_typed_ones_as_typed(app):
    with _in_chinese(app):
        assert reason_label(CHECK_OUT_REASON) == "退宿"
        assert reason_label(ROOM_CHANGE_REASON) == "换宿"
        assert reason_label("与室友作息不一致") == "与室友作息不一致" and reason_label(None) == ""
    with app.test_request_context():
        assert reason_label(CHECK_OUT_REASON) == "Check-out"


@pytest.mark.parametrize("action, details, english, chinese", [
    ("allocation.apply", {"run": 2, "moves": 4}, "run #2: 4 students changed bed", "第 2 次分配：4 名学生更换床位"),
    ("hygiene.checklist", {"items": [["地面", 20], ["床铺", 30]]}, "items: 地面 (20), 床铺 (30)", "项目：地面 (20), 床铺 (30)"),
    ("room.status", {"room_code": "A1-101", "old": "open", "new": "closed"}, "A1-101: Open → Closed", None),
    ("hygiene.round.status", {"round": 3, "status": "closed"}, "round: 3; status: Closed for scoring", None),
    ("roomchange.answer", {"request": 5, "accepted": True}, "request: 5; accepted: yes", "申请：5；已接受：是"),
    ("checkin.resolve", {"item": "床", "old": "broken", "new": "good"}, "item: 床; before: Broken; now: Good",
     "物品：床；之前：损坏；至今：完好"),
])
def test_audit_details_read_as_sentences(app, action, details, english, chinese):
    import dorms.checkin.models  # noqa: F401  (registers its words with the audit log)
    import dorms.hygiene.models  # noqa: F401
    from dorms.audit.describe import describe

    entry = AuditEntry(action=action, details=details)
    with app.test_request_context():
        assert describe(entry) == english
    with _in_chinese(app):
        said = describe(entry)
        assert "=" not in said and "['" not in said and not re.search(r"\b(run|moves|status|closed|open)\b", said)
        if chinese:
            assert said == chinese


def test_token_scopes_are_named_in_the_reader_language(app, client, login, create_user):
    from dorms.access import tokens
    from dorms.core.enums import Role

    tokens.create_token("门禁系统", tokens.RESIDENTS_SCOPE)
    login(create_user("staff", role=Role.STAFF))
    client.post("/language/zh_CN")
    page = client.get("/curfew/integrations").get_data(as_text=True)
    assert "residents:read" not in page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def test_a_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="/static/favicon.ico', page)
    assert client.get("/static/favicon.ico").status_code == 200


def test_a_person_is_named_by_full_name_in_chinese(app, client, login, create_user, create_student):
    from dorms.core.enums import Role

    create_student("2024000001", name="王小明")
    login(create_user("staff", role=Role.STAFF))
    client.post("/language/zh_CN")
    header = client.get("/students/").get_data(as_text=True).split("</thead>", 1)[0]
    assert "姓名" in header and "名称" not in header


def test_room_codes_are_read_without_letter_case(app, create_building, create_room):
    from dorms.residence.occupancy import RoomFilters, search_rooms

    building = create_building("A1")
    create_room(building, "101A", capacity=2)
    assert [row.room.code for row in search_rooms(RoomFilters(number="101a"))] == ["A1-101A"]


@pytest.mark.commits  # the command solves in a transaction of its own
def test_the_command_line_reads_building_codes_without_letter_case(app, create_building):
    create_building("A1")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["allocation", "start", "intake", "--building", "a1",
                                                "--time-limit", "1"])
    assert result.exit_code == 0 and "no building" not in result.output, result.output


def test_every_detail_the_audit_log_keeps_has_a_name_in_the_reader_language():
    import ast
    from pathlib import Path

    import dorms
    from dorms.audit.describe import DETAIL_LABELS

    kept = set()
    for path in Path(dorms.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                    and getattr(node.func.value, "id", None) == "audit":
                kept |= {k.arg for k in node.keywords if k.arg}
    kept |= {"repair_tickets", "check_ins", "hygiene_inspections", "violations"}  # the demo's **records
    assert kept - {"student", "room", "reason", "actor"} - set(DETAIL_LABELS) == set()


def test_every_stage_a_run_reports_has_a_label():
    from pathlib import Path

    import dorms
    from dorms.allocation.models import STAGE_LABELS

    root = Path(dorms.__file__).parent
    reported = set(re.findall(r'report\("(\w+)"', (root / "solver" / "pipeline.py").read_text()))
    for line in (root / "allocation" / "services.py").read_text().splitlines():
        if "run.stage" in line and " = " in line:  # what a run says before and after the solver's stages
            reported |= set(re.findall(r'"(\w+)"', line.split(" = ", 1)[1]))
    assert {"reading", "improving", "done"} <= reported and reported <= set(STAGE_LABELS)
