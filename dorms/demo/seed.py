"""A deterministic demo campus: buildings, rooms, beds, students, assignments and accounts.

Services-style: everything is added to ``db.session`` and flushed; the caller
commits. Rows are built as objects and flushed together (a few thousand rows
in a handful of batched INSERTs) instead of going through ``residence.assign``
once per student; one ``demo.seed`` audit entry records what was created.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from .. import audit
from ..access import reports, rollup
from ..access.ingest import IncomingEvent, Report, store_events
from ..access.models import Card, Permission, PermissionKind, PermissionStatus
from ..auth.models import User
from ..auth.services import create_user
from ..campus.models import Bed, Building, ManagedBuilding, Room
from ..campus.services import get_or_create_campus, get_or_create_floor
from ..checkin import demo as checkin_demo
from ..core.clock import campus_today, campus_zone
from ..core.enums import BedType, Gender, GenderPolicy, Role, RoomStatus, StudentStatus
from ..extensions import db
from ..facilities import demo as facilities_demo
from ..facilities.models import RepairStatus, RepairTicket
from ..hygiene import demo as hygiene_demo
from ..hygiene.models import InspectionRound, RoundStatus
from ..residence.models import Assignment
from ..residence.occupancy import occupancy_by_building, occupancy_totals, set_capacity
from ..roomchange.models import (
    ChangeKind,
    ChangeStatus,
    RoomChangeChoice,
    RoomChangeRequest,
)
from ..selection import services as selection
from ..selection.models import SelectionEvent
from ..students.models import Student, Term
from ..violations import demo as violations_demo

STAFF_USERNAME, STAFF_PASSWORD = "admin", "dorms-admin"
COUNSELOR_PASSWORD = "dorms-counselor"
# The narrower roles (docs/roles.md): one account each, one password for all of them.
ROLE_PASSWORD = "dorms-role"
ROLE_ACCOUNTS = [  # username, role, name
    ("manager-a1", Role.BUILDING_MANAGER, "A1 楼长"),
    ("inspector1", Role.INSPECTOR, "卫生检查员"),
    ("repair1", Role.REPAIR_WORKER, "维修师傅"),
    ("auditor1", Role.AUDITOR, "审计员"),
]
STUDENT_PASSWORD = "dorms-student"
CLASSES_PER_COUNSELOR = 5


@dataclass(frozen=True)
class DemoLogins:
    """One account per role to sign in with."""

    staff_username: str
    staff_password: str
    counselor_username: str
    counselor_password: str
    student_username: str | None
    student_password: str

    def rows(self) -> list[tuple[str, str, str]]:
        rows = [("staff", self.staff_username, self.staff_password),
                ("counselor", self.counselor_username, self.counselor_password)]
        if self.student_username:
            rows.append(("student", self.student_username, self.student_password))
        rows += [(role.value, username, ROLE_PASSWORD) for username, role, _name in ROLE_ACCOUNTS]
        return rows


# --- the campus ----------------------------------------------------------------

CAMPUS = ("main", "主校区")
BUILDINGS = [  # code, name, policy
    ("A1", "桃李苑1号楼", GenderPolicy.MALE),
    ("A2", "桃李苑2号楼", GenderPolicy.MALE),
    ("B1", "芳华苑1号楼", GenderPolicy.FEMALE),
    ("B2", "芳华苑2号楼", GenderPolicy.FEMALE),
]
FLOORS = 5
ROOM_LAYOUT = [4] * 6 + [6] * 5  # rooms x01..x11: 54 beds a floor
ACCESSIBLE_ROOMS = {"101", "102"}  # ground floor, every building
CLOSED_ROOM = ("B2", "511", "卫生间翻修，暂停使用")

TERM = ("2026-2027-1", "2026—2027学年第一学期", date(2026, 9, 1), date(2027, 1, 20))
CST = timezone(timedelta(hours=8))
MOVE_IN = datetime(2026, 8, 29, 9, 0, tzinfo=CST)

# --- the people ----------------------------------------------------------------

COLLEGES = [  # digit, name, male share, majors (name, class prefix)
    (1, "计算机学院", 0.7, [("计算机科学与技术", "计科"), ("软件工程", "软工"), ("数据科学与大数据技术", "数据")]),
    (2, "机械工程学院", 0.75, [("机械设计制造及其自动化", "机设"), ("车辆工程", "车辆"), ("工业设计", "工设")]),
    (3, "经济管理学院", 0.4, [("会计学", "会计"), ("市场营销", "营销"), ("工商管理", "工商")]),
    (4, "外国语学院", 0.2, [("英语", "英语"), ("日语", "日语"), ("翻译", "翻译")]),
    (5, "化学化工学院", 0.45, [("化学工程与工艺", "化工"), ("应用化学", "应化"), ("制药工程", "制药")]),
]
GRADES = [2023, 2024, 2025, 2026]
CLASS_SIZE = 30

# Common surnames, roughly by frequency (earlier ones are drawn more often).
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
SURNAME_WEIGHTS = [1.0 / (i + 8) for i in range(len(SURNAMES))]
GIVEN_MALE = list("浩宇轩子博文杰俊明伟磊鹏涛强洋勇军峰超辉亮斌晨阳宁昊然睿泽凯航天一嘉毅鑫华健志兴翔远飞成康帆哲铭豪鸿宏瑞彬旭晗诚威锐新坤琦昕林森波龙")
GIVEN_FEMALE = list("雨欣怡婷静丽敏娜芳颖佳悦涵琪雪婧璐瑶晶倩慧蕾妍萱诗梦思月玲洁莹琳娟霞燕红丹蕊菲彤钰岚薇妮晓露雯茜可馨珊青宁艺楠婉")
GIVEN_ANY = list("文晨宇子一嘉思雨佳欣博宁安悦涵琪然清睿轩")

MOVES = [  # reasons for the few students who changed rooms during the term
    "与室友作息时间不一致，本人申请调换",
    "宿舍楼层调整，统一安排",
    "申请与同班同学同住",
    "原宿舍空调维修，临时调整后长期入住",
    "宿舍内部调整，本人同意",
]


def _add_role_accounts() -> None:
    """A building manager of A1, a hygiene inspector named in the open round, a repair worker with the A1
    tickets being repaired, and an auditor."""
    a1 = db.session.scalar(sa.select(Building).where(Building.code == "A1"))
    made = {}
    for username, role, name in ROLE_ACCOUNTS:
        made[role] = create_user(username, role=role, password=ROLE_PASSWORD, display_name=name)
    made[Role.BUILDING_MANAGER].managed.append(ManagedBuilding(building=a1, role=Role.BUILDING_MANAGER.value))
    worker = made[Role.REPAIR_WORKER]
    for ticket in db.session.scalars(
            sa.select(RepairTicket).join(Room, Room.id == RepairTicket.room_id)
            .where(Room.building_id == a1.id,
                   RepairTicket.status.in_([RepairStatus.ASSIGNED, RepairStatus.IN_PROGRESS]))):
        ticket.assigned_to, ticket.assignee = worker, worker.display_name
    for the_round in db.session.scalars(sa.select(InspectionRound).where(InspectionRound.status == RoundStatus.OPEN)):
        the_round.inspectors.extend([made[Role.INSPECTOR], made[Role.BUILDING_MANAGER]])
    db.session.flush()


def demo_present() -> bool:
    """Whether the database already has a campus to show (any building at all)."""
    return db.session.scalar(sa.select(Building.id).limit(1)) is not None


def existing_logins() -> DemoLogins:
    """The demo logins of an already seeded database (the student is looked up)."""
    student_username = db.session.scalar(
        sa.select(User.username).where(User.role == Role.STUDENT).order_by(User.id).limit(1)
    )
    return DemoLogins(STAFF_USERNAME, STAFF_PASSWORD, "counselor1", COUNSELOR_PASSWORD,
                      student_username, STUDENT_PASSWORD)


def demo_counts() -> dict[str, int]:
    """Buildings, rooms, beds in use, students and free beds (open rooms, nobody in them)."""
    totals = occupancy_totals(occupancy_by_building())
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))
    return {"buildings": count(Building), "rooms": count(Room), "beds": totals["beds"],
            "students": count(Student), "free_beds": totals["free"]}


# --- seeding -------------------------------------------------------------------


def seed_demo(seed: int = 2026, student_count: int | None = None) -> DemoLogins:
    """The demo campus of 900 students; ``student_count``: a campus of that many instead (the page
    benchmark's 20,000), with as many classes, counselors and buildings as they need."""
    rng = random.Random(seed)
    admin = create_user(STAFF_USERNAME, role=Role.STAFF, password=STAFF_PASSWORD, display_name="宿管中心管理员")

    classes = _build_students(rng, student_count)
    students = [s for _, members in classes for s in members]
    rooms_by_gender = _build_campus(BUILDINGS if student_count is None else _buildings(students))
    term = Term(code=TERM[0], name=TERM[1], starts_on=TERM[2], ends_on=TERM[3])
    db.session.add(term)
    db.session.add_all(students)

    placed, free_beds = _place(classes, rooms_by_gender, term, admin)
    moves = _add_moves(rng, placed, free_beds, term, admin)
    db.session.flush()
    change_requests = _add_change_requests(placed)

    class_names = [name for name, _ in classes]
    for n in range(-(-len(class_names) // CLASSES_PER_COUNSELOR)):
        first = n * CLASSES_PER_COUNSELOR
        create_user(f"counselor{n + 1}", role=Role.COUNSELOR, password=COUNSELOR_PASSWORD,
                    display_name=f"{_full_name(rng, rng.choice([Gender.MALE, Gender.FEMALE]))}（辅导员）",
                    classes=class_names[first:first + CLASSES_PER_COUNSELOR])

    events = _add_door_events(rng, placed, admin)
    items = facilities_demo.seed_inventory([room for rooms in rooms_by_gender.values() for room in rooms])

    counselor1_classes = set(class_names[:CLASSES_PER_COUNSELOR])
    student = next(s for s in students if s.class_name in counselor1_classes and s.id in placed)
    student_user = create_user(student.student_number, role=Role.STUDENT, password=STUDENT_PASSWORD, student=student)
    db.session.flush()
    records = _add_residence_records(rng, placed, admin, student_user)

    _add_role_accounts()
    _add_selection_event(classes, seed)
    # As the morning job would have: reports over the seeded fortnight read these rows.
    nights = rollup.rollup(rollup.finished_nights(reports.last_finished_night() - timedelta(days=DEMO_NIGHTS - 1)))

    beds = sum(len(room.beds) for rooms in rooms_by_gender.values() for room in rooms)
    audit.record("demo.seed", reason="演示数据", actor=admin, seed=seed, buildings=len(BUILDINGS),
                 rooms=sum(len(rooms) for rooms in rooms_by_gender.values()), beds=beds,
                 students=len(students), placed=len(placed), moves=len(moves),
                 change_requests=len(change_requests), door_events=events, night_statuses=nights,
                 inventory_items=items, **records)
    db.session.flush()
    return DemoLogins(STAFF_USERNAME, STAFF_PASSWORD, "counselor1", COUNSELOR_PASSWORD,
                      student.student_number, STUDENT_PASSWORD)


SELECTION_EVENT = "演示选宿"
SELECTION_SPARE_BEDS = 2  # offered beyond one a participant, of each gender


def _add_selection_event(classes: list[tuple[str, list[Student]]], seed: int) -> SelectionEvent | None:
    """A selection being set up, ready to rehearse (README "Selection day from the command line"): one class
    (the first with men and women, nobody needing an accessible room), a window per gender from tomorrow 09:00
    campus time, and for each gender a bed for everyone and two more, in the last free rooms of its buildings.
    None when no class fits (a campus of other sizes may have none)."""
    class_name, members = next(
        ((name, members) for name, members in classes
         if {s.gender for s in members} == {Gender.MALE, Gender.FEMALE}
         and not any(s.needs_accessible for s in members)), (None, None))
    if class_name is None:
        return None
    members = [s for s in members if s.status == StudentStatus.ACTIVE]
    tomorrow = datetime.combine(campus_today() + timedelta(days=1), time(9, 0), tzinfo=campus_zone())
    event = selection.create_event(SELECTION_EVENT, closes_at=tomorrow + timedelta(hours=9), seed=f"demo-{seed}")
    occupied = sa.select(Assignment.bed_id).where(Assignment.ended_at.is_(None))
    for gender, window in ((Gender.MALE, f"{class_name} 男生"), (Gender.FEMALE, f"{class_name} 女生")):
        selection.add_window(event, window, starts_at=tomorrow, class_name=class_name, gender=gender)
        wanted = sum(1 for s in members if s.gender == gender) + SELECTION_SPARE_BEDS
        selection.offer_beds(event, db.session.scalars(
            sa.select(Bed).join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
            .where(Building.gender_policy == GenderPolicy(gender.value), Room.status == RoomStatus.OPEN,
                   Room.accessible.is_(False), Bed.active.is_(True), Bed.id.not_in(occupied))
            .order_by(Bed.id.desc()).limit(wanted)).all())
    selection.add_participants(event, members)
    selection.arrange(event)  # each student's window and start, for `dorms selection order`
    return event


def _add_residence_records(rng: random.Random, placed: dict[int, Assignment], admin, student_user) -> dict[str, int]:
    """Repairs, check-ins, hygiene rounds and violations of the term so far; how many rows of each."""
    return {"repair_tickets": facilities_demo.seed(rng, placed, admin, student_user),
            "check_ins": checkin_demo.seed(rng, placed, admin),
            "hygiene_inspections": hygiene_demo.seed(rng, placed, admin),
            "violations": violations_demo.seed(rng, placed, admin)}


def _buildings(students: list[Student]) -> list[tuple[str, str, GenderPolicy]]:
    """Enough buildings of each gender for these students, a tenth of the beds spare: A1… for men, B1… for women."""
    beds_per_building = FLOORS * sum(ROOM_LAYOUT)
    made = []
    for gender, letter, estate in ((Gender.MALE, "A", "桃李苑"), (Gender.FEMALE, "B", "芳华苑")):
        residents = sum(1 for s in students if s.gender == gender)
        count = max(1, -(-residents * 11 // 10 // beds_per_building))
        made += [(f"{letter}{n}", f"{estate}{n}号楼", GenderPolicy(gender.value)) for n in range(1, count + 1)]
    return made


def _build_campus(buildings: list[tuple[str, str, GenderPolicy]]) -> dict[Gender, list[Room]]:
    """Buildings, floors, rooms and beds; returns each gender's rooms in filling order."""
    campus = get_or_create_campus(*CAMPUS)
    rooms_by_gender: dict[Gender, list[Room]] = {Gender.MALE: [], Gender.FEMALE: []}
    for code, name, policy in buildings:
        building = Building(campus=campus, code=code, name=name, gender_policy=policy)
        db.session.add(building)
        for floor_number in range(1, FLOORS + 1):
            floor = get_or_create_floor(building, floor_number)
            for n, capacity in enumerate(ROOM_LAYOUT, start=1):
                number = str(floor_number * 100 + n)
                room = Room(building=building, floor=floor, number=number,
                            room_type="standard" if capacity == 4 else "economy",
                            accessible=number in ACCESSIBLE_ROOMS, status=RoomStatus.OPEN, note="")
                if (code, number) == CLOSED_ROOM[:2]:
                    room.status = RoomStatus.CLOSED
                    room.note = CLOSED_ROOM[2]
                if capacity == 4:
                    set_capacity(room, capacity, BedType.LOFT)
                else:
                    set_capacity(room, capacity, BedType.BUNK_LOWER)
                    for bed in room.beds:
                        if int(bed.label) % 2 == 0:
                            bed.bed_type = BedType.BUNK_UPPER
                db.session.add(room)
                rooms_by_gender[Gender(policy.value)].append(room)
    return rooms_by_gender


def _full_name(rng: random.Random, gender: Gender) -> str:
    chars = (GIVEN_MALE if gender == Gender.MALE else GIVEN_FEMALE) * 3 + GIVEN_ANY
    surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    length = 1 if rng.random() < 0.3 else 2
    given = rng.choice(chars)
    if length == 2:
        second = rng.choice(chars)
        while second == given:
            second = rng.choice(chars)
        given += second
    return surname + given


def _class_plan(rng: random.Random, student_count: int | None):
    """Each class as (college digit, college, male share, major, class prefix, grade, section, size).

    The demo: two grades of each major, one class of 30 each (drawn lazily, so the demo's names stay as
    they were). ``student_count``: every grade of every major, as many sections as it takes, the last class
    smaller, in college, major, grade and section order."""
    if student_count is None:
        for digit, college, share, majors in COLLEGES:
            for major, prefix in majors:
                for grade in sorted(rng.sample(GRADES, 2)):
                    yield digit, college, share, major, prefix, grade, 1, CLASS_SIZE
        return
    combinations = [(digit, college, share, major, prefix, grade)
                    for digit, college, share, majors in COLLEGES for major, prefix in majors for grade in GRADES]
    classes = -(-student_count // CLASS_SIZE)
    sections = -(-classes // len(combinations))
    plan = [(*combination, section) for section in range(1, sections + 1) for combination in combinations][:classes]
    plan.sort(key=lambda c: (c[0], c[3], c[5], c[6]))
    for n, combination in enumerate(plan):
        yield *combination, (student_count - CLASS_SIZE * (classes - 1) if n == classes - 1 else CLASS_SIZE)


def _build_students(rng: random.Random, student_count: int | None = None) -> list[tuple[str, list[Student]]]:
    """The classes (30 of 30 in the demo), as (class name, students) in class order."""
    classes = []
    classes_of_college: dict[int, int] = {}
    for digit, college, male_share, major, prefix, grade, section, size in _class_plan(rng, student_count):
        class_index = classes_of_college[digit] = classes_of_college.get(digit, 0) + 1
        class_name = f"{prefix}{grade % 100:02d}{section:02d}"
        males = max(0, min(size, round(size * male_share + rng.uniform(-3, 3))))
        genders = [Gender.MALE] * males + [Gender.FEMALE] * (size - males)
        rng.shuffle(genders)
        names: set[str] = set()
        members = []
        for seq, gender in enumerate(genders, start=1):
            name = _full_name(rng, gender)
            while name in names:
                name = _full_name(rng, gender)
            names.add(name)
            members.append(Student(
                student_number=f"{grade}{digit}{class_index:02d}{seq:03d}",
                name=name, gender=gender, college=college, major=major, class_name=class_name,
                grade=grade, phone="138" + "".join(rng.choice("0123456789") for _ in range(8)),
                status=StudentStatus.ACTIVE, needs_accessible=False,
            ))
        classes.append((class_name, members))

    everyone = [s for _, members in classes for s in members]
    # A few students need an accessible room: two of each gender.
    for gender in (Gender.MALE, Gender.FEMALE):
        for student in rng.sample([s for s in everyone if s.gender == gender], 2):
            student.needs_accessible = True
    # A handful are not living on campus: suspended (休学) or graduated early.
    others = [s for s in everyone if not s.needs_accessible]
    for student in rng.sample(others, 4):
        student.status = StudentStatus.SUSPENDED
    seniors = [s for s in others if s.grade == min(GRADES) and s.status == StudentStatus.ACTIVE] or others
    for student in rng.sample(seniors, 2):
        student.status = StudentStatus.GRADUATED
    return classes


DEMO_NIGHTS = 14  # door events for the fortnight of nights ending with the last finished one


def _add_door_events(rng: random.Random, placed: dict[int, Assignment], admin) -> int:
    """A card per resident and a fortnight of door events before today: most back by 22:50, a few late,
    a few away (some with approved permission), so that the curfew pages have something to show."""
    # The fortnight ends with the last finished night, whatever the hour: before the cutoff, last night is not.
    today = reports.last_finished_night() + timedelta(days=1)
    cards, events, permissions = [], [], []
    for student_id, assignment in sorted(placed.items()):
        card = str(rng.randint(10**9, 4 * 10**9))
        cards.append(Card(number=card, student_id=student_id))
        building = assignment.bed.room.building.code
        habit = rng.random()  # a few students are often late or away
        for k in range(DEMO_NIGHTS, 0, -1):
            night = today - timedelta(days=k)
            noon = datetime.combine(night, datetime.min.time(), tzinfo=CST) + timedelta(hours=12)
            events.append((card, building, noon + timedelta(minutes=rng.randint(0, 90)), "out"))
            roll, (late_p, away_p) = rng.random(), ((0.15, 0.08) if habit < 0.04 else (0.02, 0.01))
            if roll < away_p:  # away that night; half of them asked
                if rng.random() < 0.5:
                    permissions.append(Permission(
                        student_id=student_id, kind=PermissionKind.OVERNIGHT, first_night=night, last_night=night,
                        reason="回家", destination="家中", emergency_contact="家长 13800000000",
                        status=PermissionStatus.APPROVED, decided_by_id=admin.id))
            elif roll < away_p + late_p:  # back after curfew; some said so beforehand
                back = noon + timedelta(hours=11, minutes=rng.randint(10, 150))
                if rng.random() < 0.4:
                    permissions.append(Permission(
                        student_id=student_id, kind=PermissionKind.LATE, first_night=night, last_night=night,
                        expected_return=(back + timedelta(minutes=10)).time().replace(second=0, microsecond=0),
                        reason="实验课", status=PermissionStatus.APPROVED, decided_by_id=admin.id))
                events.append((card, building, back, "in"))
            else:
                events.append((card, building, noon + timedelta(hours=6, minutes=rng.randint(0, 290)), "in"))
    db.session.add_all(cards + permissions)
    db.session.flush()
    store_events((IncomingEvent(f"demo:{n}", card, building, f"{building}-大门", moment.astimezone(UTC), direction,
                                True) for n, (card, building, moment, direction) in enumerate(events)), Report())
    return len(events)


def _place(classes, rooms_by_gender, term, admin) -> tuple[dict[int, Assignment], dict[Gender, list[Bed]]]:
    """Current assignments: accessible needs first, then class by class, each class starting a fresh room.

    Flushes; returns the assignments by student id, and each gender's beds left free
    outside accessible rooms.
    """
    started_at = MOVE_IN.astimezone(UTC)
    free: dict[int, list[Bed]] = {}
    regular: dict[Gender, list[Room]] = {}
    accessible: dict[Gender, list[Room]] = {}
    for gender, rooms in rooms_by_gender.items():
        open_rooms = [room for room in rooms if room.status == RoomStatus.OPEN]
        for room in open_rooms:
            free[id(room)] = list(room.beds)
        regular[gender] = [room for room in open_rooms if not room.accessible]
        accessible[gender] = [room for room in open_rooms if room.accessible]

    by_student: dict[int, tuple[Student, Bed]] = {}
    everyone = [s for _, members in classes for s in members]
    for student in everyone:
        if student.needs_accessible and student.status == StudentStatus.ACTIVE:
            room = next(r for r in accessible[student.gender] if free[id(r)])
            by_student[id(student)] = (student, free[id(room)].pop(0))

    def touched(room: Room) -> bool:
        return len(free[id(room)]) < len(room.beds)

    position = {gender: 0 for gender in regular}
    for _, members in classes:
        for gender in (Gender.MALE, Gender.FEMALE):
            group = [s for s in members if s.gender == gender and s.status == StudentStatus.ACTIVE
                     and id(s) not in by_student]
            rooms = regular[gender]
            # Each class starts in an untouched room, so roommates are classmates.
            while position[gender] < len(rooms) and touched(rooms[position[gender]]):
                position[gender] += 1
            for student in group:
                while position[gender] < len(rooms) and not free[id(rooms[position[gender]])]:
                    position[gender] += 1
                if position[gender] < len(rooms):
                    room = rooms[position[gender]]
                else:  # out of fresh rooms: any free bed of this gender
                    room = next((r for r in rooms + accessible[gender] if free[id(r)]), None)
                    if room is None:
                        continue  # stays without a bed, on the waiting list
                by_student[id(student)] = (student, free[id(room)].pop(0))

    reasons = ["新生入学分配" if s.grade == max(GRADES) else "学年初统一分配" for s, _ in by_student.values()]
    assignments = [
        Assignment(student=student, bed=bed, term=term, started_at=started_at, start_reason=reason,
                   started_by=admin)
        for (student, bed), reason in zip(by_student.values(), reasons)
    ]
    db.session.add_all(assignments)
    db.session.flush()
    free_beds = {gender: [bed for room in rooms for bed in free[id(room)]] for gender, rooms in regular.items()}
    return {a.student_id: a for a in assignments}, free_beds


def _add_moves(rng, placed: dict[int, Assignment], free_beds: dict[Gender, list[Bed]], term, admin) -> list[Assignment]:
    """Five students moved once this term: an ended assignment in a bed that is free now.

    (The bed they left is free, so no one else ever shared it with them.)
    """
    candidates = [a for a in placed.values()
                  if not a.student.needs_accessible and a.student.grade != max(GRADES)
                  and free_beds[a.student.gender]]
    rows = []
    for n, current in enumerate(rng.sample(candidates, min(5, len(candidates)))):
        beds = free_beds[current.student.gender]
        if not beds:
            continue
        old_bed = beds.pop(rng.randrange(len(beds)))
        moved_at = (MOVE_IN + timedelta(days=12 + 9 * n, hours=6)).astimezone(UTC)
        reason = MOVES[n % len(MOVES)]
        rows.append(Assignment(student=current.student, bed=old_bed, term=term,
                               started_at=current.started_at, start_reason=current.start_reason,
                               started_by=admin, ended_at=moved_at, end_reason=reason, ended_by=admin))
        current.started_at = moved_at + timedelta(seconds=1)
        current.start_reason = reason
    db.session.add_all(rows)
    return rows


CHANGE_REASONS = ["想和同专业同学住得近一些", "离实验楼更近", "原宿舍作息不一致"]


def _add_change_requests(placed: dict[int, Assignment]) -> list[RoomChangeRequest]:
    """Three students who each want the next one's room: a requests round shows a three-way trade."""
    first_in_room: dict[int, Assignment] = {}
    for assignment in sorted(placed.values(), key=lambda a: a.bed_id):
        if assignment.student.gender == Gender.MALE and not assignment.student.needs_accessible:
            first_in_room.setdefault(assignment.bed.room_id, assignment)
    trio = list(first_in_room.values())[10:40:10]
    requests = [
        RoomChangeRequest(student=a.student, kind=ChangeKind.MOVE, status=ChangeStatus.OPEN, reason=reason,
                          choices=[RoomChangeChoice(rank=1, room=trio[(n + 1) % len(trio)].bed.room)])
        for n, (a, reason) in enumerate(zip(trio, CHANGE_REASONS))
    ]
    db.session.add_all(requests)
    db.session.flush()
    return requests
