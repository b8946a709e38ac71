"""Violations (违纪): the type catalogue, records with photos, the workflow with appeals, comments, who sees what,
counts with a chart, exports, and the refusals that change nothing."""
import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image

from dorms.audit.models import AuditEntry
from dorms.core import kept
from dorms.core.clock import campus_today
from dorms.core.enums import Role
from dorms.core.errors import Conflict, ServiceError
from dorms.extensions import db
from dorms.photos import Photo
from dorms.residence import services as residence
from dorms.violations import services
from dorms.violations.models import (
    Severity,
    Violation,
    ViolationComment,
    ViolationEvent,
    ViolationStatus,
    ViolationType,
    violation_photos,
    violation_students,
)

from .racing import run_at_once

S = ViolationStatus


def png(colour="red", size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def world(create_building, create_room, create_student, create_user):
    """A1-101 with 张三 (计科2401) and 李四 (计科2402); B2-201 with 王五 (计科2401); 赵六 has no bed."""
    a1, b2 = create_building("A1"), create_building("B2")
    r101, r102, r201 = create_room(a1, "101"), create_room(a1, "102"), create_room(b2, "201", floor=2)
    zhang = create_student("2024000001", name="张三", class_name="计科2401")
    li = create_student("2024000002", name="李四", class_name="计科2402")
    wang = create_student("2024000003", name="王五", class_name="计科2401")
    zhao = create_student("2024000004", name="赵六", class_name="计科2401")
    residence.assign(zhang, r101.beds[0], reason="intake")
    residence.assign(li, r101.beds[1], reason="intake")
    residence.assign(wang, r201.beds[0], reason="intake")
    late = ViolationType(name="晚归", severity=Severity.MINOR)
    smoking = ViolationType(name="吸烟", severity=Severity.SERIOUS)
    db.session.add_all([late, smoking])
    db.session.commit()
    return {"a1": a1, "b2": b2, "r101": r101, "r102": r102, "r201": r201, "zhang": zhang, "li": li,
            "wang": wang, "zhao": zhao, "late": late, "smoking": smoking,
            "staff": create_user("staff", role=Role.STAFF),
            "counselor_a": create_user("counselor_a", role=Role.COUNSELOR, classes=["计科2401"]),
            "counselor_b": create_user("counselor_b", role=Role.COUNSELOR, classes=["计科2402"]),
            "zhang_account": create_user("2024000001", role=Role.STUDENT, student=zhang),
            "li_account": create_user("2024000002", role=Role.STUDENT, student=li)}


def record(world, *, students=("2024000001",), room="", vtype="late", day=None, status=None, **fields):
    """A record made through the service, optionally moved on (staff) to ``status``."""
    violation = services.record(type_id=world[vtype].id, student_numbers=list(students), room_code=room,
                                occurred_on=day or campus_today() - timedelta(days=1),
                                description=fields.get("description", "23:40 才回宿舍"), files=fields.get("files", ()),
                                actor=world["staff"])
    path = {S.NOTIFIED: [S.NOTIFIED], S.RESOLVED: [S.NOTIFIED, S.RESOLVED]}.get(status, [])
    for step in path:
        services.move(violation, step, actor=world["staff"])
    db.session.commit()
    return violation


def form(world, **overrides):
    data = {"student_numbers": "2024000001 2024000002", "room_code": "A1-101", "type_id": str(world["smoking"].id),
            "occurred_on": (campus_today() - timedelta(days=2)).isoformat(),
            "description": "宿舍内吸烟，烟雾报警器响"}
    data.update(overrides)
    return data


# --- recording -----------------------------------------------------------------------------------------------


def test_staff_record_a_violation_with_students_room_and_photos(app, client, login, world):
    login(world["staff"])
    assert "JPEG, PNG, WebP or GIF; up to 4." in client.get("/violations/new").get_data(as_text=True)
    data = form(world, photos=[(io.BytesIO(png()), "烟头.png"), (io.BytesIO(png("blue")), "window.png")])
    response = client.post("/violations/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    violation = db.session.scalar(sa.select(Violation))
    assert response.headers["Location"].endswith(f"/violations/{violation.id}")
    assert [s.name for s in violation.students] == ["张三", "李四"]
    assert (violation.room.code, violation.building.code, violation.status) == ("A1-101", "A1", S.RECORDED)
    assert violation.recorded_by.username == "staff" and violation.recorded_at is not None
    assert [(e.status, e.actor.username) for e in violation.events] == [(S.RECORDED, "staff")]
    assert sorted(p.original_name for p in violation.photos) == ["window.png", "烟头.png"]
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "violation.record"))
    assert audit.details["students"] == ["2024000001", "2024000002"] and audit.room.code == "A1-101"

    page = client.get(f"/violations/{violation.id}").get_data(as_text=True)
    assert "宿舍内吸烟" in page and "2024000002 李四" in page and 'data-event="recorded"' in page
    photo = violation.photos[0]
    served = client.get(f"/violations/{violation.id}/photos/{photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data.startswith(b"\x89PNG")
    assert client.get(f"/violations/{violation.id}/photos/{photo.id + 100}").status_code == 404


def test_a_record_naming_only_a_room_counts_for_its_building_and_one_naming_students_for_the_first_ones(
        app, world):
    only_room = record(world, students=(), room="B2-201")
    only_students = record(world, students=("2024000003", "2024000001"))
    assert (only_room.room.code, only_room.building.code, only_room.students) == ("B2-201", "B2", [])
    assert only_students.room is None and only_students.building.code == "B2"  # 王五 named first, lives in B2


@pytest.mark.parametrize("overrides, message", [
    ({"student_numbers": "2024000004"}, "2024000004 赵六 is not a resident (no current bed)"),
    ({"student_numbers": "2024000001 2024000004", "room_code": ""}, "2024000004 赵六 is not a resident"),
    ({"student_numbers": "", "room_code": ""}, "Name at least one student or a room."),
    ({"student_numbers": "2099999999"}, "There is no student with number 2099999999."),
    ({"room_code": "Z9-999"}, "There is no room Z9-999"),
    ({"occurred_on": "2999-01-01"}, "Date it happened: Give a date from 2000-01-01 to"),
    ({"occurred_on": ""}, "Give the date it happened."),
    ({"type_id": "0"}, "Choose a violation type."),
    ({"type_id": "99999999999"}, "Choose a violation type."),
])
def test_refused_records_name_the_problem_and_change_nothing(app, client, login, world, overrides, message):
    login(world["staff"])
    response = client.post("/violations/new", data=form(world, **overrides), follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert (count(Violation), count(ViolationEvent), count(Photo)) == (0, 0, 0)


def test_tomorrow_on_the_campus_calendar_is_the_future(app, world):
    with pytest.raises(ServiceError, match="is in the future"):
        record(world, day=campus_today() + timedelta(days=1))
    assert count(Violation) == 0


def test_a_retired_type_is_not_offered_and_is_refused(app, client, login, world):
    world["smoking"].active = False
    db.session.commit()
    login(world["staff"])
    assert "吸烟" not in client.get("/violations/new").get_data(as_text=True)
    response = client.post("/violations/new", data=form(world), follow_redirects=True)
    assert "吸烟 is retired; choose a type in use." in response.get_data(as_text=True)
    assert count(Violation) == 0


@pytest.mark.parametrize("upload, message", [
    ((b"%PDF-1.4 not an image", "notice.pdf"), "notice.pdf is not a photo (JPEG, PNG, WebP or GIF)."),
    ((png()[:40], "cut.png"), "cut.png is not a photo"),
    ((png(size=(400, 400)) + b"\0" * 4096, "big.png"), "Photo big.png is"),
])
def test_a_photo_that_is_not_an_image_or_too_large_refuses_the_whole_record(
        app, client, login, world, upload, message):
    app.config["PHOTO_MAX_BYTES"] = 4096
    login(world["staff"])
    data = form(world, photos=[(io.BytesIO(png()), "good.png"), (io.BytesIO(upload[0]), upload[1])])
    response = client.post("/violations/new", data=data, content_type="multipart/form-data", follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert (count(Violation), count(Photo), db.session.scalar(
        sa.select(sa.func.count()).select_from(violation_photos))) == (0, 0, 0)


# --- the workflow --------------------------------------------------------------------------------------------


def test_staff_notify_and_resolve_with_the_history_kept_and_wrong_steps_refused(app, client, login, world):
    violation = record(world)
    login(world["staff"])
    url = f"/violations/{violation.id}/status"
    refused = client.post(url, data={"status": "resolved"}, follow_redirects=True).get_data(as_text=True)
    assert f"Violation #{violation.id} is recorded: it can go on to notified, not resolved." in refused
    assert client.post(url, data={"status": "notified", "note": "已电话通知"}).status_code == 302
    client.post(url, data={"status": "resolved", "note": "已写检讨"})
    over = client.post(url, data={"status": "notified"}, follow_redirects=True).get_data(as_text=True)
    assert f"Violation #{violation.id} is resolved: its workflow is over." in over
    db.session.expire_all()
    assert violation.status == S.RESOLVED
    assert [(e.status, e.note, e.actor.username) for e in violation.events] == [
        (S.RECORDED, "", "staff"), (S.NOTIFIED, "已电话通知", "staff"), (S.RESOLVED, "已写检讨", "staff")]
    assert all(e.at is not None for e in violation.events)
    page = client.get(f"/violations/{violation.id}").get_data(as_text=True)
    assert "已电话通知" in page and 'data-testid="move"' not in page  # nothing left to do


def test_a_step_taken_meanwhile_by_someone_else_is_refused(app, world):
    violation = record(world, status=S.NOTIFIED)
    # Another request resolves it after this one read the record (and so moves its version on).
    db.session.execute(sa.update(Violation).where(Violation.id == violation.id)
                       .values(status=S.RESOLVED, version=Violation.version + 1)
                       .execution_options(synchronize_session=False))
    assert violation.status == S.NOTIFIED  # what this request read
    with pytest.raises(Conflict, match=f"Violation #{violation.id} was changed by someone else meanwhile"):
        services.appeal(violation, world["zhang"], "不服")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ViolationEvent)
                             .where(ViolationEvent.status == S.APPEALED)) == 0


def test_staff_cannot_appeal_for_a_student(app, world):
    violation = record(world, status=S.NOTIFIED)
    with pytest.raises(ServiceError, match="Only a student named in violation"):
        services.move(violation, S.APPEALED, actor=world["staff"])
    with pytest.raises(ServiceError, match="is notified: it can go on to resolved, appealed, not recorded"):
        services.move(violation, S.RECORDED, actor=world["staff"])
    with pytest.raises(ServiceError, match="Only the housing office"):
        services.move(violation, S.RESOLVED, actor=world["counselor_a"])
    assert violation.status == S.NOTIFIED


def test_a_named_student_appeals_once_while_notified_and_staff_decide(app, client, login, world):
    violation = record(world, status=S.NOTIFIED)
    login(world["zhang_account"])
    page = client.get(f"/violations/{violation.id}").get_data(as_text=True)
    assert 'data-testid="appeal-form"' in page
    empty = client.post(f"/violations/{violation.id}/appeal", data={"reason": ""}, follow_redirects=True)
    assert "This field is required" in empty.get_data(as_text=True)
    client.post(f"/violations/{violation.id}/appeal", data={"reason": "那天是请过假的"})
    twice = client.post(f"/violations/{violation.id}/appeal", data={"reason": "再申诉"}, follow_redirects=True)
    assert f"Violation #{violation.id} has already been appealed; it can be appealed only once." in \
        twice.get_data(as_text=True)
    db.session.expire_all()
    assert (violation.status, violation.appeal_reason, violation.appellant.name) == (S.APPEALED, "那天是请过假的", "张三")
    assert violation.events[-1].actor.username == "2024000001"

    client.post("/logout")
    login(world["staff"])
    no_reason = client.post(f"/violations/{violation.id}/status", data={"status": "dismissed"}, follow_redirects=True)
    assert "Say why the appeal on violation" in no_reason.get_data(as_text=True)
    client.post(f"/violations/{violation.id}/status", data={"status": "dismissed", "note": "假条属实"})
    db.session.expire_all()
    assert violation.status == S.DISMISSED and violation.events[-1].note == "假条属实"


def test_an_appeal_in_the_wrong_state_or_by_someone_else_is_refused(app, client, login, world):
    recorded = record(world, students=("2024000001", "2024000002"))
    login(world["zhang_account"])
    wrong = client.post(f"/violations/{recorded.id}/appeal", data={"reason": "不服"}, follow_redirects=True)
    assert f"Violation #{recorded.id} is recorded; it can be appealed only while it is notified." in \
        wrong.get_data(as_text=True)
    others = record(world, students=("2024000002",), status=S.NOTIFIED)
    assert client.post(f"/violations/{others.id}/appeal", data={"reason": "不服"}).status_code == 404
    with pytest.raises(ServiceError, match=f"Only a student named in violation #{others.id} can appeal it."):
        services.appeal(others, world["zhang"], "不服")
    # A record naming two students is appealed once, by either of them.
    services.move(recorded, S.NOTIFIED, actor=world["staff"])
    services.appeal(recorded, world["li"], "我不在场")
    with pytest.raises(ServiceError, match="already been appealed"):
        services.appeal(recorded, world["zhang"], "我也不在场")
    db.session.rollback()
    assert recorded.appellant_id is None and others.status == S.NOTIFIED


def test_the_database_refuses_an_appealed_status_without_an_appeal(app, world):
    violation = record(world, status=S.NOTIFIED)
    violation.status = S.APPEALED
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_a_record_that_counts_for_no_building(app, world):
    db.session.add(Violation(type=world["late"], occurred_on=campus_today(), description=""))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- who sees what -------------------------------------------------------------------------------------------


def test_counselors_see_and_comment_on_their_own_students_records_only(app, client, login, world):
    photo_bytes = png()

    class Upload(io.BytesIO):
        filename = "evidence.png"

    mine = record(world, students=("2024000001",), files=[Upload(photo_bytes)])
    theirs = record(world, students=("2024000002",), files=[Upload(photo_bytes)])
    room_only = record(world, students=(), room="A1-102")
    login(world["counselor_a"])
    listing = client.get("/violations/").get_data(as_text=True)
    assert f'data-violation="{mine.id}"' in listing
    assert f'data-violation="{theirs.id}"' not in listing and f'data-violation="{room_only.id}"' not in listing
    assert client.get(f"/violations/{mine.id}").status_code == 200
    assert client.get(f"/violations/{mine.id}/photos/{mine.photos[0].id}").status_code == 200
    # A record naming their student and another counselor's: the other student by name, without a link.
    both = record(world, students=("2024000001", "2024000002"))
    named = client.get(f"/violations/{both.id}").get_data(as_text=True)
    assert f'href="/students/{world["zhang"].id}"' in named and f'href="/students/{world["li"].id}"' not in named
    assert "李四" in named and "2024000002" not in named
    # The list and the export say no more about the other student than the record's page does.
    listing = client.get("/violations/").get_data(as_text=True)
    assert "李四" in listing and "2024000002" not in listing and "计科2402" not in listing
    exported = client.get("/violations/export.csv").data.decode("utf-8-sig")
    assert "2024000001 张三; 李四" in exported and "2024000002" not in exported and "计科2402" not in exported
    for url in (f"/violations/{theirs.id}", f"/violations/{theirs.id}/photos/{theirs.photos[0].id}",
                f"/violations/{room_only.id}", "/violations/999999", "/violations/99999999999"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/violations/{theirs.id}/comments", data={"body": "看看"}).status_code == 404

    client.post(f"/violations/{mine.id}/comments", data={"body": "已找学生谈话"})
    comment = db.session.scalar(sa.select(ViolationComment))
    assert (comment.body, comment.author.username, comment.violation_id) == ("已找学生谈话", "counselor_a", mine.id)
    assert comment.created_at is not None and "已找学生谈话" in client.get(f"/violations/{mine.id}").get_data(as_text=True)
    # The service refuses too, whatever the page does.
    with pytest.raises(ServiceError, match=f"Violation #{theirs.id} names none of your students"):
        services.comment(theirs, "越权", actor=world["counselor_a"])
    db.session.rollback()
    assert count(ViolationComment) == 1


def test_students_see_their_own_records_and_photos_only(app, client, login, world):
    class Upload(io.BytesIO):
        filename = "evidence.png"

    mine = record(world, students=("2024000001",), files=[Upload(png())])
    shared = record(world, students=("2024000001", "2024000002"))
    theirs = record(world, students=("2024000002",), files=[Upload(png())])
    login(world["zhang_account"])
    listing = client.get("/violations/").get_data(as_text=True)
    assert f'data-violation="{mine.id}"' in listing and f'data-violation="{shared.id}"' in listing
    assert f'data-violation="{theirs.id}"' not in listing
    assert client.get(f"/violations/{mine.id}/photos/{mine.photos[0].id}").status_code == 200
    assert client.get(f"/violations/{theirs.id}").status_code == 404
    assert client.get(f"/violations/{theirs.id}/photos/{theirs.photos[0].id}").status_code == 404
    # Their photo asked for through the student's own record is no better.
    assert client.get(f"/violations/{mine.id}/photos/{theirs.photos[0].id}").status_code == 404
    assert "Comments" not in client.get(f"/violations/{mine.id}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["student", "counselor"])
def test_students_and_counselors_cannot_record_move_or_keep_the_catalogue(app, client, login, world, role):
    violation = record(world)
    login(world["zhang_account"] if role == "student" else world["counselor_a"])
    assert client.get("/violations/new").status_code == 403
    assert client.post("/violations/new", data=form(world)).status_code == 403
    assert client.post(f"/violations/{violation.id}/status", data={"status": "notified"}).status_code == 403
    assert client.get("/violations/types").status_code == 403
    assert client.post("/violations/types", data={"name": "x", "severity": "minor"}).status_code == 403
    assert client.post(f"/violations/types/{world['late'].id}/retire").status_code == 403
    assert client.post(f"/violations/types/{world['late'].id}/delete").status_code == 403
    if role == "student":
        assert client.get("/violations/summary").status_code == 403
        assert client.get("/violations/export.csv").status_code == 403
        assert client.post(f"/violations/{violation.id}/comments", data={"body": "x"}).status_code == 403
    else:
        assert client.post(f"/violations/{violation.id}/appeal", data={"reason": "x"}).status_code == 403
    db.session.expire_all()
    assert (count(Violation), violation.status, count(ViolationType)) == (1, S.RECORDED, 2)
    assert world["late"].active


def test_signed_out_visitors_are_sent_to_sign_in(app, client, world):
    violation = record(world)
    for url in ("/violations/", f"/violations/{violation.id}", "/violations/summary"):
        assert client.get(url).status_code in (302, 401)


# --- the catalogue -------------------------------------------------------------------------------------------


def test_staff_keep_the_catalogue_and_a_type_in_use_is_retired_not_deleted(app, client, login, world):
    login(world["staff"])
    client.post("/violations/types", data={"name": "违规电器", "severity": "serious"})
    duplicate = client.post("/violations/types", data={"name": "晚归", "severity": "grave"}, follow_redirects=True)
    assert "There is already a violation type named 晚归." in duplicate.get_data(as_text=True)
    appliance = db.session.scalar(sa.select(ViolationType).where(ViolationType.name == "违规电器"))
    client.post(f"/violations/types/{appliance.id}", data={"name": "使用违规电器", "severity": "grave"})
    db.session.expire_all()
    assert (appliance.name, appliance.severity) == ("使用违规电器", Severity.GRAVE)
    clash = client.post(f"/violations/types/{appliance.id}", data={"name": "吸烟", "severity": "grave"},
                        follow_redirects=True)
    assert "There is already a violation type named 吸烟." in clash.get_data(as_text=True)

    used = record(world, vtype="smoking")
    answer = client.post(f"/violations/types/{world['smoking'].id}/delete", follow_redirects=True)
    assert "吸烟 is used by violation records, so it was retired instead of deleted." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert world["smoking"].active is False and used.type.name == "吸烟"
    assert "吸烟 is already retired." in client.post(f"/violations/types/{world['smoking'].id}/retire",
                                                    follow_redirects=True).get_data(as_text=True)
    client.post(f"/violations/types/{world['smoking'].id}/restore")
    appliance_id = appliance.id
    client.post(f"/violations/types/{appliance_id}/delete")
    db.session.expire_all()
    assert world["smoking"].active and db.session.get(ViolationType, appliance_id) is None
    assert {e.action for e in db.session.scalars(sa.select(AuditEntry))} >= {
        "violation.type.add", "violation.type.update", "violation.type.retire", "violation.type.restore",
        "violation.type.delete"}
    page = client.get("/violations/types").get_data(as_text=True)
    assert "吸烟" in page and "晚归" in page


def test_renaming_a_type_renames_it_on_its_records(app, world):
    violation = record(world)
    services.update_type(world["late"], "夜不归宿/晚归", Severity.SERIOUS)
    db.session.commit()
    assert violation.type.name == "夜不归宿/晚归"
    with pytest.raises(ServiceError, match="Nothing changed"):
        services.update_type(world["late"], "夜不归宿/晚归", Severity.SERIOUS)


# --- pages that show records ---------------------------------------------------------------------------------


def test_student_and_room_pages_list_their_violations(app, client, login, world):
    on_zhang = record(world, students=("2024000001",), vtype="smoking")
    on_room = record(world, students=(), room="A1-101")
    on_li = record(world, students=("2024000002",))
    login(world["staff"])
    student_page = client.get(f"/students/{world['zhang'].id}").get_data(as_text=True)
    assert 'data-testid="student-violations"' in student_page and f'data-violation="{on_zhang.id}"' in student_page
    assert f'data-violation="{on_li.id}"' not in student_page
    assert 'href="/violations/new?student=2024000001"' in student_page
    room_page = client.get(f"/rooms/{world['r101'].id}").get_data(as_text=True)
    assert f'data-violation="{on_room.id}"' in room_page and f'data-violation="{on_zhang.id}"' not in room_page
    assert 'value="A1-101"' in client.get("/violations/new?room=A1-101").get_data(as_text=True)
    client.post("/logout")
    login(world["zhang_account"])
    own = client.get("/students/me", follow_redirects=True).get_data(as_text=True)
    assert f'data-violation="{on_zhang.id}"' in own and "吸烟" in own
    client.post("/logout")
    login(world["counselor_a"])
    counselor_view = client.get(f"/students/{world['zhang'].id}").get_data(as_text=True)
    assert f'data-violation="{on_zhang.id}"' in counselor_view and "/violations/new" not in counselor_view


def test_nav_entries_per_role(app, client, login, world):
    login(world["staff"])
    assert 'class="dropdown-item" href="/violations/"' in client.get("/violations/").get_data(as_text=True)
    client.post("/logout")
    for account, label in ((world["counselor_a"], ">Violations<"), (world["zhang_account"], ">My violations<")):
        login(account)
        page = client.get("/violations/").get_data(as_text=True)
        assert 'class="nav-link" href="/violations/"' in page and label in page
        client.post("/logout")


def test_list_filters(app, client, login, world):
    today = campus_today()
    old = record(world, students=("2024000003",), vtype="smoking", day=today - timedelta(days=40))
    new = record(world, students=("2024000001",), status=S.NOTIFIED)
    login(world["staff"])

    def shown(query):
        page = client.get("/violations/?" + query).get_data(as_text=True)
        return {v.id for v in (old, new) if f'data-violation="{v.id}"' in page}

    assert shown("") == {old.id, new.id}
    assert shown("status=notified") == {new.id}
    assert shown(f"type_id={world['smoking'].id}") == {old.id}
    assert shown("severity=serious") == {old.id}
    assert shown(f"building_id={world['b2'].id}") == {old.id}
    assert shown("q=王五") == {old.id} and shown("q=2024000001") == {new.id}
    assert shown(f"first={(today - timedelta(days=7)).isoformat()}") == {new.id}
    assert shown("status=bogus&severity=x&type_id=abc&first=notadate") == {old.id, new.id}
    # The export links carry the filters along, whatever else the address holds.
    page = client.get("/violations/?status=notified&page=2&file_format=pdf").get_data(as_text=True)
    assert 'href="/violations/export.csv?status=notified"' in page


def test_the_list_page_does_not_query_per_record(app, client, login, world, count_queries):
    login(world["staff"])

    def queries_for_list():
        with count_queries() as queries:
            assert client.get("/violations/").status_code == 200
        return len(queries)

    for _ in range(3):
        record(world, students=("2024000001", "2024000002"), room="A1-101")
    few = queries_for_list()
    for _ in range(12):
        record(world, students=("2024000003",), vtype="smoking", room="B2-201")
    assert queries_for_list() == few


@pytest.mark.parametrize("who", ["counselor_a", "zhang_account"])
def test_the_list_and_student_pages_do_not_query_per_record_for_counselors_and_students(
        app, client, login, world, count_queries, who):
    login(world[who])

    def queries_for(url):
        kept.forget_all()  # each count from nothing kept, as the first reader after a change
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    student_page = f"/students/{world['zhang'].id}"
    record(world, students=("2024000001", "2024000003"), room="A1-101")
    few = (queries_for("/violations/"), queries_for(student_page))
    for _ in range(10):
        record(world, students=("2024000001", "2024000002"), vtype="smoking")
    assert (queries_for("/violations/"), queries_for(student_page)) == few


# --- counts, chart and exports -------------------------------------------------------------------------------


@pytest.fixture
def history(world):
    """Over three months: 张三 late twice and smoking once (with 王五, of B2), 李四 once (dismissed on appeal),
    and room A1-102 once."""
    today = campus_today()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    two_ago = (last_month - timedelta(days=1)).replace(day=1)
    record(world, students=("2024000001",), day=two_ago)
    record(world, students=("2024000003", "2024000001"), vtype="smoking", day=last_month)
    record(world, students=("2024000001",), day=this_month)
    dismissed = record(world, students=("2024000002",), day=this_month, status=S.NOTIFIED)
    services.appeal(dismissed, world["li"], "误记")
    services.move(dismissed, S.DISMISSED, note="核实误记", actor=world["staff"])
    record(world, students=(), room="A1-102", vtype="smoking", day=last_month)
    db.session.commit()
    return {"months": [f"{d.year:04d}-{d.month:02d}" for d in (two_ago, last_month, this_month)],
            "first": two_ago, "last": today}


def test_counts_per_student_class_building_and_month_leave_dismissed_out(app, world, history):
    counts = services.counts(world["staff"], history["first"], history["last"])
    assert counts.total == 4
    assert [(number, n) for _id, number, _name, _class, n in counts.by_student] == [
        ("2024000001", 3), ("2024000003", 1)]
    assert counts.by_class == [("计科2401", 3)]  # the record naming 张三 and 王五 counts once for their class
    assert [(code, n) for code, _name, n in counts.by_building] == [("A1", 3), ("B2", 1)]
    first, second, third = history["months"]
    assert dict(counts.by_month) == {first: 1, second: 2, third: 1}
    assert counts.by_month_and_type[second] == {"吸烟": 2}
    only_b2 = services.counts(world["staff"], history["first"], history["last"], building_id=world["b2"].id)
    assert only_b2.total == 1
    # Counselor B's only student's record was dismissed: nothing to count. Counselor A counts their own.
    assert services.counts(world["counselor_b"], history["first"], history["last"]).total == 0
    mine = services.counts(world["counselor_a"], history["first"], history["last"])
    assert mine.total == 3 and [c for c, _n in mine.by_class] == ["计科2401"]


def test_summary_page_with_chart_and_period(app, client, login, world, history):
    login(world["staff"])
    page = client.get(f"/violations/summary?first={history['first']}&last={history['last']}").get_data(as_text=True)
    assert "<svg" in page and "吸烟" in page and "晚归" in page
    assert 'data-student="2024000001"' in page and 'data-count="3"' in page
    for month in history["months"]:
        assert f'data-month="{month}"' in page
    assert client.get("/violations/summary").status_code == 200  # the default period
    assert client.get("/violations/summary?first=2026-05-01&last=2026-01-01").status_code == 400
    assert client.get("/violations/summary?first=2000-01-01&last=2026-01-01").status_code == 400
    client.post("/logout")
    login(world["counselor_b"])
    assert 'data-student="2024000001"' not in client.get("/violations/summary").get_data(as_text=True)


def test_exports_of_the_list_and_the_counts(app, client, login, world, history):
    login(world["staff"])
    listing = client.get("/violations/export.csv")
    assert listing.mimetype == "text/csv" and "violations.csv" in listing.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(listing.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Record number", "Date it happened", "Violation type", "Severity", "Status"]
    assert len(rows) == 6 and not {"minor", "serious", "recorded", "dismissed"} & {cell for row in rows for cell in row}
    assert any("2024000001 张三; 2024000003 王五" in row for row in rows)
    assert len(list(csv.reader(io.StringIO(client.get("/violations/export.csv?status=dismissed")
                                           .data.decode("utf-8-sig"))))) == 2
    book = load_workbook(io.BytesIO(client.get("/violations/export.xlsx").data))
    assert book.active.max_row == 6
    period = f"first={history['first']}&last={history['last']}"
    by_student = client.get(f"/violations/counts.csv?by=student&{period}").data.decode("utf-8-sig")
    assert "2024000001,张三,计科2401,3" in by_student
    by_month = list(csv.reader(io.StringIO(client.get(f"/violations/counts.csv?by=month&{period}")
                                           .data.decode("utf-8-sig"))))
    assert by_month[0] == ["Month", "Violations", "吸烟", "晚归"] and by_month[2] == [history["months"][1], "2", "2", "0"]
    for by in ("class", "building"):
        assert client.get(f"/violations/counts.xlsx?by={by}&{period}").status_code == 200
    assert client.get("/violations/counts.csv?by=nope").status_code == 404
    assert client.get("/violations/export.pdf").status_code == 404
    client.post("/logout")
    login(world["counselor_b"])
    theirs = client.get("/violations/export.csv").data.decode("utf-8-sig")
    assert "李四" in theirs and "张三" not in theirs


def test_demo_seed_makes_a_catalogue_and_records_in_every_state(app, world):
    import random

    from dorms.residence.models import Assignment
    from dorms.violations.demo import seed

    placed = {a.student_id: a for a in db.session.scalars(sa.select(Assignment).where(Assignment.ended_at.is_(None)))}
    made = seed(random.Random(1), placed, world["staff"])
    db.session.commit()
    assert made >= 3 and count(Violation) >= 3
    statuses = set(db.session.scalars(sa.select(Violation.status)))
    assert {S.RECORDED, S.NOTIFIED, S.RESOLVED} <= statuses
    assert db.session.scalar(sa.select(sa.func.count()).select_from(violation_students)) >= 3


def test_every_page_renders_in_chinese(app, client, login, world, history):
    violation = db.session.scalar(sa.select(Violation).where(Violation.status == S.DISMISSED))
    login(world["staff"])
    client.post("/language/zh_CN", data={"next": "/"})
    for url in ("/violations/", "/violations/new", f"/violations/{violation.id}", "/violations/summary",
                "/violations/types", f"/students/{world['zhang'].id}", f"/rooms/{world['r102'].id}"):
        response = client.get(url)
        assert response.status_code == 200 and 'lang="zh' in response.get_data(as_text=True), url


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.commits
def test_a_student_appealing_while_staff_resolve_at_the_same_moment_lets_exactly_one_win(app, world, monkeypatch):
    """Both read the record as notified; the database lets one step through and the other gets a Conflict."""
    import threading

    violation_id = record(world, status=S.NOTIFIED).id
    staff_id, zhang_id = world["staff"].id, world["zhang"].id
    db.session.remove()
    barrier = threading.Barrier(2, timeout=30)
    step = services._step

    def checked_then_wait(*args, **kwargs):
        barrier.wait()
        step(*args, **kwargs)

    monkeypatch.setattr(services, "_step", checked_then_wait)
    from dorms.auth.models import User
    from dorms.students.models import Student

    outcomes = run_at_once(app, {
        "appeal": lambda: services.appeal(db.session.get(Violation, violation_id),
                                          db.session.get(Student, zhang_id), "不服"),
        "resolve": lambda: services.move(db.session.get(Violation, violation_id), S.RESOLVED,
                                         actor=db.session.get(User, staff_id)),
    }, refused=Conflict)
    assert list(outcomes.values()).count("won") == 1, outcomes
    loser = next(o for o in outcomes.values() if o != "won")
    assert "was changed by someone else meanwhile" in loser
    violation = db.session.get(Violation, violation_id)
    winner = S.APPEALED if outcomes["appeal"] == "won" else S.RESOLVED
    assert violation.status == winner and [e.status for e in violation.events][-1] == winner
    assert len(violation.events) == 3


@pytest.mark.backends("sqlite", "postgresql")
def test_a_type_named_like_math_text_is_drawn_as_written_on_the_chart(app, client, login, world):
    # matplotlib reads "$…$" as math text; an unbalanced one failed the whole summary page.
    world["late"].name = r"$\frac{a}{$"
    db.session.commit()
    record(world)
    login(world["staff"])
    response = client.get("/violations/summary")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    chart = page[page.index("<svg"):page.index("</svg>")]
    assert r"$\frac{a}{$" in chart
