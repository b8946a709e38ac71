"""Demo data: the usual catalogue of violation types and about thirty records over the past three months,
in every state of the workflow, with counselors' comments and a couple of appeals."""
from __future__ import annotations

import io
import random
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from PIL import Image, ImageDraw

from ..auth.models import User
from ..core.clock import campus_today, campus_zone, utcnow
from ..core.enums import Role
from ..extensions import db
from ..photos import store_photos
from ..residence.models import Assignment
from ..students.models import CounselorScope
from .models import (
    Severity,
    Violation,
    ViolationComment,
    ViolationEvent,
    ViolationStatus,
    ViolationType,
)
from .services import default_types, ensure_default_types

S = ViolationStatus
CATALOGUE = [  # for each type of the usual catalogue (services.DEFAULT_TYPES, in its order): descriptions, and
    # whether it is usually found in a room rather than on a person
    (["宿舍检查发现使用大功率电吹风（2000W），已暂扣", "床下发现电热锅一只，已收缴", "使用热得快烧水，存在安全隐患"], True),
    (["在宿舍阳台吸烟，烟雾报警器报警", "楼道内吸烟被宿管发现"], False),
    (["留宿校外人员一晚，未登记", "留宿其他楼栋同学，未经宿管同意"], False),
    (["23:45 才回宿舍，未请假", "门禁关闭后返回，由宿管开门"], False),
    (["宿舍门锁损坏，需照价赔偿", "踢坏卫生间门板"], True),
    (["熄灯后大声打游戏，邻近宿舍投诉", "深夜在宿舍聚会喧哗"], False),
    (["从走廊插座私拉电线至宿舍，已拆除"], True),
    (["宿舍内饲养猫一只，已要求送出"], True),
]
# How many records end in each state: most are dealt with, a few wait, two were appealed.
STATES = [S.RESOLVED] * 16 + [S.NOTIFIED] * 6 + [S.RECORDED] * 5 + [S.UPHELD, S.DISMISSED, S.APPEALED]
PATHS = {S.RECORDED: [], S.NOTIFIED: [S.NOTIFIED], S.RESOLVED: [S.NOTIFIED, S.RESOLVED],
         S.APPEALED: [S.NOTIFIED, S.APPEALED], S.UPHELD: [S.NOTIFIED, S.APPEALED, S.UPHELD],
         S.DISMISSED: [S.NOTIFIED, S.APPEALED, S.DISMISSED]}
NOTES = {S.NOTIFIED: ["已电话通知本人", "已当面告知，学生签字确认", "已通知本人及辅导员"],
         S.RESOLVED: ["已写检讨，批评教育", "物品已收缴，学生已认识错误", "已照价赔偿"],
         S.UPHELD: ["经查看监控，违纪属实，维持原记录"], S.DISMISSED: ["核实确有请假记录，撤销此次违纪"]}
APPEALS = ["当晚我已向辅导员请假，有请假条", "电器不是我的，是上一届同学留下的", "当时是在帮同学搬东西，并非留宿"]
COMMENTS = ["已找学生谈话，学生态度较好", "已联系家长说明情况", "该生本学期第二次，请宿管重点关注",
            "学生已写书面检讨，交至学院"]


class _DemoPhoto(io.BytesIO):
    def __init__(self, data: bytes, filename: str):
        super().__init__(data)
        self.filename = filename


def _photo(rng: random.Random, n: int) -> _DemoPhoto:
    image = Image.new("RGB", (320, 240), (rng.randint(90, 200), rng.randint(90, 200), rng.randint(90, 200)))
    ImageDraw.Draw(image).rectangle((60, 60, 260, 180), outline=(255, 255, 255), width=6)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return _DemoPhoto(buffer.getvalue(), f"现场照片{n}.jpg")


def _at(day, rng: random.Random, days_after: int = 0) -> datetime:
    """A daytime moment ``days_after`` the day, never later than now."""
    moment = datetime.combine(day + timedelta(days=days_after), time(rng.randint(8, 21), rng.randint(0, 59)))
    return min(moment.replace(tzinfo=campus_zone()), utcnow())


def seed(rng: random.Random, placed: dict[int, Assignment], admin) -> int:
    """The catalogue and ~30 records naming placed students (and some rooms); returns how many rows were made."""
    rows = ensure_default_types()
    # The usual types are named in the install's language: the descriptions follow them by position.
    catalogue = [(name, severity, descriptions, in_room)
                 for (name, severity), (descriptions, in_room) in zip(default_types(), CATALOGUE)]
    types = {t.name: t for t in db.session.scalars(sa.select(ViolationType))}
    wanted = [(name, severity, True) for name, severity, _descriptions, _in_room in catalogue]
    wanted.append(("打麻将", Severity.MINOR, False))  # retired: now recorded as noise
    for name, severity, active in wanted:
        if name not in types:
            types[name] = ViolationType(name=name, severity=severity, active=active)
            db.session.add(types[name])
            rows += 1
    if not placed:
        db.session.flush()
        return rows

    today = campus_today()
    assignments = sorted(placed.values(), key=lambda a: a.student_id)
    students_of_room: dict[int, list[Assignment]] = {}
    for a in assignments:
        students_of_room.setdefault(a.bed.room_id, []).append(a)
    counselors: dict[str, User] = {}
    for scope, user in db.session.execute(sa.select(CounselorScope, User).join(User, User.id == CounselorScope.user_id)
                                          .where(User.role == Role.COUNSELOR)):
        counselors.setdefault(scope.class_name or scope.college, user)
    accounts = dict(db.session.execute(sa.select(User.student_id, User).where(User.student_id.is_not(None))).all())
    # Most records concern a few repeat offenders, as in real life; the rest are spread out.
    regulars = rng.sample(assignments, min(6, len(assignments)))
    # The demo student (the one with an account) gets a record to appeal and one on record.
    with_account = [a for a in assignments if a.student_id in accounts]

    states = list(STATES)
    rng.shuffle(states)
    photos_left = 3
    for n, final in enumerate(states):
        name, severity, descriptions, in_room = rng.choice(catalogue)
        if with_account and n < 2:
            main = with_account[0]
            final = S.APPEALED if n == 0 else S.NOTIFIED
            name, severity, descriptions, in_room = catalogue[3]  # late return
        else:
            main = rng.choice(regulars) if rng.random() < 0.4 else rng.choice(assignments)
        room = main.bed.room
        named = [main]
        if in_room and final not in (S.APPEALED, S.UPHELD, S.DISMISSED) and rng.random() < 0.35:
            named = []  # found during a room check, nobody in particular
        elif rng.random() < 0.25:
            mates = [a for a in students_of_room[room.id] if a is not main]
            named += rng.sample(mates, min(len(mates), rng.randint(1, 2)))
        # What waits for a step happened lately; what is over may be three months old.
        day = today - timedelta(days={S.RECORDED: rng.randint(1, 10), S.NOTIFIED: rng.randint(4, 30),
                                      S.APPEALED: rng.randint(8, 25)}.get(final, rng.randint(10, 90)))
        violation = Violation(type=types[name], room=room if (in_room or not named) else None,
                              building_id=room.building_id, occurred_on=day, description=rng.choice(descriptions),
                              status=final, recorded_by_id=admin.id, recorded_at=_at(day, rng, 1))
        violation.students.extend(a.student for a in named)
        violation.events.append(ViolationEvent(status=S.RECORDED, actor_id=admin.id, at=violation.recorded_at))
        days_after = 1
        for step in PATHS[final]:
            days_after += rng.randint(1, 3)
            actor, note = admin.id, rng.choice(NOTES.get(step, [""]))
            if step == S.APPEALED:
                violation.appellant_id, violation.appeal_reason = named[0].student_id, rng.choice(APPEALS)
                account = accounts.get(named[0].student_id)
                actor, note = (account.id if account else None), violation.appeal_reason
            violation.events.append(ViolationEvent(status=step, note=note, actor_id=actor,
                                                   at=_at(day, rng, days_after)))
        counselor = next((counselors.get(a.student.class_name) or counselors.get(a.student.college)
                          for a in named if counselors.get(a.student.class_name) or counselors.get(a.student.college)),
                         None)
        if counselor and final != S.RECORDED and rng.random() < 0.6:
            violation.comments.append(ViolationComment(author_id=counselor.id, body=rng.choice(COMMENTS),
                                                       created_at=_at(day, rng, 3)))
            rows += 1
        if photos_left and in_room:
            violation.photos.extend(store_photos([_photo(rng, photos_left)], actor=admin))
            photos_left -= 1
        db.session.add(violation)
        rows += 1 + len(violation.events)
    db.session.flush()
    return rows
