"""Check-in and check-out: the desk, keys, the condition report and its deadline, check-out with charges,
room changes as one change, who may see what, exports, and a desk that stays fast."""
import csv
import io
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy.exc import IntegrityError

from dorms.access.models import Card
from dorms.checkin import services
from dorms.checkin.models import (
    CheckIn,
    CheckOut,
    Damage,
    KeyIssue,
    KeyKind,
    KeyStatus,
    ReportState,
)
from dorms.core.clock import utcnow
from dorms.core.enums import Gender, GenderPolicy, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.facilities import services as facilities
from dorms.facilities.models import Condition, InventoryItem, ItemKind
from dorms.residence import services as residence
from dorms.residence.models import Assignment
from dorms.students.models import Student


def png_bytes(width=40, height=30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def campus(create_building, create_room, create_student, create_user):
    """A1 (men): room 101 with a desk, a chair and an air conditioner, and two residents; room 102 empty."""
    a1 = create_building("A1", gender_policy=GenderPolicy.MALE, name="桃李苑1号楼")
    room = create_room(a1, "101", capacity=2)
    other_room = create_room(a1, "102", capacity=2)
    items = [facilities.add_item(room, ItemKind.DESK, asset_label="GZ-0001"),
             facilities.add_item(room, ItemKind.CHAIR, asset_label="GZ-0002", condition=Condition.WORN),
             facilities.add_item(room, ItemKind.AIR_CONDITIONER, asset_label="GZ-0003", description="格力")]
    facilities.add_item(other_room, ItemKind.DESK, asset_label="GZ-0101")
    student = create_student("2024000001", name="王小明", class_name="计科2401")
    roommate = create_student("2024000002", name="李大壮", class_name="软工2402")
    residence.assign(student, room.beds[0], reason="intake")
    residence.assign(roommate, room.beds[1], reason="intake")
    db.session.commit()
    return {"room": room, "other_room": other_room, "items": items, "student": student, "roommate": roommate,
            "staff": create_user("staff"),
            "counselor": create_user("counselor", role=Role.COUNSELOR, classes=["计科2401"]),
            "account": create_user("2024000001", role=Role.STUDENT, student=student),
            "roommate_account": create_user("2024000002", role=Role.STUDENT, student=roommate)}


KEYS = {"key_kind": ["room_key", "mailbox_key", "access_card"], "key_label": ["A1-101-1号", "信箱 12", "0012345678"]}


def _desk_check_in(client, student, **extra):
    data = {**KEYS, "note": "", **extra}
    return client.post(f"/checkin/students/{student.id}/check-in", data=data, content_type="multipart/form-data",
                       follow_redirects=True)


def _check_in(student, **kwargs) -> CheckIn:
    record = services.check_in(student, keys=[services.KeyInput(KeyKind.ROOM_KEY, "101-1")], **kwargs)
    db.session.commit()
    return record


def _item(record, kind):
    return next(item for item in record.items if item.kind == kind)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- checking in --------------------------------------------------------------------------------------------------

def test_staff_check_a_student_in_at_the_desk_with_keys_and_a_condition_report(app, client, login, campus):
    login(campus["staff"])
    desk = client.get("/checkin/desk", query_string={"q": "2024000001"}).get_data(as_text=True)
    assert "A1-101-1" in desk and 'name="q"' in desk and "autofocus" in desk and 'data-testid="check-in-form"' in desk
    chair = campus["items"][1]
    page = _desk_check_in(client, campus["student"], **{f"item-{chair.id}-condition": "broken",
                                                        f"item-{chair.id}-note": "椅子腿断了"}).get_data(as_text=True)
    assert "2024000001 王小明 is checked in." in page and 'data-state="checked-in"' in page
    record = db.session.scalar(sa.select(CheckIn))
    assert record.assignment.student_id == campus["student"].id and not record.self_service
    assert [(k.kind, k.label, k.status) for k in record.keys] == [
        (KeyKind.ROOM_KEY, "A1-101-1号", KeyStatus.ISSUED), (KeyKind.MAILBOX_KEY, "信箱 12", KeyStatus.ISSUED),
        (KeyKind.ACCESS_CARD, "0012345678", KeyStatus.ISSUED)]
    report = {item.inventory_item_id: (item.condition, item.note) for item in record.items}
    assert report == {campus["items"][0].id: (Condition.GOOD, ""), chair.id: (Condition.BROKEN, "椅子腿断了"),
                      campus["items"][2].id: (Condition.GOOD, "")}
    assert record.ack_due_at - record.checked_in_at == timedelta(hours=72)
    assert record.report_state() == ReportState.PENDING
    # Today's list on the desk shows them, and they are no longer expected.
    desk = client.get("/checkin/desk").get_data(as_text=True)
    today = desk.split('data-testid="today"')[1].split("</table>")[0]
    expected = desk.split('data-testid="expected"')[1].split("</table>")[0]
    assert "王小明" in today and "王小明" not in expected and "李大壮" in expected
    assert '<div class="chart" data-testid="progress-chart"><svg' in desk
    searching = client.get("/checkin/desk?q=李大壮").get_data(as_text=True)
    assert 'data-testid="progress-chart"' not in searching and 'data-testid="progress"' in searching


def test_a_second_check_in_is_refused_and_the_database_enforces_one_per_assignment(app, client, login, campus):
    login(campus["staff"])
    _desk_check_in(client, campus["student"])
    again = _desk_check_in(client, campus["student"]).get_data(as_text=True)
    assert "2024000001 王小明 already checked in to bed A1-101-1 on" in again
    assert _count(CheckIn) == 1 and _count(KeyIssue) == 3
    record = db.session.scalar(sa.select(CheckIn))
    with pytest.raises(IntegrityError):
        db.session.add(CheckIn(assignment_id=record.assignment_id, ack_due_at=utcnow()))
        db.session.flush()
    db.session.rollback()


def test_check_in_refusals_name_the_student_or_the_row(app, client, login, campus, create_student):
    login(campus["staff"])
    homeless = create_student("2024000009", name="无床位")
    page = _desk_check_in(client, homeless).get_data(as_text=True)
    assert "2024000009 无床位 has no bed assigned; assign one before checking in." in page
    twice = _desk_check_in(client, campus["student"], key_kind=["room_key", "room_key"],
                           key_label=["101", "101"]).get_data(as_text=True)
    assert "Key row 2: Room key 101 is listed twice." in twice
    gap = _desk_check_in(client, campus["student"], key_kind=["room_key", "other", "room_key"],
                         key_label=["101", "", "101"]).get_data(as_text=True)
    assert "Key row 3: Room key 101 is listed twice." in gap  # the row as on the form, blank rows counted
    bad_kind = _desk_check_in(client, campus["student"], key_kind=["door"], key_label=["1"]).get_data(as_text=True)
    assert "Key row 1: choose what kind of key it is." in bad_kind
    bad_condition = _desk_check_in(client, campus["student"], **{
        f"item-{campus['items'][0].id}-condition": "shiny"}).get_data(as_text=True)
    assert "Desk: choose good, worn or broken." in bad_condition
    assert _count(CheckIn) == 0 and _count(KeyIssue) == 0


def test_the_desk_finds_a_student_by_a_scanned_card(app, client, login, campus):
    db.session.add(Card(number="12345678", student=campus["student"]))
    login(campus["staff"])
    page = client.get("/checkin/desk", query_string={"q": "0x00BC614E"}).get_data(as_text=True)
    assert "王小明" in page and "A1-101-1" in page
    # The card is offered among the keys to hand out.
    assert '<option value="access_card" selected>' in page and 'name="key_label" value="12345678"' in page
    missing = client.get("/checkin/desk", query_string={"q": "9999"}).get_data(as_text=True)
    assert "No student has the number or card 9999." in missing


def test_photos_at_check_in_are_checked_and_shown_only_to_those_who_may_see_the_record(app, client, login, campus):
    login(campus["staff"])
    bad = _desk_check_in(client, campus["student"], photos=[(io.BytesIO(b"MZ\x90 not an image"), "room.jpg")])
    assert "room.jpg is not a photo" in bad.get_data(as_text=True) and _count(CheckIn) == 0
    app.config["PHOTO_MAX_BYTES"] = 100
    big = _desk_check_in(client, campus["student"], photos=[(io.BytesIO(png_bytes(300, 300)), "big.png")])
    alert = big.get_data(as_text=True).split('alert-danger')[1].split("</div>")[0]
    assert "Photo big.png" in alert and "limit" in alert
    assert _count(CheckIn) == 0
    app.config["PHOTO_MAX_BYTES"] = 8 * 2**20
    _desk_check_in(client, campus["student"], photos=[(io.BytesIO(png_bytes()), "墙面.png")])
    record = db.session.scalar(sa.select(CheckIn))
    photo = record.photos[0]
    url = f"/checkin/{record.id}/photos/{photo.id}"
    assert client.get(url).data == png_bytes()
    client.post("/logout")
    login(campus["roommate_account"])
    assert client.get(url).status_code == 404
    client.post("/logout")
    login(campus["account"])
    assert client.get(url).status_code == 200


# --- the student's side -------------------------------------------------------------------------------------------

def test_a_student_checks_in_on_their_phone_and_acknowledges_the_report(app, client, login, campus):
    login(campus["account"])
    mine = client.get("/checkin/me").get_data(as_text=True)
    assert "Not checked in yet" in mine and 'data-testid="self-check-in"' in mine
    client.post("/checkin/me/check-in", data={f"item-{campus['items'][2].id}-condition": "worn",
                                              f"item-{campus['items'][2].id}-note": "遥控器没电"})
    record = db.session.scalar(sa.select(CheckIn))
    assert record.self_service and record.keys == []
    assert next(i for i in record.items if i.inventory_item_id == campus["items"][2].id).note == "遥控器没电"
    mine = client.get("/checkin/me").get_data(as_text=True)
    assert 'data-report="pending"' in mine and "I acknowledge this report" in mine
    client.post(f"/checkin/{record.id}/acknowledge")
    db.session.expire_all()
    assert record.acknowledged_at is not None and record.report_state() == ReportState.ACKNOWLEDGED
    again = client.post(f"/checkin/{record.id}/acknowledge", follow_redirects=True).get_data(as_text=True)
    assert "You already acknowledged this report." in again
    late_dispute = client.post(f"/checkin/{record.id}/items/{record.items[0].id}/dispute", data={"note": "x"},
                               follow_redirects=True).get_data(as_text=True)
    assert "You already acknowledged this report." in late_dispute
    # Staff then hand out the keys at the desk on the same check-in.
    client.post("/logout")
    login(campus["staff"])
    client.post(f"/checkin/{record.id}/keys", data={"key_kind": ["room_key"], "key_label": ["101-1"]})
    twice = client.post(f"/checkin/{record.id}/keys", data={"key_kind": ["room_key"], "key_label": ["101-1"]},
                        follow_redirects=True).get_data(as_text=True)
    assert "Key row 1: Room key 101-1 was already handed out." in twice
    db.session.expire_all()
    assert [k.label for k in record.keys] == ["101-1"]


def test_self_check_in_can_be_turned_off(app, client, login, campus):
    app.config["CHECKIN_SELF_SERVICE"] = False
    login(campus["account"])
    assert 'data-testid="self-check-in"' not in client.get("/checkin/me").get_data(as_text=True)
    refused = client.post("/checkin/me/check-in", follow_redirects=True).get_data(as_text=True)
    assert "Self check-in is turned off" in refused and _count(CheckIn) == 0


def test_a_student_disputes_an_item_before_the_deadline_and_staff_see_it(app, client, login, campus):
    record = _check_in(campus["student"])
    item = record.items[1]
    login(campus["account"])
    empty = client.post(f"/checkin/{record.id}/items/{item.id}/dispute", data={"note": "  "},
                        follow_redirects=True).get_data(as_text=True)
    assert "What is wrong" in empty and "This field is required" in empty
    client.post(f"/checkin/{record.id}/items/{item.id}/dispute", data={"note": "椅子其实是坏的"})
    db.session.expire_all()
    assert item.disputed_at is not None and item.dispute_note == "椅子其实是坏的"
    assert record.report_state() == ReportState.PENDING  # a dispute is not an acknowledgement
    client.post("/logout")
    login(campus["staff"])
    disputed = client.get("/checkin/reports", query_string={"state": "disputed"}).get_data(as_text=True)
    assert "王小明" in disputed and "椅子其实是坏的" in disputed


def test_staff_answer_a_dispute_and_may_correct_the_check_in_condition(app, client, login, campus):
    record = _check_in(campus["student"])
    chair = _item(record, ItemKind.CHAIR)
    services.dispute(record, campus["student"], chair.id, "椅子腿是断的")
    db.session.commit()
    login(campus["staff"])
    url = f"/checkin/{record.id}/items/{chair.id}/resolve"
    page = client.get(f"/checkin/{record.id}").get_data(as_text=True)
    assert f'action="{url}"' in page and "1 disputed" in page
    assert "This field is required" in client.post(url, data={"condition": "broken", "note": ""},
                                                   follow_redirects=True).get_data(as_text=True)
    client.post(url, data={"condition": "broken", "note": "核实属实，已更正"})
    db.session.expire_all()
    assert (chair.condition, chair.resolution) == (Condition.BROKEN, "核实属实，已更正")
    again = client.post(url, data={"condition": "good", "note": "x"}, follow_redirects=True).get_data(as_text=True)
    assert "the dispute was already answered" in again
    not_disputed = client.post(f"/checkin/{record.id}/items/{_item(record, ItemKind.DESK).id}/resolve",
                               data={"condition": "good", "note": "x"}, follow_redirects=True)
    assert "That item is not disputed on this report." in not_disputed.get_data(as_text=True)
    assert "王小明" not in client.get("/checkin/reports", query_string={"state": "disputed"}).get_data(as_text=True)
    client.post("/logout")
    login(campus["counselor"])
    assert client.post(url, data={"condition": "good", "note": "x"}).status_code == 403
    client.post("/logout")
    login(campus["account"])
    assert "核实属实，已更正" in client.get("/checkin/me").get_data(as_text=True)


def test_an_unanswered_report_is_deemed_acknowledged_after_the_deadline(app, client, login, campus):
    app.config["CHECKIN_ACK_HOURS"] = 24
    late = _check_in(campus["student"])
    fresh = _check_in(campus["roommate"])
    assert late.ack_due_at - late.checked_in_at == timedelta(hours=24)
    late.ack_due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login(campus["account"])
    mine = client.get("/checkin/me").get_data(as_text=True)
    assert 'data-report="deemed"' in mine and "counts as accepted" in mine and "I acknowledge" not in mine
    refused = client.post(f"/checkin/{late.id}/acknowledge", follow_redirects=True).get_data(as_text=True)
    assert "The deadline to answer this report passed on" in refused
    refused = client.post(f"/checkin/{late.id}/items/{late.items[0].id}/dispute", data={"note": "坏的"},
                          follow_redirects=True).get_data(as_text=True)
    assert "it counts as accepted" in refused
    db.session.expire_all()
    assert late.acknowledged_at is None and late.items[0].disputed_at is None
    # Nor can a student answer someone else's report (it is not even there for them).
    assert client.post(f"/checkin/{fresh.id}/acknowledge").status_code == 404
    client.post("/logout")
    login(campus["staff"])
    overdue = client.get("/checkin/reports", query_string={"state": "overdue"}).get_data(as_text=True)
    pending = client.get("/checkin/reports", query_string={"state": "pending"}).get_data(as_text=True)
    assert "王小明" in overdue and "李大壮" not in overdue
    assert "李大壮" in pending and "王小明" not in pending
    assert "Deemed acknowledged" in client.get(f"/checkin/{late.id}").get_data(as_text=True)


# --- checking out -------------------------------------------------------------------------------------------------

def _check_out_form(record, **extra):
    data = {"note": "毕业离校", "damage_item": ["", "", ""], "damage_description": ["", "", ""],
            "damage_amount": ["", "", ""]}
    for key in record.keys:
        data[f"key-{key.id}"] = "returned"
    data.update(extra)
    return data


def test_check_out_inspects_charges_takes_keys_back_and_frees_the_bed(app, client, login, campus):
    record = _check_in(campus["student"])
    services.add_keys(record, [services.KeyInput(KeyKind.ACCESS_CARD, "0012345678")])
    db.session.commit()
    room_key, card = record.keys
    desk, chair = _item(record, ItemKind.DESK), _item(record, ItemKind.CHAIR)
    login(campus["staff"])
    form = client.get(f"/checkin/students/{campus['student'].id}/check-out").get_data(as_text=True)
    inspection = form.split('data-testid="inspection"')[1].split("</table>")[0]
    assert "Worn" in inspection and f'name="item-{chair.id}-condition"' in inspection
    page = client.post(f"/checkin/students/{campus['student'].id}/check-out", data=_check_out_form(record, **{
        f"item-{desk.id}-condition": "broken", f"item-{desk.id}-note": "桌面裂开",
        f"key-{card.id}": "missing", f"key-{card.id}-charge": "20",
        "damage_item": [str(desk.id), "", ""], "damage_description": ["桌面裂开", "墙面涂鸦", ""],
        "damage_amount": ["150.50", "¥80", ""]}), content_type="multipart/form-data",
        follow_redirects=True).get_data(as_text=True)
    assert "2024000001 王小明 checked out of A1-101-1." in page
    assert "Total charged: ¥250.50" in page and 'data-state="checked-out"' in page
    db.session.expire_all()
    out = db.session.scalar(sa.select(CheckOut))
    assert [(d.description, d.amount_cents, d.report_item_id) for d in out.damages] == [
        ("桌面裂开", 15050, desk.id), ("墙面涂鸦", 8000, None)]
    assert (room_key.status, card.status, card.charge_cents) == (KeyStatus.RETURNED, KeyStatus.MISSING, 2000)
    assert (desk.check_out_condition, chair.check_out_condition) == (Condition.BROKEN, Condition.WORN)
    assert db.session.get(InventoryItem, desk.inventory_item_id).condition == Condition.BROKEN  # inventory follows
    assignment = db.session.get(Assignment, record.assignment_id)
    assert assignment.ended_at is not None and assignment.end_reason == "check-out"
    assert residence.current_assignment(campus["student"]) is None
    # The student sees their charges.
    client.post("/logout")
    login(campus["account"])
    mine = client.get("/checkin/me").get_data(as_text=True)
    assert "Total charged: ¥250.50" in mine and "Missing Access card 0012345678" in mine


def test_only_a_checked_in_student_can_check_out(app, client, login, campus, create_student):
    login(campus["staff"])
    page = client.get(f"/checkin/students/{campus['student'].id}/check-out", follow_redirects=True)
    assert "2024000001 王小明 has not checked in to bed A1-101-1, so cannot check out" in page.get_data(as_text=True)
    posted = client.post(f"/checkin/students/{campus['student'].id}/check-out", data={}, follow_redirects=True)
    assert "has not checked in" in posted.get_data(as_text=True)
    homeless = create_student("2024000009", name="无床位")
    page = client.get(f"/checkin/students/{homeless.id}/check-out", follow_redirects=True).get_data(as_text=True)
    assert "2024000009 无床位 has no bed, so cannot check out." in page
    with pytest.raises(ServiceError, match="has not checked in"):
        services.check_out(campus["student"], services.Inspection({}, {}, []))
    assert residence.current_assignment(campus["student"]) is not None and _count(CheckOut) == 0


@pytest.mark.parametrize("amounts, message", [
    (["-5", ""], "Damage row 1: the amount cannot be negative."),
    (["10", "80000"], "Damage row 2: 80000 yuan is more than the most a charge can be (50000.00 yuan)."),
    (["abc", ""], "Damage row 1: abc is not an amount in yuan."),
    (["0", "5"], "Damage row 1: the charge must be more than 0 yuan."),
    (["1.234", ""], "Damage row 1: give the amount in yuan with at most two decimals."),
    (["10", ""], "Damage row 2: give the charge in yuan."),
])
def test_a_bad_charge_is_refused_naming_the_row_and_nothing_changes(app, client, login, campus, amounts, message):
    record = _check_in(campus["student"])
    login(campus["staff"])
    page = client.post(f"/checkin/students/{campus['student'].id}/check-out", data=_check_out_form(
        record, damage_item=["", ""], damage_description=["墙面", "桌子"], damage_amount=amounts),
        follow_redirects=True).get_data(as_text=True)
    assert message in page
    db.session.expire_all()
    assert _count(CheckOut) == 0 and _count(Damage) == 0
    assert residence.current_assignment(campus["student"]) is not None
    assert record.keys[0].status == KeyStatus.ISSUED


def test_key_answers_at_check_out_are_required_and_checked(app, client, login, campus):
    record = _check_in(campus["student"])
    key = record.keys[0]
    login(campus["staff"])
    url = f"/checkin/students/{campus['student'].id}/check-out"
    data = _check_out_form(record)
    del data[f"key-{key.id}"]
    assert "Room key 101-1: say whether it was returned or is missing." in client.post(
        url, data=data, follow_redirects=True).get_data(as_text=True)
    charged = client.post(url, data=_check_out_form(record, **{f"key-{key.id}-charge": "10"}),
                          follow_redirects=True).get_data(as_text=True)
    assert "Room key 101-1: a returned key cannot carry a charge." in charged
    absurd = client.post(url, data=_check_out_form(record, **{f"key-{key.id}": "missing",
                                                              f"key-{key.id}-charge": "1e9"}),
                         follow_redirects=True).get_data(as_text=True)
    assert "Room key 101-1: 1e9 yuan is more than the most a charge can be" in absurd
    assert _count(CheckOut) == 0 and residence.current_assignment(campus["student"]) is not None


def test_the_database_refuses_negative_or_absurd_charges(app, campus):
    record = _check_in(campus["student"])
    out = CheckOut(check_in=record, checked_out_at=utcnow())
    db.session.add(out)
    db.session.flush()
    for cents in (-100, 0, 10**9):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(Damage(check_out=out, description="x", amount_cents=cents))
            db.session.flush()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        record.keys[0].charge_cents = 500  # a key not missing cannot be charged
        db.session.flush()
    db.session.rollback()


# --- room change --------------------------------------------------------------------------------------------------

def test_a_room_change_checks_out_of_the_old_bed_and_in_to_the_new_one(app, client, login, campus):
    record = _check_in(campus["student"])
    login(campus["staff"])
    page = client.post(f"/checkin/students/{campus['student'].id}/room-change", data=_check_out_form(record, bed="a1-102-1", key_kind=["room_key", "mailbox_key"], key_label=["102-1", "信箱 13"]),
        follow_redirects=True).get_data(as_text=True)
    assert "2024000001 王小明 moved to A1-102-1 and is checked in there." in page
    db.session.expire_all()
    assert record.check_out.reason == "room change" and record.keys[0].status == KeyStatus.RETURNED
    new = services.current_check_in(campus["student"])
    assert new.assignment.bed.code == "A1-102-1" and [k.label for k in new.keys] == ["102-1", "信箱 13"]
    assert [i.asset_label for i in new.items] == ["GZ-0101"]
    history = residence.history(campus["student"])
    assert [(a.bed.code, a.end_reason) for a in history] == [("A1-102-1", None), ("A1-101-1", "room change")]
    assert history[0].start_reason == "room change"


@pytest.mark.parametrize("change, message", [
    ({"bed": "A1-101-2"}, "Bed A1-101-2 is already taken by 2024000002 李大壮."),
    ({"bed": "Z9-999-9"}, "New bed: there is no bed Z9-999-9"),
    ({"bed": "A1-102"}, "New bed: there is no bed A1-102 (write it as building-room-bed"),
    # Refused only after the move: the new check-in's keys are wrong. Still nothing changes.
    ({"bed": "A1-102-1", "key_kind": ["room_key", "room_key"], "key_label": ["1", "1"]},
     "Key row 2: Room key 1 is listed twice."),
    ({"bed": "A1-102-1", "damage_item": [""], "damage_description": ["墙"], "damage_amount": ["-1"]},
     "Damage row 1: the amount cannot be negative."),
])
def test_a_refused_room_change_changes_nothing(app, client, login, campus, change, message):
    record = _check_in(campus["student"])
    login(campus["staff"])
    page = client.post(f"/checkin/students/{campus['student'].id}/room-change",
                       data=_check_out_form(record, **change), follow_redirects=True).get_data(as_text=True)
    assert message in page
    db.session.expire_all()
    assert residence.current_assignment(campus["student"]).bed.code == "A1-101-1"
    assert _count(CheckOut) == 0 and _count(CheckIn) == 1 and _count(Assignment) == 2
    assert record.keys[0].status == KeyStatus.ISSUED


def test_a_room_change_failing_inside_the_service_leaves_nothing(app, campus):
    """At the service level too: the move happened in the session, then the new check-in failed."""
    key = _check_in(campus["student"]).keys[0]
    bed = campus["other_room"].beds[0]
    with pytest.raises(ServiceError, match="listed twice"):
        services.change_room(campus["student"], bed, services.Inspection({}, {key.id: services.KeyReturn(True)}, []),
                             keys=[services.KeyInput(KeyKind.ROOM_KEY, "x")] * 2)
    db.session.rollback()
    assert residence.current_assignment(campus["student"]).bed.code == "A1-101-1" and _count(CheckOut) == 0


# --- who may see what ---------------------------------------------------------------------------------------------

def test_counselors_and_students_see_only_their_own_check_ins_and_never_the_desk(app, client, login, campus):
    mine, theirs = _check_in(campus["student"]), _check_in(campus["roommate"])
    login(campus["counselor"])
    assert client.get(f"/checkin/{mine.id}").status_code == 200
    assert client.get(f"/checkin/{theirs.id}").status_code == 404
    student_page = client.get(f"/students/{campus['student'].id}").get_data(as_text=True)
    assert 'data-testid="check-in-summary"' in student_page and 'data-state="checked-in"' in student_page
    for url in ("/checkin/desk", "/checkin/reports", "/checkin/check-outs", "/checkin/export/check-ins.csv"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/checkin/students/{campus['student'].id}/check-in", data=KEYS).status_code == 403
    assert client.get(f"/checkin/students/{campus['student'].id}/check-out").status_code == 403
    assert client.post(f"/checkin/{mine.id}/acknowledge").status_code == 403
    assert client.post(f"/checkin/{mine.id}/keys", data=KEYS).status_code == 403
    assert client.post(f"/checkin/students/{campus['student'].id}/room-change", data={}).status_code == 403
    assert client.get("/checkin/me").status_code == 403
    # Out of scope, or out of range: missing, photos included.
    assert client.get(f"/checkin/{theirs.id}/photos/1").status_code == 404
    assert client.get(f"/checkin/{2**40}").status_code == 404
    assert client.get(f"/checkin/{mine.id}/photos/{2**40}").status_code == 404
    client.post("/logout")
    login(campus["account"])
    assert client.get(f"/checkin/{mine.id}").status_code == 200
    assert client.get(f"/checkin/{theirs.id}").status_code == 404
    assert client.post(f"/checkin/{theirs.id}/items/{theirs.items[0].id}/dispute", data={"note": "x"}).status_code == 404
    assert client.get("/checkin/desk").status_code == 403
    assert client.post(f"/checkin/students/{campus['student'].id}/check-in", data=KEYS).status_code == 403
    assert client.post(f"/checkin/students/{campus['student'].id}/room-change", data={}).status_code == 403
    assert client.post(f"/checkin/{mine.id}/keys", data=KEYS).status_code == 403
    own_page = client.get(f"/students/{campus['student'].id}").get_data(as_text=True)
    assert 'data-testid="check-in-summary"' in own_page
    assert _count(KeyIssue) == 2  # nothing was added by the refused requests
    client.post("/logout")
    login(campus["staff"])
    assert client.get("/checkin/me").status_code == 403
    staff_view = client.get(f"/students/{campus['roommate'].id}").get_data(as_text=True)
    assert f"/checkin/{theirs.id}" in staff_view
    assert client.get(f"/checkin/students/{2**40}/check-out").status_code == 404
    assert client.post(f"/checkin/students/{2**40}/check-in", data=KEYS).status_code == 404


def test_the_student_nav_and_the_staff_residence_menu_link_the_pages(app, client, login, campus):
    login(campus["staff"])
    assert '<li><a class="dropdown-item" href="/checkin/desk">Check-in desk</a></li>' in client.get(
        "/checkin/desk").get_data(as_text=True)
    client.post("/logout")
    login(campus["account"])
    assert 'href="/checkin/me"' in client.get("/checkin/me").get_data(as_text=True)


# --- exports ------------------------------------------------------------------------------------------------------

def test_exports_of_check_ins_pending_reports_and_check_outs(app, client, login, campus):
    done = _check_in(campus["student"])
    _check_in(campus["roommate"])
    done.acknowledged_at = utcnow()
    services.check_out(campus["student"], services.Inspection(
        {}, {done.keys[0].id: services.KeyReturn(False, 3000)}, [services.DamageInput("墙面涂鸦", 8000)]))
    db.session.commit()
    login(campus["staff"])
    check_ins = client.get("/checkin/export/check-ins.csv")
    rows = list(csv.DictReader(io.StringIO(check_ins.data.decode("utf-8-sig"))))
    # A download from a page: columns and words as the reader reads them.
    assert [(r["Student number"], r["Keys"], r["Condition report"]) for r in rows] == [
        ("2024000001", "Room key:101-1:Missing", "Acknowledged"),
        ("2024000002", "Room key:101-1:Handed out", "Awaiting acknowledgement")]
    assert rows[0]["Checked out at"] and not rows[1]["Checked out at"]
    pending = client.get("/checkin/export/pending.xlsx")
    sheet = load_workbook(io.BytesIO(pending.data)).active
    values = list(sheet.values)
    assert values[0][0] == "Student number" and [v[0] for v in values[1:]] == ["2024000002"]
    assert values[1][7] == "Awaiting acknowledgement"
    out = client.get("/checkin/export/check-outs.csv")
    rows = list(csv.DictReader(io.StringIO(out.data.decode("utf-8-sig"))))
    assert [(r["Reason"], r["Charge"], r["Description"], r["Amount (yuan)"], r["Total (yuan)"]) for r in rows] == [
        ("Check-out", "Damage", "墙面涂鸦", "80.00", "110.00"), ("Check-out", "Missing key", "", "30.00", "110.00")]
    client.post("/language/zh_CN")
    chinese = client.get("/checkin/export/check-outs.csv").data.decode("utf-8-sig")
    assert chinese.splitlines()[0].startswith("学号,姓名,班级,床位") and "退宿" in chinese and "check-out" not in chinese
    client.post("/language/en")
    assert client.get("/checkin/export/check-outs.pdf").status_code == 404
    assert "墙面涂鸦" in client.get("/checkin/check-outs").get_data(as_text=True)


# --- staying fast at the start of term ----------------------------------------------------------------------------

def _expect(create_room, create_student, building, how_many: int, start: int):
    for n in range(how_many):
        room = create_room(building, f"{start + n}", capacity=1)
        residence.assign(create_student(f"2026{start + n:06d}", name=f"新生{start + n}"), room.beds[0],
                         reason="intake")
    db.session.commit()


def test_the_desk_and_the_check_in_take_a_constant_number_of_queries(app, client, login, campus, count_queries,
                                                                     create_room, create_student):
    building = campus["room"].building
    login(campus["staff"])

    def measure(student):
        with count_queries() as desk:
            assert client.get("/checkin/desk", query_string={"q": student.student_number}).status_code == 200
        with count_queries() as action:
            assert client.post(f"/checkin/students/{student.id}/check-in", data=KEYS).status_code == 302
        assert services.current_check_in(student) is not None
        db.session.commit()
        return len(desk), len(action)

    _expect(create_room, create_student, building, 3, 300)
    # Someone is already on today's list (an empty list costs one query less: nothing to load keys for).
    _check_in(services.find_student("2026000300"))
    few = measure(campus["student"])
    _expect(create_room, create_student, building, 40, 400)
    many = measure(campus["roommate"])
    assert few == many, (few, many)
    assert many[0] <= 25 and many[1] <= 25


def test_the_desk_lists_are_paged_and_filtered_by_building(app, client, login, campus, create_building,
                                                          create_room, create_student):
    _expect(create_room, create_student, campus["room"].building, 30, 500)
    b2 = create_building("B2", gender_policy=GenderPolicy.FEMALE)
    other = create_room(b2, "201", capacity=1)
    residence.assign(create_student("2026999999", name="女生", gender=Gender.FEMALE), other.beds[0], reason="intake")
    db.session.commit()
    login(campus["staff"])
    first = client.get("/checkin/desk").get_data(as_text=True)
    expected = first.split('data-testid="expected"')[1].split("</table>")[0]
    assert expected.count("<tr>") == 1 + 25 and "epage=2" in first
    second = client.get("/checkin/desk", query_string={"epage": 2}).get_data(as_text=True)
    assert second.split('data-testid="expected"')[1].split("</table>")[0].count("<tr>") == 1 + 8
    only_b2 = client.get("/checkin/desk", query_string={"building": b2.id}).get_data(as_text=True)
    expected = only_b2.split('data-testid="expected"')[1].split("</table>")[0]
    assert "女生" in expected and "新生" not in expected


# --- smaller pieces -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, cents", [("120", 12000), ("120.5", 12050), ("¥1,200.05", 120005), ("", None),
                                         ("0", 0), ("50000", 5_000_000)])
def test_yuan_are_read_as_cents(app, text, cents):
    assert services.parse_yuan(text, what="x") == cents


def test_demo_data_checks_most_in_leaves_some_pending_and_checks_some_out(app, campus, create_room, create_student):
    _expect(create_room, create_student, campus["room"].building, 30, 600)
    from dorms.checkin import demo

    placed = {a.student_id: a for a in db.session.scalars(sa.select(Assignment).where(Assignment.ended_at.is_(None)))}
    made = demo.seed(random.Random(7), placed, campus["staff"])
    db.session.commit()
    assert made > 0
    records = list(db.session.scalars(sa.select(CheckIn)))
    assert len(records) >= len(placed) * 0.7
    states = {r.report_state() for r in records if r.check_out is None}
    assert ReportState.PENDING in states and ReportState.ACKNOWLEDGED in states
    assert _count(CheckOut) >= 1 and _count(Damage) >= 1
    assert all(r.keys for r in records)


def test_the_room_page_shows_its_residents_check_in_state(app, client, login, campus):
    record = _check_in(campus["student"])
    login(campus["staff"])
    page = client.get(f"/rooms/{campus['room'].id}").get_data(as_text=True)
    box = page.split('data-testid="room-check-ins"')[1].split("</ul>")[0]
    assert f"/checkin/{record.id}" in box and 'data-state="checked-in"' in box
    assert "Not checked in yet" in box and "q=2024000002" in box


def test_every_page_renders_in_chinese(app, client, login, campus):
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    record = _check_in(campus["student"])
    services.dispute(record, campus["student"], record.items[0].id, "坏的")
    leaving = _check_in(campus["roommate"])
    services.check_out(campus["roommate"], services.Inspection(
        {}, {leaving.keys[0].id: services.KeyReturn(True)}, [services.DamageInput("墙", 100)]))
    db.session.commit()
    login(campus["staff"])
    for url in ("/checkin/desk?q=2024000001", "/checkin/desk?q=2024000002", "/checkin/reports?state=disputed",
                "/checkin/check-outs", f"/checkin/{record.id}", f"/checkin/students/{campus['student'].id}/check-out",
                f"/checkin/students/{campus['student'].id}/room-change", f"/students/{campus['student'].id}",
                f"/rooms/{campus['room'].id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-Hans-CN"' in response.get_data(as_text=True), url
    assert "<td>退宿</td>" in client.get("/checkin/check-outs").get_data(as_text=True)  # the reason, translated
    client.post("/logout")
    login(campus["account"])
    assert client.get("/checkin/me").status_code == 200


def test_the_student_list_shows_check_in_states_without_a_query_per_row(app, client, login, campus, count_queries,
                                                                       create_room, create_student):
    _check_in(campus["student"])
    login(campus["counselor"])
    page = client.get("/students/").get_data(as_text=True)
    rows = page.split('data-testid="student-results"')[1].split("</table>")[0]
    assert 'data-state="checked-in"' in rows and "李大壮" not in rows  # only the counselor's own students
    client.post("/logout")
    login(campus["staff"])
    with count_queries() as few:
        client.get("/students/")
    _expect(create_room, create_student, campus["room"].building, 10, 700)
    for student in list(db.session.scalars(sa.select(Student).where(Student.student_number.like("2026%"))))[:5]:
        _check_in(student)
    with count_queries() as many:
        page = client.get("/students/").get_data(as_text=True)
    assert page.count('data-state="checked-in"') == 6 and page.count('data-state="expected"') == 6
    assert len(few) == len(many)


def test_the_office_lists_take_a_constant_number_of_queries(app, client, login, campus, count_queries,
                                                           create_room, create_student):
    def dispute_report_of(student):
        room = residence.current_assignment(student).bed.room
        if not facilities.items_in(room.id):
            facilities.add_item(room, ItemKind.DESK)
        record = _check_in(student)
        services.dispute(record, student, record.items[0].id, "桌子是坏的")
        db.session.commit()
        return record

    def check_out(student):
        record = dispute_report_of(student)
        services.check_out(student, services.Inspection(
            {}, {record.keys[0].id: services.KeyReturn(False, 500)}, [services.DamageInput("墙", 100)]))
        db.session.commit()

    def measure():
        with count_queries() as reports:
            page = client.get("/checkin/reports", query_string={"state": "disputed"}).get_data(as_text=True)
        with count_queries() as check_outs:
            assert client.get("/checkin/check-outs").status_code == 200
        return page.count("桌子是坏的"), len(reports), len(check_outs)

    dispute_report_of(campus["roommate"])
    check_out(campus["student"])
    login(campus["staff"])
    few = measure()
    _expect(create_room, create_student, campus["room"].building, 6, 800)
    newcomers = list(db.session.scalars(sa.select(Student).where(Student.student_number.like("2026%"))))
    for student in newcomers[:3]:
        dispute_report_of(student)
    for student in newcomers[3:]:
        check_out(student)
    many = measure()
    assert (few[0], many[0]) == (1, 4)
    assert few[1:] == many[1:], (few, many)


def test_an_open_dispute_shows_on_the_lists_badges_until_it_is_answered(app, client, login, campus):
    """The student list, the room page and the student page count a check-in's open disputes in their query."""
    record = _check_in(campus["student"])
    services.dispute(record, campus["student"], record.items[0].id, "桌子是坏的")
    db.session.commit()
    login(campus["staff"])
    pages = ("/students/?q=2024000001", f"/rooms/{campus['room'].id}", f"/students/{campus['student'].id}")
    for url in pages:
        assert "1 disputed" in client.get(url).get_data(as_text=True), url
    services.resolve_dispute(record, record.items[0].id, Condition.GOOD, "换了桌子", actor=campus["staff"])
    db.session.commit()
    for url in pages:
        assert "disputed" not in client.get(url).get_data(as_text=True), url
