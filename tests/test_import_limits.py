"""Imports are bounded whatever the file says about itself, and a broken file is a message, never a 500 (issue 14)."""
import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from dorms import create_app
from dorms.campus.models import Room
from dorms.core import tables
from dorms.extensions import db
from dorms.transfer import importing
from dorms.transfer.importing import ImportRejected, import_file

pytestmark = pytest.mark.backends("sqlite", "postgresql")

ROOMS_HEADER = ["building", "building_name", "floor", "room", "capacity"]
SHEET = "xl/worksheets/sheet1.xml"
# An entity bomb: a few hundred bytes of DTD that expand to a billion "lol"s.
ENTITY_BOMB = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol "lol">' + b"".join(
    b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10)
    for level in range(1, 10)) + b"]>"


def rooms_xlsx(count: int = 1) -> bytes:
    workbook = Workbook()
    workbook.active.append(ROOMS_HEADER)
    for number in range(count):
        workbook.active.append(["A1", "桃李苑1号楼", 1, str(101 + number), 2])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_sheet(data: bytes, change) -> bytes:
    """The workbook with its first sheet's XML passed through ``change``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = source.read(member.filename)
            target.writestr(member.filename, change(content) if member.filename == SHEET else content)
    return out.getvalue()


def rooms_csv(count: int) -> bytes:
    return ("building,building_name,floor,room,capacity\n"
            + "".join(f"A1,桃李苑1号楼,1,{101 + n},2\n" for n in range(count))).encode()


def refusal(kind: str, name: str, data: bytes) -> str:
    with pytest.raises(ImportRejected) as rejected:
        import_file(kind, name, data)
    (error,) = rejected.value.errors
    assert error.row == 0
    return error.message


@pytest.fixture
def cells_read(monkeypatch):
    """How many cells the XLSX reader turned into text; a sheet read as it declares itself fails at once."""
    count = {"cells": 0}
    cell_text = tables._cell_text

    def counted(value):
        count["cells"] += 1
        assert count["cells"] < 10_000, "the reader went past the cells the file holds"
        return cell_text(value)

    monkeypatch.setattr(tables, "_cell_text", counted)
    return count


def test_a_tiny_xlsx_declaring_a_huge_sheet_is_read_as_the_rows_it_holds(app, cells_read):
    data = with_sheet(rooms_xlsx(), lambda sheet: sheet.replace(b'<dimension ref="A1:E2"', b'<dimension ref="A1:XFD10000"'))
    assert len(data) < 6000 and b"XFD10000" in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    report = import_file("rooms", "huge.xlsx", data)
    assert (report.rows, report.created) == (1, 1)
    assert cells_read["cells"] == 2 * len(ROOMS_HEADER)


def test_a_cell_far_to_the_right_or_below_makes_no_row_wider_or_longer(app, cells_read):
    far_right = b'<row r="3"><c r="XFD3"><v>1</v></c></row>'
    data = with_sheet(rooms_xlsx(), lambda sheet: sheet.replace(b"</sheetData>", far_right + b"</sheetData>"))
    assert import_file("rooms", "right.xlsx", data, dry_run=True).rows == 1  # past the columns read: a blank row
    far_below = b'<row r="99999999999"><c r="A99999999999"><v>1</v></c></row>'
    data = with_sheet(rooms_xlsx(), lambda sheet: sheet.replace(b"</sheetData>", far_below + b"</sheetData>"))
    assert refusal("rooms", "below.xlsx", data) == ("The file has more than 100000 rows, "
                                                    "the most one import may have.")


def test_a_file_with_more_rows_than_the_limit_is_refused_naming_it(app, monkeypatch, tmp_path):
    monkeypatch.setenv("DORMS_IMPORT_MAX_ROWS", "5000")
    assert create_app(instance_path=str(tmp_path)).config["IMPORT_MAX_ROWS"] == 5000
    app.config["IMPORT_MAX_ROWS"] = 3
    for name, data in (("rooms.csv", rooms_csv(4)), ("rooms.xlsx", rooms_xlsx(4))):
        assert refusal("rooms", name, data) == "The file has more than 3 rows, the most one import may have."
    assert import_file("rooms", "rooms.csv", rooms_csv(3)).created == 3
    assert import_file("rooms", "rooms.xlsx", rooms_xlsx(3)).unchanged == 3


def test_an_xlsx_that_unpacks_to_far_more_than_its_rows_need_is_refused_unread(app, cells_read):
    app.config["IMPORT_MAX_ROWS"] = 10
    padding = b" " * (17 * 2**20)  # 17 MB of XML whitespace zip into a few kilobytes
    data = with_sheet(rooms_xlsx(), lambda sheet: sheet.replace(b"<sheetData>", b"<sheetData>" + padding))
    assert len(data) < 100_000
    assert refusal("rooms", "zipped.xlsx", data) == ("The workbook unpacks to more than 16 MB: "
                                                     "save it as CSV, or split it.")
    assert cells_read["cells"] == 0


def test_a_csv_field_too_long_to_read_names_its_line(app):
    data = rooms_csv(1) + b'A1,"' + b"x" * 200_000 + b'",1,102,2\n'
    assert refusal("rooms", "long.csv", data) == ("Line 3 of the file cannot be read as CSV "
                                                  "(a field is far too long).")


@pytest.mark.parametrize("broken", [
    pytest.param(lambda data: data[:len(data) // 2], id="truncated file"),
    pytest.param(lambda data: with_sheet(data, lambda sheet: sheet[:len(sheet) // 2]), id="truncated sheet"),
    pytest.param(lambda data: with_sheet(data, lambda sheet: ENTITY_BOMB + sheet.replace(
        b"<t>building</t>", b"<t>&lol9;</t>")), id="entity bomb in a DTD"),
    pytest.param(lambda data: with_sheet(data, lambda sheet: sheet.replace(b"<sheetData>", b"<sheetData><row>")),
                 id="bad XML"),
])
def test_a_broken_xlsx_is_the_per_file_message_on_the_import_page(client, login, create_user, broken):
    login(create_user())
    response = client.post("/import", data={"kind": "rooms", "file": (io.BytesIO(broken(rooms_xlsx())), "r.xlsx")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "import-errors" in page and "This is not a readable .xlsx workbook." in page
    assert db.session.scalar(sa.select(sa.func.count(Room.id))) == 0


def test_the_import_page_sends_a_file_over_its_row_limit_to_the_command_line(app, client, login, create_user,
                                                                             monkeypatch, tmp_path):
    monkeypatch.setenv("DORMS_IMPORT_WEB_MAX_ROWS", "700")
    assert create_app(instance_path=str(tmp_path)).config["IMPORT_WEB_MAX_ROWS"] == 700
    app.config["IMPORT_WEB_MAX_ROWS"] = 3
    login(create_user())

    def post(data: bytes, name: str = "rooms.csv") -> str:
        response = client.post("/import", data={"kind": "rooms", "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    for name, data in (("rooms.csv", rooms_csv(4)), ("rooms.xlsx", rooms_xlsx(4))):
        page = post(data, name)
        assert ("The file has more than 3 rows, too many to import on this page. Import it on the server with "
                "the command line, which has no time limit: dorms import rooms &lt;file&gt;") in page
    assert db.session.scalar(sa.select(sa.func.count(Room.id))) == 0
    assert "3 created" in post(rooms_csv(3))
    app.config["IMPORT_MAX_ROWS"] = 2  # the page never takes more than any import may have
    assert "The file has more than 2 rows, the most one import may have." in post(rooms_csv(3))


def test_the_command_line_imports_past_the_pages_limit_and_shows_its_progress(app, tmp_path, monkeypatch):
    app.config["IMPORT_WEB_MAX_ROWS"] = 3
    monkeypatch.setattr(importing, "PROGRESS_EVERY", 5)
    path = tmp_path / "rooms.csv"
    path.write_bytes(rooms_csv(12))
    result = app.test_cli_runner().invoke(args=["import", "rooms", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "rooms.csv: 12 of 12 rows read",
        "rooms.csv: 5 of 12 rows checked", "rooms.csv: 10 of 12 rows checked",
        "rooms.csv: 5 of 12 rows written", "rooms.csv: 10 of 12 rows written"]
    assert "12 rows; 12 were created" in result.stdout
    assert db.session.scalar(sa.select(sa.func.count(Room.id))) == 12
    path.write_bytes(rooms_csv(4))
    quiet = app.test_cli_runner().invoke(args=["import", "rooms", str(path)])  # a small file: no progress
    assert quiet.exit_code == 0 and quiet.stderr == ""
