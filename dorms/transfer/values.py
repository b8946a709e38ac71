"""Parsing the words housing offices write in spreadsheets (English and Chinese)."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..core.enums import BedType, Gender, GenderPolicy, RoomStatus, StudentStatus

GENDERS = {"m": Gender.MALE, "male": Gender.MALE, "男": Gender.MALE,
           "f": Gender.FEMALE, "female": Gender.FEMALE, "女": Gender.FEMALE}
GENDER_POLICIES = {**{k: GenderPolicy(v.value) for k, v in GENDERS.items()},
                   "mixed": GenderPolicy.MIXED, "混合": GenderPolicy.MIXED}
BOOLEANS = {"yes": True, "y": True, "true": True, "1": True, "是": True,
            "no": False, "n": False, "false": False, "0": False, "否": False}
ROOM_STATUSES = {"open": RoomStatus.OPEN, "开放": RoomStatus.OPEN, "在用": RoomStatus.OPEN,
                 "closed": RoomStatus.CLOSED, "关闭": RoomStatus.CLOSED, "停用": RoomStatus.CLOSED}
STUDENT_STATUSES = {"active": StudentStatus.ACTIVE, "在读": StudentStatus.ACTIVE, "在校": StudentStatus.ACTIVE,
                    "suspended": StudentStatus.SUSPENDED, "休学": StudentStatus.SUSPENDED,
                    "graduated": StudentStatus.GRADUATED, "毕业": StudentStatus.GRADUATED,
                    "withdrawn": StudentStatus.WITHDRAWN, "退学": StudentStatus.WITHDRAWN}
BED_TYPES = {**{t.value: t for t in BedType},
             "上铺": BedType.BUNK_UPPER, "下铺": BedType.BUNK_LOWER, "上床下桌": BedType.LOFT, "单人床": BedType.SINGLE}

ROOM_COLUMNS = {
    "building": ["building", "楼栋", "楼号", "宿舍楼"],
    "building_name": ["building_name", "楼栋名称"],
    "campus": ["campus", "校区", "园区"],
    "building_gender": ["building_gender", "楼栋性别"],
    "floor": ["floor", "楼层"],
    "room": ["room", "房间", "房间号", "宿舍号"],
    "capacity": ["capacity", "床位数", "容量"],
    "type": ["type", "room_type", "房型"],
    "gender": ["gender", "性别"],
    "accessible": ["accessible", "无障碍"],
    "status": ["status", "状态"],
    "bed_type": ["bed_type", "床型"],
}
STUDENT_COLUMNS = {
    "student_number": ["student_number", "学号"],
    "name": ["name", "姓名", "名称"],
    "gender": ["gender", "性别"],
    "college": ["college", "学院"],
    "major": ["major", "专业"],
    "class": ["class", "class_name", "班级"],
    "grade": ["grade", "年级", "入学年份"],
    "phone": ["phone", "电话", "联系电话", "手机", "手机号"],
    "status": ["status", "学籍状态", "状态"],
    "needs_accessible": ["needs_accessible", "无障碍需求", "需要无障碍房间"],
    "building": ["building", "楼栋", "楼号", "宿舍楼"],
    "room": ["room", "房间", "房间号", "宿舍号"],
    "bed": ["bed", "床位", "床号"],
}


# The label the pages show for a column (the student page, the room lists): a header written as that label,
# in either language, is accepted too (alias_map adds them), so a sheet copied from what we show imports.
ROOM_LABELS = {
    "building": _l("Building"), "campus": _l("Campus"), "floor": _l("Floor"), "room": _l("Room"),
    "type": _l("Room type"), "gender": _l("Gender"), "accessible": _l("Accessible"), "status": _l("Status"),
}
STUDENT_LABELS = {
    "student_number": _l("Student number"), "name": _l("Name"), "gender": _l("Gender"), "college": _l("College"),
    "major": _l("Major"), "class": _l("Class"), "grade": _l("Year of entry"), "phone": _l("Phone"),
    "status": _l("Status"), "needs_accessible": _l("Needs an accessible room"), "building": _l("Building"),
    "room": _l("Room"), "bed": _l("Bed"),
}
LABELS = {"rooms": ROOM_LABELS, "students": STUDENT_LABELS}
COLUMNS = {"rooms": ROOM_COLUMNS, "students": STUDENT_COLUMNS}
LANGUAGES = ("en", "zh_Hans_CN")


def alias_map(kind: str) -> dict[str, str]:
    """Every header accepted for the kind's columns (any case) -> the column: our aliases and our labels."""
    aliases = {alias.lower(): name for name, names in COLUMNS[kind].items() for alias in names}
    for language in LANGUAGES:
        with force_locale(language):
            for name, label in LABELS[kind].items():
                aliases.setdefault(str(label).lower(), name)
    return aliases


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= character <= "\u9fff" for character in text)


def column_name(kind: str, column: str, written: dict[str, str]) -> str:
    """A column as the file names it: its header as written; a column the file lacks in the file's language
    (its first Chinese header when the file's headers are Chinese, else our key)."""
    if column in written:
        return written[column]
    if column in COLUMNS[kind] and any(is_chinese(header) for header in written.values()):
        return chinese_header(column, COLUMNS[kind][column])
    return column


def chinese_header(column: str, aliases: list[str]) -> str:
    """A column's first Chinese header (its own name when it has none)."""
    return next((alias for alias in aliases if is_chinese(alias)), column)


def headers(columns: dict[str, list[str]], language: str = "en") -> list[str]:
    """A header row for ``columns`` (name -> accepted headers) as a file in ``language`` (en, zh) writes it."""
    return [chinese_header(name, aliases) if language == "zh" else name for name, aliases in columns.items()]
