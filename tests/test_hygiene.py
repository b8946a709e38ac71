"""Hygiene inspections: the checklist and bands, scoring a floor, refusals, rankings, scoped views, exports."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from dorms.campus.models import Room
from dorms.core.clock import utcnow
from dorms.core.enums import Gender, Role, RoomStatus
from dorms.extensions import db
from dorms.hygiene import reports, services
from dorms.hygiene.models import (
    ChecklistItem,
    InspectionResident,
    InspectionRound,
    ItemScore,
    RoomInspection,
    RoundStatus,
)
from dorms.residence import services as residence


@pytest.fixture
def site(create_building, create_room, create_student, create_user):
    """A1 floor 3: 301 (two 计科2401 and one 软工2402), 302 (one 软工2402), 303 closed; floor 4: 401."""
    building = create_building("A1", name="桃李苑1号楼")
    rooms = {n: create_room(building, n, floor=int(n[0]), capacity=4) for n in ("301", "302", "304", "401")}
    rooms["303"] = create_room(building, "303", floor=3, status=RoomStatus.CLOSED)
    cs1 = create_student("2024000101", name="王小明", class_name="计科2401")
    cs2 = create_student("2024000102", name="李大壮", class_name="计科2401")
    se1 = create_student("2024000103", name="赵一", class_name="软工2402")
    se2 = create_student("2024000104", name="钱二", class_name="软工2402")
    for student, room, bed in ((cs1, "301", 0), (cs2, "301", 1), (se1, "301", 2), (se2, "302", 0)):
        residence.assign(student, rooms[room].beds[bed], reason="intake")
    items = services.ensure_default_checklist("zh_CN")
    inspector = create_user("inspector", role=Role.STAFF)
    other_staff = create_user("office", role=Role.STAFF)
    the_round = services.create_round(date.today(), [building], [inspector], title="第12周")
    db.session.commit()
    return {"building": building, "rooms": rooms, "items": items, "round": the_round, "inspector": inspector,
            "other_staff": other_staff, "students": [cs1, cs2, se1, se2], "create_user": create_user}


def _form(site, scores: dict[str, list], *, absent=(), notes=None) -> dict:
    """The floor form: room number -> points per checklist item (in order)."""
    data: dict = {"room": []}
    for number, points in scores.items():
        room = site["rooms"][number]
        data["room"].append(str(room.id))
        for item, value in zip(site["items"], points):
            data[f"p-{room.id}-{item.id}"] = str(value)
        if number in absent:
            data[f"absent-{room.id}"] = "y"
        data[f"note-{room.id}"] = (notes or {}).get(number, "")
    return data


def _floor_url(site, floor=3) -> str:
    room = site["rooms"]["301" if floor == 3 else "401"]
    return f"/hygiene/rounds/{site['round'].id}/floors/{room.floor_id}"


FULL = [20, 20, 15, 15, 20, 10]


def _inspections() -> dict[str, RoomInspection]:
    db.session.expire_all()
    return {i.room.number: i for i in db.session.scalars(sa.select(RoomInspection))}


def test_an_inspector_scores_a_whole_floor_in_one_submit_and_resubmitting_updates_it(client, login, site):
    login(site["inspector"])
    page = client.get(_floor_url(site))
    assert page.status_code == 200
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert 'data-room="A1-301"' in html and 'data-room="A1-302"' in html and 'data-room="A1-401"' not in html
    assert 'data-room="A1-303" data-closed="1"' in html  # the closed room is shown, without inputs
    response = client.post(_floor_url(site), data=_form(site, {"301": [18, 20, 15, 14, 20, 10], "302": [10, 9, 8, 7, 6, 10],
                                                               "304": [""] * 6}, notes={"302": "地面有垃圾"}))
    assert response.status_code == 302
    saved = _inspections()
    assert set(saved) == {"301", "302"}  # a blank room is skipped, not saved
    assert saved["301"].total == 97 and saved["302"].total == 50 and saved["302"].note == "地面有垃圾"
    assert [(s.item_name, s.max_points, s.points) for s in saved["301"].scores][:2] == [("地面", 20, 18), ("床铺", 20, 20)]
    assert sorted(r.class_name for r in saved["301"].residents) == ["计科2401", "计科2401", "软工2402"]
    assert "Saved the scores of 2 rooms." in client.get(_floor_url(site)).get_data(as_text=True).replace("&#39;", "'")

    client.post(_floor_url(site), data=_form(site, {"301": FULL, "304": [""] * 6}, absent=["304"]))
    saved = _inspections()
    assert saved["301"].total == 100 and saved["304"].absent and saved["304"].total is None
    assert db.session.scalar(sa.select(sa.func.count(RoomInspection.id))) == 3  # updated, no duplicates
    assert db.session.scalar(sa.select(sa.func.count(ItemScore.id))) == 12  # 301 and 302; the absent room has none


@pytest.mark.parametrize("points, message", [
    ([21, 20, 15, 15, 20, 10], "Room A1-302, 地面: 21 is more than the maximum of 20."),
    ([20, -1, 15, 15, 20, 10], "Room A1-302, 床铺: a score cannot be negative."),
    ([20, 20, "", 15, 20, 10], "Room A1-302: give a score for 桌面."),
    ([20, 20, 15, "7.5", 20, 10], "Room A1-302, 阳台: 7.5 is not a whole number."),
])
def test_a_wrong_score_refuses_the_whole_floor_naming_the_room_and_item(client, login, site, points, message):
    login(site["inspector"])
    response = client.post(_floor_url(site), data=_form(site, {"301": FULL, "302": points}))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert _inspections() == {}  # not even the valid room


def test_a_closed_room_cannot_be_inspected(client, login, site):
    login(site["inspector"])
    response = client.post(_floor_url(site), data=_form(site, {"301": FULL, "303": FULL}))
    assert "Room A1-303 is closed; closed rooms are not inspected." in response.get_data(as_text=True).replace("&#39;", "'")
    assert _inspections() == {}


def test_a_room_of_another_floor_or_a_floor_outside_the_round_is_refused(client, login, site, create_room,
                                                                         create_building):
    login(site["inspector"])
    response = client.post(_floor_url(site), data=_form(site, {"401": FULL}))
    assert f"Room #{site['rooms']['401'].id} is not on this floor." in response.get_data(as_text=True).replace("&#39;", "'")
    elsewhere = create_room(create_building("B9"), "101", floor=1)
    db.session.commit()
    assert client.get(f"/hygiene/rounds/{site['round'].id}/floors/{elsewhere.floor_id}").status_code == 404
    assert _inspections() == {}


def test_a_closed_round_cannot_be_scored_until_reopened(client, login, site):
    login(site["inspector"])
    rooms = 4  # the open rooms of the round, none inspected yet
    assert f"{rooms} rooms are not inspected yet" in client.get(f"/hygiene/rounds/{site['round'].id}").get_data(as_text=True)
    refused = client.post(f"/hygiene/rounds/{site['round'].id}/status", data={"status": "closed"}, follow_redirects=True)
    assert f"tick the box to confirm. {rooms} rooms are not inspected yet" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert site["round"].status == RoundStatus.OPEN
    client.post(f"/hygiene/rounds/{site['round'].id}/status", data={"status": "closed", "confirm": "yes"})
    db.session.expire_all()
    assert site["round"].status == RoundStatus.CLOSED
    response = client.post(_floor_url(site), data=_form(site, {"301": FULL}))
    assert f"The round of {date.today().isoformat()} is closed" in response.get_data(as_text=True).replace("&#39;", "'")
    assert _inspections() == {}
    client.post(f"/hygiene/rounds/{site['round'].id}/status", data={"status": "open"})
    assert client.post(_floor_url(site), data=_form(site, {"301": FULL})).status_code == 302
    assert _inspections()["301"].total == 100


def test_only_the_rounds_inspectors_score_and_counselors_and_students_are_forbidden(client, login, site):
    login(site["other_staff"])  # staff, but not an inspector of this round: may look, not score
    page = client.get(_floor_url(site)).get_data(as_text=True).replace("&#39;", "'")
    assert "You are not an inspector of this round" in page
    response = client.post(_floor_url(site), data=_form(site, {"301": FULL}))
    assert "Only the inspectors of this round can score it." in response.get_data(as_text=True).replace("&#39;", "'")
    client.post("/logout")
    counselor = site["create_user"]("counselor", role=Role.COUNSELOR, classes=["计科2401"])
    student_user = site["create_user"](site["students"][0].student_number, role=Role.STUDENT,
                                       student=site["students"][0])
    for user in (counselor, student_user):
        login(user)
        assert client.get(_floor_url(site)).status_code == 403
        assert client.post(_floor_url(site), data=_form(site, {"301": FULL})).status_code == 403
        assert client.get("/hygiene/rounds").status_code == 403
        assert client.get("/hygiene/checklist").status_code == 403
        assert client.post(f"/hygiene/rounds/{site['round'].id}/status", data={"status": "closed"}).status_code == 403
        client.post("/logout")
    assert _inspections() == {}


def test_the_database_refuses_a_second_inspection_of_a_room_in_a_round_and_out_of_range_points(app, site):
    room = site["rooms"]["301"]
    db.session.add(RoomInspection(round_id=site["round"].id, room_id=room.id, total=90))
    db.session.commit()
    db.session.add(RoomInspection(round_id=site["round"].id, room_id=room.id, total=80))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    inspection = db.session.scalar(sa.select(RoomInspection))
    db.session.add(ItemScore(inspection_id=inspection.id, item_name="地面", max_points=20, points=25))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(RoomInspection(round_id=site["round"].id, room_id=site["rooms"]["302"].id, total=101))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()


def test_the_checklist_must_add_up_to_100_and_old_scores_keep_their_items(client, login, site):
    login(site["inspector"])
    client.post(_floor_url(site), data=_form(site, {"301": [10, 20, 15, 15, 20, 10]}))
    items = site["items"]
    form = {"row": [str(n) for n in range(1, len(items) + 2)]}
    for n, item in enumerate(items, start=1):
        form |= {f"id-{n}": str(item.id), f"name-{n}": item.name, f"max-{n}": str(item.max_points)}
    new = len(items) + 1
    refused = client.post("/hygiene/checklist", data=form | {f"name-{new}": "门窗", f"max-{new}": "10"})
    assert "The items' maxima add up to 110; they must add up to exactly 100." in refused.get_data(as_text=True).replace("&#39;", "'")
    twice = client.post("/hygiene/checklist", data=form | {"name-2": "地面"})
    assert "地面 is on the checklist twice." in twice.get_data(as_text=True).replace("&#39;", "'")
    db.session.expire_all()
    assert [(i.name, i.max_points) for i in services.checklist()] == services.default_checklist("zh_CN")  # unchanged

    # 地面 20 → 10 and a new 门窗 10: the floor's old score keeps 地面 out of 20.
    saved = client.post("/hygiene/checklist", data=form | {"max-1": "10", f"name-{new}": "门窗", f"max-{new}": "10"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert [(i.name, i.max_points) for i in services.checklist()][-1] == ("门窗", 10)
    assert sum(i.max_points for i in services.checklist()) == 100
    old = _inspections()["301"]
    assert (old.scores[0].item_name, old.scores[0].max_points, old.scores[0].points, old.total) == ("地面", 20, 10, 90)
    removed = client.post("/hygiene/checklist", data=form | {"max-1": "20", "remove-6": "y", "max-5": "30"})
    assert removed.status_code == 302
    db.session.expire_all()
    assert "无违禁物品" not in [i.name for i in services.checklist()]
    assert db.session.scalar(sa.select(sa.func.count(ChecklistItem.id))) == 7  # kept, inactive
    page = client.get(_floor_url(site)).get_data(as_text=True).replace("&#39;", "'")
    assert "门窗" not in page and "/30" in page


def test_bands_are_configurable_and_must_be_in_order(client, login, site):
    assert (services.settings().excellent_min, services.settings().pass_min) == (90, 60)
    login(site["inspector"])
    refused = client.post("/hygiene/bands", data={"excellent_min": "60", "pass_min": "70"}, follow_redirects=True)
    assert "The pass mark must be above 0 and below the excellent mark" in refused.get_data(as_text=True).replace("&#39;", "'")
    client.post("/hygiene/bands", data={"excellent_min": "85", "pass_min": "65"})
    db.session.expire_all()
    assert (services.settings().excellent_min, services.settings().pass_min) == (85, 65)
    assert services.settings().band(85).value == "excellent" and services.settings().band(64).value == "fail"


def test_staff_create_a_round_of_buildings_with_staff_inspectors(client, login, site, create_user):
    login(site["other_staff"])
    listing = client.get("/hygiene/rounds").get_data(as_text=True)
    assert "第12周" in listing and 'data-testid="round-form"' in listing
    assert "地面" in client.get("/hygiene/checklist").get_data(as_text=True)
    response = client.post("/hygiene/rounds", data={"inspected_on": "2026-11-20", "title": "月度检查",
                                                    "buildings": [str(site["building"].id)],
                                                    "inspectors": [str(site["other_staff"].id)]})
    assert response.status_code == 302
    created = db.session.scalar(sa.select(InspectionRound).where(InspectionRound.title == "月度检查"))
    assert created.inspected_on == date(2026, 11, 20) and [u.username for u in created.inspectors] == ["office"]
    counselor = create_user(role=Role.COUNSELOR, classes=["计科2401"])
    with pytest.raises(Exception, match="is not housing-office staff"):
        services.create_round(date.today(), [site["building"]], [counselor])
    page = client.get(f"/hygiene/rounds/{created.id}").get_data(as_text=True).replace("&#39;", "'")
    assert "A1, floor 3" in page and "0 of 3 rooms done" in page  # 301, 302, 304 (303 is closed)


def _score(site, day: date, scores: dict[str, int | None], *, create=True) -> InspectionRound:
    """A round on ``day`` with room number -> total (None: not inspected), spread over the items."""
    the_round = services.create_round(day, [site["building"]], [site["inspector"]])
    for floor in (3, 4):
        entries = {}
        for number, total in scores.items():
            room = site["rooms"][number]
            if room.floor.number != floor:
                continue
            entries[room.id] = _entry(site["items"], total)
        if entries:
            services.save_floor(the_round, site["rooms"]["301" if floor == 3 else "401"].floor, entries,
                                actor=site["inspector"])
    db.session.commit()
    return the_round


def _entry(items, total: int | None) -> services.RoomEntry:
    """A room's card with ``total`` spread over the items (None: not inspected)."""
    points, left = [], total or 0
    for item in items:
        points.append(min(item.max_points, left))
        left -= points[-1]
    return services.RoomEntry(absent=total is None, points={i.id: str(p) for i, p in zip(items, points)})


@pytest.fixture
def history(site):
    today = date.today()
    first = today.replace(day=1)
    last_month = first - timedelta(days=20)
    _score(site, last_month, {"301": 40, "302": 95, "304": 50, "401": 100})
    _score(site, first, {"301": 92, "302": 55, "304": 58, "401": None})
    _score(site, today, {"301": 96, "302": 91})
    return site


def test_rankings_by_floor_building_and_class_over_a_period(client, login, history):
    site = history
    login(site["inspector"])
    html = client.get("/hygiene/").get_data(as_text=True).replace("&#39;", "'")
    # This month: 301 94, 302 73, 304 58 on floor 3 (401 not inspected).
    assert 'data-average="78.4"' in html.split('data-testid="by-floor"')[1]  # (92 + 55 + 58 + 96 + 91) / 5
    first, last = date.today().replace(day=1), date.today()
    bands = services.settings()
    floors = {r.label: r.average for r in reports.by_floor(first, last, bands)}
    assert floors == {"A1, floor 3": round((92 + 55 + 58 + 96 + 91) / 5, 1)}
    # Classes: each resident counts the room's score once: 计科2401 twice 92 and twice 96; 软工2402 92, 55, 96, 91.
    classes = {r.label: r.average for r in reports.by_class(first, last, bands)}
    assert classes == {"计科2401": 94.0, "软工2402": round((92 + 55 + 96 + 91) / 4, 1)}
    whole = {r.label: r.average for r in reports.by_building(first - timedelta(days=40), last, bands)}
    assert whole == {"A1 桃李苑1号楼": round((40 + 95 + 50 + 100 + 92 + 55 + 58 + 96 + 91) / 9, 1)}


def test_excellent_dorms_and_rooms_failing_twice_in_a_row(client, login, history):
    site = history
    login(site["inspector"])
    html = client.get("/hygiene/").get_data(as_text=True).replace("&#39;", "'")
    excellent = html.split('data-testid="excellent"')[1].split("</ul>")[0]
    assert "A1-301" in excellent and "A1-302" not in excellent  # 94 vs 73 this month
    failing = html.split('data-testid="failing"')[1].split("</ul>")[0]
    assert "A1-304" in failing  # 50 then 58
    assert "A1-302" not in failing and "A1-301" not in failing  # 302: 55 then 91; 301: 40 then 92
    assert "<svg" in html.split('data-testid="building-trend"')[1][:200]
    earlier = date.today().replace(day=1) - timedelta(days=20)
    last_month = client.get(f"/hygiene/?first={earlier}&last={earlier}").get_data(as_text=True).replace("&#39;", "'")
    assert "A1-401" in last_month.split('data-testid="excellent"')[1].split("</ul>")[0]


def test_exports_of_rankings_lists_and_a_rounds_scores(client, login, history):
    site = history
    login(site["inspector"])
    classes = client.get("/hygiene/export/classes.csv").get_data().decode("utf-8-sig")
    assert classes.splitlines()[1].startswith("1,计科2401,94.0,Excellent")
    failing = client.get("/hygiene/export/failing.csv").get_data().decode("utf-8-sig")
    assert "A1,304," in failing and "304" in failing.splitlines()[1]
    excellent = client.get("/hygiene/export/excellent.xlsx")
    sheet = load_workbook(io.BytesIO(excellent.data)).worksheets[0]
    assert [c.value for c in sheet[2]][1:4] == ["A1", 3, "301"]
    for kind in ("floors", "buildings", "rooms"):
        assert client.get(f"/hygiene/export/{kind}.csv").status_code == 200
    the_round = db.session.scalar(sa.select(InspectionRound).order_by(InspectionRound.inspected_on.desc(),
                                                                        InspectionRound.id.desc()))
    scores = client.get(f"/hygiene/rounds/{the_round.id}/scores.csv").get_data().decode("utf-8-sig").splitlines()
    assert scores[0].startswith("Date,Building,Floor,Room,地面,床铺,桌面,阳台,卫生间,无违禁物品,Total,Band")
    assert any(",301,20,20,15,15,20,6,96,Excellent" in line for line in scores)
    assert client.get("/hygiene/export/nothing.csv").status_code == 404
    workbook = load_workbook(io.BytesIO(client.get(f"/hygiene/rounds/{the_round.id}/scores.xlsx").data))
    assert [c.value for c in workbook.worksheets[0][1]][4:6] == ["地面", "床铺"]
    assert client.get("/hygiene/?first=2026-11-20&last=2026-11-01").status_code == 400


def test_a_student_sees_their_own_rooms_scores_only(client, login, history):
    site = history
    resident = site["students"][0]
    login(site["create_user"](resident.student_number, role=Role.STUDENT, student=resident))
    mine = client.get("/hygiene/mine")
    assert mine.status_code == 302 and mine.location.endswith(f"/hygiene/rooms/{site['rooms']['301'].id}")
    page = client.get(mine.location).get_data(as_text=True).replace("&#39;", "'")
    assert "Hygiene of A1-301" in page and "地面" in page and "<svg" in page
    assert client.get(f"/hygiene/rooms/{site['rooms']['302'].id}").status_code == 404
    assert client.get("/hygiene/").status_code == 302  # to their own room
    assert client.get("/hygiene/export/classes.csv").status_code == 403
    own_page = client.get(f"/students/{resident.id}").get_data(as_text=True).replace("&#39;", "'")
    assert 'data-testid="hygiene-summary"' in own_page and "Latest inspection" in own_page


def test_a_counselor_sees_the_rooms_of_their_students_and_their_classes_rankings(client, login, history):
    site = history
    login(site["create_user"]("counselor", role=Role.COUNSELOR, classes=["软工2402"]))
    assert client.get(f"/hygiene/rooms/{site['rooms']['302'].id}").status_code == 200
    assert client.get(f"/hygiene/rooms/{site['rooms']['301'].id}").status_code == 200  # one of theirs lives there
    assert client.get(f"/hygiene/rooms/{site['rooms']['304'].id}").status_code == 404  # none of theirs
    html = client.get("/hygiene/").get_data(as_text=True).replace("&#39;", "'")
    by_class = html.split('data-testid="by-class"')[1].split("</table>")[0]
    assert "软工2402" in by_class and "计科2401" not in by_class
    assert 'data-testid="by-floor"' not in html and 'data-testid="by-building"' not in html
    assert "A1-304" not in html  # neither in the failing list nor the rooms
    assert client.get("/hygiene/export/floors.csv").status_code == 403
    assert "计科2401" not in client.get("/hygiene/export/classes.csv").get_data().decode("utf-8-sig")


def test_the_room_page_shows_the_latest_scores_and_trend(client, login, history):
    site = history
    login(site["inspector"])
    page = client.get(f"/rooms/{site['rooms']['301'].id}").get_data(as_text=True).replace("&#39;", "'")
    summary = page.split('data-testid="hygiene-summary"')[1]
    assert 'data-band="excellent"' in summary[:600] and "<svg" in summary


def test_the_floor_page_makes_a_fixed_number_of_queries(client, login, site, create_room, count_queries):
    login(site["inspector"])
    client.post(_floor_url(site), data=_form(site, {"301": FULL, "302": FULL}))
    with count_queries() as few:
        assert client.get(_floor_url(site)).status_code == 200
    for n in range(5, 15):
        site["rooms"][f"3{n:02d}"] = create_room(site["building"], f"3{n:02d}", floor=3)
    db.session.commit()
    client.post(_floor_url(site), data=_form(site, {f"3{n:02d}": FULL for n in range(5, 15)} | {"301": FULL}))
    assert db.session.scalar(sa.select(sa.func.count(RoomInspection.id))) == 12
    with count_queries() as many:
        assert client.get(_floor_url(site)).status_code == 200
    def selects(statements):
        return [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    assert len(selects(many)) == len(selects(few)) <= 15
    form, url = _form(site, {f"3{n:02d}": [19, 20, 15, 15, 20, 10] for n in range(5, 15)}), _floor_url(site)
    with count_queries() as saving:
        assert client.post(url, data=form).status_code == 302
    assert len(selects(saving)) <= 15 and len(saving) <= 25  # ten rooms saved in batched statements


def test_residents_are_kept_with_the_inspection_when_they_move_out(app, site):
    _score(site, date.today(), {"301": 80})
    residence.vacate(site["students"][0], reason="退宿")
    db.session.commit()
    classes = db.session.scalars(sa.select(InspectionResident.class_name).order_by(InspectionResident.class_name))
    assert list(classes) == ["计科2401", "计科2401", "软工2402"]


def test_a_floor_needs_a_complete_checklist(app, site):
    services.set_checklist([services.ItemRow(i.name, i.max_points, i.id) for i in site["items"]])
    db.session.execute(sa.update(ChecklistItem).where(ChecklistItem.id == site["items"][0].id).values(max_points=5))
    room = site["rooms"]["301"]
    with pytest.raises(Exception, match="maxima add up to 85, not 100"):  # changed since the round was created
        services.save_floor(site["round"], room.floor, {room.id: _entry(site["items"], 80)}, actor=site["inspector"])


def test_an_empty_room_is_scored_without_residents(app, site, create_room):
    room = create_room(site["building"], "305", floor=3, gender=Gender.FEMALE)
    db.session.commit()
    site["rooms"]["305"] = room
    _score(site, date.today(), {"305": 70})
    assert db.session.get(Room, room.id) and _inspections()["305"].residents == []


def test_the_demo_data_has_rounds_excellent_dorms_and_rooms_failing_twice(app, create_building, create_room,
                                                                          create_student, create_user):
    import random

    from dorms.hygiene import demo, reports
    from dorms.residence.models import Assignment

    building = create_building("A1")
    placed = {}
    for floor in (1, 2, 3):
        for n in range(1, 11):
            room = create_room(building, f"{floor}{n:02d}", floor=floor, capacity=2)
            for bed in room.beds:
                student = create_student(class_name=f"计科240{n % 3}")
                placed[student.id] = residence.assign(student, bed, reason="intake")
    admin = create_user("admin", role=Role.STAFF)
    made = demo.seed(random.Random(2026), placed, admin)
    db.session.commit()
    assert made == 5 * 30 and isinstance(next(iter(placed.values())), Assignment)
    bands = services.settings()
    today = date.today()
    assert len(reports.failing_twice(bands)) >= 2
    assert reports.excellent_rooms(today - timedelta(days=60), today, bands)
    assert sum(item.max_points for item in services.checklist()) == 100
    assert db.session.scalar(sa.select(sa.func.count(InspectionRound.id).filter(
        InspectionRound.status == RoundStatus.OPEN))) == 1


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.commits
def test_two_inspectors_saving_the_same_room_at_once_get_a_conflict_not_a_duplicate(app, site, monkeypatch):
    from dorms.core.errors import Conflict

    room = site["rooms"]["301"]
    find_residents = services._current_residents

    def someone_else_saves_first(room_ids):
        with db.engine.begin() as other:  # another request, committed while this one is half done
            other.execute(sa.insert(RoomInspection).values(round_id=site["round"].id, room_id=room.id, total=70,
                                                           absent=False, note="", inspected_at=utcnow()))
        return find_residents(room_ids)

    monkeypatch.setattr(services, "_current_residents", someone_else_saves_first)
    entry = services.RoomEntry(points={item.id: str(item.max_points) for item in site["items"]})
    with pytest.raises(Conflict, match="Someone else saved this floor"):
        services.save_floor(site["round"], room.floor, {room.id: entry}, actor=site["inspector"])
    db.session.rollback()
    assert [(i.total, i.room_id) for i in db.session.scalars(sa.select(RoomInspection))] == [(70, room.id)]


def test_staff_change_a_rounds_inspectors_to_staff_only(client, login, site):
    office = site["other_staff"]
    counselor = site["create_user"]("counselor", role=Role.COUNSELOR, classes=["计科2401"])
    login(office)
    url = f"/hygiene/rounds/{site['round'].id}/inspectors"
    refused = client.post(url, data={"inspectors": [str(counselor.id)]}, follow_redirects=True)
    assert "is not a valid choice" in refused.get_data(as_text=True)  # counselors are not offered
    client.post(url, data={"inspectors": [str(office.id), str(site["inspector"].id)]})
    assert client.post(_floor_url(site), data=_form(site, {"301": FULL})).status_code == 302
    with pytest.raises(Exception, match="is not housing-office staff"):
        services.set_inspectors(site["round"], [counselor])
    client.post("/logout")
    login(counselor)
    assert client.post(url, data={"inspectors": [str(counselor.id)]}).status_code == 403


def test_a_student_without_a_bed_is_told_so(client, login, site, create_student):
    homeless = create_student("2024000199", name="孙无床")
    login(site["create_user"](homeless.student_number, role=Role.STUDENT, student=homeless))
    page = client.get("/hygiene/mine")
    assert page.status_code == 200 and "You have no bed" in page.get_data(as_text=True)
    assert 'href="/hygiene/mine"' in page.get_data(as_text=True)  # the nav entry


def test_every_staff_only_page_refuses_counselors_and_students(client, login, site):
    round_id, building_id = site["round"].id, site["building"].id
    counselor = site["create_user"]("counselor", role=Role.COUNSELOR, classes=["计科2401"])
    student_user = site["create_user"](site["students"][0].student_number, role=Role.STUDENT,
                                       student=site["students"][0])
    refused = [("get", f"/hygiene/rounds/{round_id}", None),
               ("get", f"/hygiene/rounds/{round_id}/scores.csv", None),
               ("post", "/hygiene/rounds", {"inspected_on": "2026-11-20", "buildings": [str(building_id)],
                                            "inspectors": [str(site["inspector"].id)]}),
               ("post", f"/hygiene/rounds/{round_id}/inspectors", {"inspectors": [str(site["other_staff"].id)]}),
               ("post", "/hygiene/checklist", {"row": ["1"], "name-1": "地面", "max-1": "100"}),
               ("post", "/hygiene/bands", {"excellent_min": "80", "pass_min": "50"})]
    for user in (counselor, student_user):
        login(user)
        for method, url, data in refused:
            assert getattr(client, method)(url, data=data).status_code == 403, (user.username, url)
        client.post("/logout")
    for user in (counselor, site["inspector"]):  # "my room" is a student's page
        login(user)
        assert client.get("/hygiene/mine").status_code == 403
        client.post("/logout")
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(InspectionRound.id))) == 1
    assert [u.username for u in site["round"].inspectors] == ["inspector"]
    assert [(i.name, i.max_points) for i in services.checklist()] == services.default_checklist("zh_CN")
    assert (services.settings().excellent_min, services.settings().pass_min) == (90, 60)


def test_a_rounds_status_is_only_open_or_closed(client, login, site):
    login(site["inspector"])
    url = f"/hygiene/rounds/{site['round'].id}/status"
    assert client.post(url, data={"status": "archived"}).status_code == 400
    assert client.post(url, data={}).status_code == 400
    db.session.expire_all()
    assert site["round"].status == RoundStatus.OPEN
    again = client.post(url, data={"status": "open"}, follow_redirects=True).get_data(as_text=True)
    assert "The round is already open for scoring." in again


def test_a_checklist_row_without_a_name_is_named_by_its_row(client, login, site):
    login(site["inspector"])
    items = site["items"]
    form = {"row": [str(n) for n in range(1, len(items) + 1)]}
    for n, item in enumerate(items, start=1):
        form |= {f"id-{n}": str(item.id), f"name-{n}": item.name, f"max-{n}": str(item.max_points)}
    refused = client.post("/hygiene/checklist", data=form | {"name-3": "  "})
    assert "Row 3 of the checklist needs a name." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert [(i.name, i.max_points) for i in services.checklist()] == services.default_checklist("zh_CN")


def test_a_counselor_sees_the_hygiene_of_their_students_room_on_the_students_page(client, login, history):
    site = history
    login(site["create_user"]("counselor", role=Role.COUNSELOR, classes=["软工2402"]))
    page = client.get(f"/students/{site['students'][3].id}").get_data(as_text=True)  # 钱二 in 302
    summary = page.split('data-testid="hygiene-summary"')[1]
    assert f'href="/hygiene/rooms/{site["rooms"]["302"].id}"' in summary[:600]
    assert 'data-band="excellent"' in summary[:600] and "<svg" in summary  # 91 today, after 55 and 95


def test_the_rankings_page_makes_a_fixed_number_of_queries(client, login, history, create_building, create_room,
                                                           create_student, count_queries):
    site = history
    counselor = site["create_user"]("counselor", role=Role.COUNSELOR, classes=["软工2402"])

    def queries_of(user) -> int:
        login(user)
        with count_queries() as statements:
            assert client.get("/hygiene/").status_code == 200
            assert client.get("/hygiene/rounds").status_code in (200, 403)
        client.post("/logout")
        return len(statements)

    def failing_rooms_in_new_buildings(codes):
        """A room in each new building where one of the counselor's students lives, failing three rounds running."""
        rooms = []
        for code in codes:
            rooms.append(create_room(create_building(code), "101", floor=1))
            residence.assign(create_student(class_name="软工2402"), rooms[-1].beds[0], reason="intake")
        for day in (3, 10, 17):
            the_round = services.create_round(date.today() - timedelta(days=day), [r.building for r in rooms],
                                              [site["inspector"]])
            for room in rooms:
                services.save_floor(the_round, room.floor, {room.id: _entry(site["items"], 50)},
                                    actor=site["inspector"])
        db.session.commit()

    failing_rooms_in_new_buildings(["B1"])
    few = {user.username: queries_of(user) for user in (site["inspector"], counselor)}
    failing_rooms_in_new_buildings([f"B{n}" for n in range(2, 7)])
    many = {user.username: queries_of(user) for user in (site["inspector"], counselor)}
    assert many == few
    login(counselor)
    page = client.get("/hygiene/").get_data(as_text=True)
    assert all(f"B{n}-101" in page.split('data-testid="failing"')[1] for n in range(1, 7))


def test_the_demo_data_works_for_a_handful_of_rooms(app, create_building, create_room, create_student, create_user):
    import random

    from dorms.hygiene import demo

    building = create_building("A1")
    placed = {}
    for number in ("101", "102"):
        room = create_room(building, number, floor=1, capacity=1)
        student = create_student(class_name="计科2401")
        placed[student.id] = residence.assign(student, room.beds[0], reason="intake")
    assert demo.seed(random.Random(1), placed, create_user("admin", role=Role.STAFF)) == 5 * 2


def test_the_database_keeps_one_row_of_bands_and_each_active_item_once(app):
    from dorms.hygiene.models import ChecklistItem, HygieneSettings

    services.set_bands(85, 55)
    db.session.commit()
    db.session.add(HygieneSettings(id=2, excellent_min=95, pass_min=70))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    services.ensure_default_checklist("zh_CN")
    db.session.commit()
    db.session.add(ChecklistItem(name="地面", max_points=5, active=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    # Renaming two items into each other's names is fine: they leave the list before they come back.
    items = services.checklist()
    rows = [services.ItemRow(i.name, i.max_points, item_id=i.id) for i in items]
    rows[0].name, rows[1].name = rows[1].name, rows[0].name
    services.set_checklist(rows)
    db.session.commit()
    assert [i.name for i in services.checklist()][:2] == ["床铺", "地面"]
    assert (services.settings().excellent_min, services.settings().pass_min) == (85, 55)


def test_rankings_show_their_first_rows_page_the_rest_filter_and_export_whole(client, login, history, monkeypatch,
                                                                              create_building):
    """A campus of thousands of rooms: the overview shows each ranking's first rows, the whole ranking is paged,
    building, floor and round narrow every ranking, and the exports hold every row."""
    site = history
    monkeypatch.setattr(reports, "TOP", 2)
    monkeypatch.setattr(reports, "PER_PAGE", 2)
    login(site["inspector"])
    earlier = (date.today().replace(day=1) - timedelta(days=20)).isoformat()
    # Since last month: 401 100, 302 (95 + 55 + 91) / 3, 301 (40 + 92 + 96) / 3, 304 (50 + 58) / 2.
    html = client.get(f"/hygiene/?first={earlier}").get_data(as_text=True)
    rooms = html.split('data-testid="by-room"')[1].split("</table>")[0]
    assert re.findall(r'data-room="([^"]+)"', rooms) == ["A1-401", "A1-302"]
    assert 'data-testid="all-rooms">All 4' in html
    pages = [client.get(f"/hygiene/rankings/rooms?first={earlier}&page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert [re.findall(r'data-room="([^"]+)"', page) for page in pages] == [["A1-401", "A1-302"],
                                                                          ["A1-301", "A1-304"], []]
    assert "4 in all." in pages[1]
    floors = client.get(f"/hygiene/rankings/floors?first={earlier}").get_data(as_text=True)
    assert re.findall(r'data-average="([^"]+)"', floors) == ["100.0", "72.1"]  # floor 4; floor 3's 8 scores

    today_round = db.session.scalar(sa.select(InspectionRound.id).order_by(InspectionRound.inspected_on.desc(),
                                                                            InspectionRound.id.desc()))
    by_round = client.get(f"/hygiene/rankings/rooms?first={earlier}&round={today_round}").get_data(as_text=True)
    assert re.findall(r'data-room="([^"]+)"', by_round) == ["A1-301", "A1-302"]  # 96, 91 today
    assert f'<option value="{today_round}" selected>' in by_round
    fourth_floor = client.get(f"/hygiene/?first={earlier}&floor=4").get_data(as_text=True)
    assert re.findall(r'data-room="([^"]+)"', fourth_floor.split('data-testid="by-room"')[1]) == ["A1-401"]
    other = create_building("Z9")
    db.session.commit()
    elsewhere = client.get(f"/hygiene/?first={earlier}&building={other.id}").get_data(as_text=True)
    assert "data-room=" not in elsewhere.split('data-testid="by-room"')[1]
    assert "A1-304" in client.get(f"/hygiene/?building={site['building'].id}").get_data(as_text=True)

    exported = client.get(f"/hygiene/export/rooms.csv?first={earlier}").get_data().decode("utf-8-sig").splitlines()
    assert [line.split(",")[3] for line in exported[1:]] == ["401", "302", "301", "304"]
    exported = client.get(f"/hygiene/export/rooms.csv?first={earlier}&round={today_round}").get_data()
    assert len(exported.decode("utf-8-sig").splitlines()) == 3
    assert client.get("/hygiene/rankings/nothing").status_code == 404


def test_a_counselor_pages_their_own_rankings_only(client, login, history):
    site = history
    login(site["create_user"]("counselor", role=Role.COUNSELOR, classes=["软工2402"]))
    assert client.get("/hygiene/rankings/floors").status_code == 403
    assert client.get("/hygiene/rankings/buildings").status_code == 403
    classes = client.get("/hygiene/rankings/classes").get_data(as_text=True)
    assert "软工2402" in classes and "计科2401" not in classes
    rooms = client.get("/hygiene/rankings/rooms").get_data(as_text=True)
    assert "A1-301" in rooms and "A1-304" not in rooms
    assert "A1-304" not in client.get("/hygiene/rankings/failing").get_data(as_text=True)


def test_the_rankings_are_kept_until_a_score_changes(client, login, history, count_queries):
    site = history
    login(site["inspector"])

    def queries_and_page():
        with count_queries() as statements:
            page = client.get("/hygiene/").get_data(as_text=True)
        return len(statements), page

    computed, page = queries_and_page()
    kept, again = queries_and_page()
    assert kept < computed and again == page
    _score(site, date.today(), {"304": 99})  # another round today: 304 averages (58 + 99) / 2 this month
    _computed_again, page = queries_and_page()
    assert re.search(r'data-room="A1-304">.*?>78.5<', page, re.DOTALL)
