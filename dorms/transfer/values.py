"""Parsing the words housing offices write in spreadsheets (English and Chinese)."""
from __future__ import annotations

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
    "name": ["name", "姓名"],
    "gender": ["gender", "性别"],
    "college": ["college", "学院"],
    "major": ["major", "专业"],
    "class": ["class", "class_name", "班级"],
    "grade": ["grade", "年级"],
    "phone": ["phone", "电话", "手机", "手机号"],
    "status": ["status", "学籍状态", "状态"],
    "needs_accessible": ["needs_accessible", "无障碍需求"],
    "building": ["building", "楼栋", "楼号", "宿舍楼"],
    "room": ["room", "房间", "房间号", "宿舍号"],
    "bed": ["bed", "床位", "床号"],
}


def alias_map(columns: dict[str, list[str]]) -> dict[str, str]:
    return {alias.lower(): name for name, aliases in columns.items() for alias in aliases}
