"""Reading and writing spreadsheets: CSV (UTF-8 or GBK) and XLSX.

Reading is bounded whatever a file says about itself: at most ``max_rows``
rows besides the header and ``MAX_COLUMNS`` columns are read, and an XLSX
workbook that unpacks to more than ``UNPACKED_BYTES_PER_ROW`` a row allowed
is refused unread (a few kilobytes of zip can unpack to gigabytes of XML).
Whatever fails while reading a file is a TableError about the file.

Every download goes through ``write_csv``/``write_xlsx``, which neutralise text that a spreadsheet
would run as a formula; ``read_table`` undoes exactly that, so exports re-import unchanged.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


@dataclass
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    message: str


class TableError(Exception):
    """The file itself cannot be read (encoding, format, size)."""


class TooManyRows(TableError):
    def __init__(self, limit: int):
        super().__init__(_("The file has more than %(limit)d rows, the most one import may have.", limit=limit))
        self.limit = limit


# Columns past this one are not read (an import knows a dozen or so); a cell far to the
# right would otherwise make every row that wide.
MAX_COLUMNS = 100
# An XLSX file may unpack to this much a row (a row of Excel's XML takes about 1 KB),
# and to at least UNPACKED_MIN_BYTES (styles, theme…).
UNPACKED_BYTES_PER_ROW = 4096
UNPACKED_MIN_BYTES = 16 * 2**20


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number, canonical column -> text)
    encoding: str
    ignored_columns: list[str] = field(default_factory=list)
    # Canonical column -> its header as written in the file, to name columns in messages the file's way.
    labels: dict[str, str] = field(default_factory=dict)


def read_table(filename: str, data: bytes, aliases: dict[str, str], *, max_rows: int) -> Table:
    """Parse a CSV or XLSX file into rows keyed by canonical column names.

    ``aliases`` maps every accepted header (English or Chinese, any case) to
    its canonical name; other columns are ignored and reported. A file with
    more than ``max_rows`` rows below its header raises TooManyRows.
    """
    if not filename.lower().endswith((".xlsx", ".csv", ".txt")):
        raise TableError(_("Upload a .csv or .xlsx file."))
    raw_rows, encoding = read_rows(filename, data, max_rows=max_rows)
    if not raw_rows:
        raise TableError(_("The file is empty."))
    header, *body = raw_rows
    canonical, ignored, labels = [], [], {}
    for cell in header:
        name = aliases.get(cell.strip().lower().lstrip("\ufeff"))
        canonical.append(name)
        if name is None and cell.strip():
            ignored.append(cell.strip())
        elif name is not None:
            labels.setdefault(name, cell.strip().lstrip("\ufeff"))
    rows = []
    for number, cells in enumerate(body, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines at the end of exports
        values = {name: restore_formula_text(cell.strip()) for name, cell in zip(canonical, cells) if name}
        rows.append((number, values))
    return Table([c for c in canonical if c], rows, encoding, ignored, labels)


def read_rows(filename: str, data: bytes, *, max_rows: int) -> tuple[list[list[str]], str]:
    """The file's rows as text cells, and how it was read ("xlsx", "utf-8", "gbk"): the first sheet of an .xlsx
    workbook, anything else as CSV separated by commas, semicolons or tabs. Raises TableError for a file that
    cannot be read, and TooManyRows past ``max_rows`` rows below the first."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data, max_rows), "xlsx"
    text, encoding = decode_text(data)
    return _csv_rows(text, max_rows), encoding


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, as Excel in China saves)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "gbk"
        except UnicodeDecodeError:
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise TableError(_("The file is neither UTF-8 nor GBK text (unreadable bytes on line %(line)d). "
                               "Save it from Excel as \"CSV UTF-8\" or as .xlsx.", line=line)) from None


def _csv_rows(text: str, max_rows: int) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return _bounded((row[:MAX_COLUMNS] for row in reader), max_rows)
    except csv.Error:  # a field longer than the csv module takes (128 KB)
        raise TableError(_("Line %(line)d of the file cannot be read as CSV (a field is far too long).",
                           line=reader.line_num)) from None


def _xlsx_rows(data: bytes, max_rows: int) -> list[list[str]]:
    """The first sheet's rows as text, read as they are in the file, never as its declared size says.

    Any failure to read the workbook (a truncated zip, broken XML, an entity
    bomb in a DTD…) is the file's fault, so every exception becomes the one
    message about the file.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        limit = max(UNPACKED_MIN_BYTES, (max_rows + 1) * UNPACKED_BYTES_PER_ROW)
        if unpacked > limit:
            raise TableError(_("The workbook unpacks to more than %(limit)d MB: save it as CSV, or split it.",
                               limit=limit // 2**20))
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # a sheet may declare A1:XFD1048576 and hold two rows
            rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)  # rows skipped come blank
            return _bounded((_row_text(row) for row in rows), max_rows)
        finally:
            workbook.close()
    except TableError:
        raise
    except Exception as error:
        raise TableError(_("This is not a readable .xlsx workbook.")) from error


def _bounded(rows: Iterable[list[str]], max_rows: int) -> list[list[str]]:
    """The header and at most ``max_rows`` rows below it, blank ones included; more raises TooManyRows."""
    kept = []
    for row in rows:
        if len(kept) > max_rows:
            raise TooManyRows(max_rows)
        kept.append(row)
    return kept


def _row_text(values: tuple) -> list[str]:
    """The row's cells as text, up to its last cell with a value (a read row is MAX_COLUMNS wide)."""
    width = len(values)
    while width and values[width - 1] is None:
        width -= 1
    return [_cell_text(value) for value in values[:width]]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps 2026 as 2026.0
    return str(value)


MIME_TYPES = {"csv": "text/csv; charset=utf-8",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def download(body: bytes, file_format: str, filename: str):
    """A spreadsheet as a file the browser saves."""
    return Response(body, mimetype=MIME_TYPES[file_format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# The machine-readable column names of the downloads (and of the command line's tables), as people read them.
COLUMN_LABELS = {
    "student_number": _l("Student number"), "name": _l("Full name"), "class": _l("Class"), "college": _l("College"),
    "building": _l("Building"), "room": _l("Room"), "bed": _l("Bed"), "status": _l("Status"), "time": _l("Time"),
    "last_seen": _l("Last seen"), "last_door": _l("Last door"), "nights": _l("Nights"), "late": _l("Late"),
    "absent": _l("Absent"), "excused": _l("Excused"), "cards": _l("Card numbers"), "pins": _l("PINs"),
    "checked_in_at": _l("Checked in at"), "checked_in_by": _l("Checked in by"), "self_service": _l("Self-service"),
    "report": _l("Condition report"), "acknowledged_at": _l("Acknowledged at"), "ack_due_at": _l("Acknowledgement due"),
    "keys": _l("Keys"), "checked_out_at": _l("Checked out at"), "disputed_items": _l("Disputed items"),
    "reason": _l("Reason"), "charge": _l("Charge"), "item": _l("Item"), "description": _l("Description"),
    "amount_yuan": _l("Amount (yuan)"), "total_yuan": _l("Total (yuan)"), "id": _l("Record number"),
    "occurred_on": _l("Date it happened"), "type": _l("Violation type"), "severity": _l("Severity"),
    "students": _l("Students"), "classes": _l("Classes"), "recorded_by": _l("Recorded by"),
    "recorded_at": _l("Recorded at"), "month": _l("Month"), "violations": _l("Violations"),
    "building_name": _l("Building name"), "door_data": _l("Door data"),
}


def readable_headers(headers: list[str]) -> list[str]:
    """Machine-readable column names in the reader's language; names already readable stay as they are."""
    return [str(COLUMN_LABELS.get(header, header)) for header in headers]


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def table_download(headers: list[str], rows: list[list], file_format: str, name: str):
    """``rows`` under ``headers`` as ``name.csv`` or ``name.xlsx``: a download from a page, so its column names
    are in the reader's language (its values are the caller's to put so)."""
    headers = readable_headers(headers)
    body = write_xlsx(headers, rows, title=name[:31]) if file_format == "xlsx" else write_csv(headers, rows)
    return download(body, file_format, f"{name}.{file_format}")


# OWASP's CSV-injection rule: a spreadsheet runs text starting with one of these as a formula
# (a student's "=HYPERLINK(...)" in a repair description would leak the staff's sheet).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula_text(value):
    """Text a spreadsheet would run as a formula, with a leading ``'``; numbers and safe text as they are.

    Text that is apostrophes then a trigger (``'=x``) gets one more, so ``restore_formula_text``
    can tell it from a neutralised ``=x``: the round trip is exact for every value.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def restore_formula_text(text: str) -> str:
    """The exact inverse of ``neutralise_formula_text`` (an imported cell as it was before export)."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def write_csv(headers: list[str], rows: list[list]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in [headers, *rows]:  # headers too: some are names staff typed (checklist items, violation types)
        writer.writerow([neutralise_formula_text(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(headers: list[str], rows: list[list], title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for row in [headers, *rows]:  # headers too: some are names staff typed (checklist items, violation types)
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value):
    """Text as a text cell, never a formula or an error code (openpyxl guesses those from the text).

    Control characters XML cannot hold (a typed \\x01 would fail the whole download) are left out.
    """
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", neutralise_formula_text(value)))
    cell.data_type = "s"
    return cell
