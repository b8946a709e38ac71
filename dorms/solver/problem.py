"""The allocation problem as plain data (the benchmark file format of docs/allocation.md), and its objective.

Pure Python: no Flask, no database. The app builds an Instance from the
campus; benchmarks read one from a JSON file.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

DEFAULT_WEIGHTS = {"move": 100, "pair": 20, "class_room": 10, "class_building": 5, "preference": 2, "lifestyle": 3}
UNASSIGNED_COST = 10_000


@dataclass(frozen=True)
class Room:
    id: str
    building: str
    floor: int
    capacity: int
    gender: str | None  # "M", "F" or None: any, one gender per room
    accessible: bool = False
    tier: str = "standard"


@dataclass
class Student:
    id: str
    gender: str
    class_: str
    college: str = ""
    needs_accessible: bool = False
    current_room: str | None = None
    locked: bool = False
    wants_move: bool = False
    preferences: list[str] = field(default_factory=list)
    roommates: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    lifestyle: str | None = None


@dataclass
class Instance:
    rooms: list[Room]
    students: list[Student]
    weights: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    name: str = ""

    def __post_init__(self):
        self.weights = {**DEFAULT_WEIGHTS, **(self.weights or {})}
        self.room_by_id = {room.id: room for room in self.rooms}
        self.student_by_id = {student.id: student for student in self.students}

    @classmethod
    def from_dict(cls, data: dict) -> Instance:
        rooms = [Room(id=str(r["id"]), building=str(r["building"]), floor=int(r.get("floor", 0)),
                      capacity=int(r["capacity"]), gender=r.get("gender"), accessible=bool(r.get("accessible")),
                      tier=r.get("tier", "standard")) for r in data["rooms"]]
        students = [Student(id=str(s["id"]), gender=s["gender"], class_=str(s.get("class", "")),
                            college=str(s.get("college", "")), needs_accessible=bool(s.get("needs_accessible")),
                            current_room=s.get("current_room"), locked=bool(s.get("locked")),
                            wants_move=bool(s.get("wants_move")), preferences=list(s.get("preferences") or []),
                            roommates=[str(o) for o in s.get("roommates") or []],
                            avoid=[str(o) for o in s.get("avoid") or []], lifestyle=s.get("lifestyle"))
                    for s in data["students"]]
        return cls(rooms, students, data.get("weights") or {}, data.get("name", ""))

    def avoid_pairs(self) -> set[frozenset[str]]:
        """Pairs who must not share a room: either one's list binds both."""
        return {frozenset((s.id, o)) for s in self.students for o in s.avoid
                if o in self.student_by_id and o != s.id}

    def mutual_pairs(self) -> set[frozenset[str]]:
        return {frozenset((s.id, o)) for s in self.students for o in s.roommates
                if o != s.id and o in self.student_by_id and s.id in self.student_by_id[o].roommates}

    def is_forced_move(self, s: Student) -> bool:
        """A resident who must move whatever happens: their room closed or is now for the other gender."""
        room = self.room_by_id.get(s.current_room) if s.current_room else None
        return bool(room and not s.wants_move and (room.capacity == 0 or room.gender not in (None, s.gender)))

    def forced_moves(self) -> int:
        return sum(self.is_forced_move(s) for s in self.students)

    def lower_bound(self) -> int:
        """The simple valid bound of docs/allocation.md: forced moves, a class's fewest rooms, a building per class."""
        w = self.weights
        biggest = Counter()
        for r in self.rooms:
            for g in ("M", "F") if r.gender is None else (r.gender,):
                biggest[g] = max(biggest[g], r.capacity)
        size = Counter((s.class_, s.gender) for s in self.students)
        class_room = sum(math.ceil(n / max(1, biggest[g])) for (_c, g), n in size.items())
        class_building = len({s.class_ for s in self.students})
        return self.forced_moves() * w["move"] + class_room * w["class_room"] + class_building * w["class_building"]


@dataclass
class Score:
    terms: dict[str, int]
    counts: dict[str, int]
    violations: list[str]

    @property
    def objective(self) -> int:
        return sum(self.terms.values())


def violations(instance: Instance, assignments: dict[str, str]) -> list[str]:
    """Every rule the assignment breaks (docs/allocation.md, "never broken"), as readable lines."""
    problems = []
    occupants: dict[str, list[Student]] = defaultdict(list)
    for sid, rid in assignments.items():
        if sid not in instance.student_by_id or rid not in instance.room_by_id:
            problems.append(f"unknown student {sid} or room {rid}")
            continue
        occupants[rid].append(instance.student_by_id[sid])
    for rid, people in occupants.items():
        room = instance.room_by_id[rid]
        if len(people) > room.capacity:
            problems.append(f"room {rid} holds {len(people)} > capacity {room.capacity}")
        genders = {s.gender for s in people}
        if (room.gender is not None and genders - {room.gender}) or len(genders) > 1:
            problems.append(f"room {rid} ({room.gender or 'any'}) holds genders {sorted(genders)}")
        for s in people:
            if s.needs_accessible and not room.accessible:
                problems.append(f"student {s.id} needs an accessible room, got {rid}")
    for s in instance.students:
        if s.locked and assignments.get(s.id) != s.current_room:
            problems.append(f"locked student {s.id} moved from {s.current_room}")
    for pair in instance.avoid_pairs():
        a, b = tuple(pair)
        if a in assignments and assignments.get(a) == assignments.get(b):
            problems.append(f"students {a} and {b} share room {assignments[a]} but one avoids the other")
    return problems


def score(instance: Instance, assignments: dict[str, str]) -> Score:
    """The objective of docs/allocation.md, term by term (students missing from ``assignments`` are unassigned)."""
    w = instance.weights
    rooms, students = instance.room_by_id, instance.student_by_id
    placed = {sid: rid for sid, rid in assignments.items() if sid in students and rid in rooms}
    unassigned = len(students) - len(placed)
    moves = sum(1 for s in instance.students
                if s.current_room and not s.wants_move and placed.get(s.id) != s.current_room)
    broken = sum(1 for pair in instance.mutual_pairs()
                 if (ids := tuple(pair)) and (placed.get(ids[0]) is None or placed.get(ids[0]) != placed.get(ids[1])))
    class_room = len({(students[sid].class_, rid) for sid, rid in placed.items()})
    class_building = len({(students[sid].class_, rooms[rid].building) for sid, rid in placed.items()})
    preference = 0
    for s in instance.students:
        if s.preferences and s.id in placed:
            building = rooms[placed[s.id]].building
            preference += s.preferences.index(building) if building in s.preferences else len(s.preferences)
    labels: dict[str, set] = defaultdict(set)
    for sid, rid in placed.items():
        if students[sid].lifestyle:
            labels[rid].add(students[sid].lifestyle)
    lifestyle = sum(len(found) - 1 for found in labels.values())
    counts = {"unassigned": unassigned, "moves": moves, "broken_pairs": broken, "class_room": class_room,
              "class_building": class_building, "preference": preference, "lifestyle": lifestyle}
    terms = {"unassigned": unassigned * UNASSIGNED_COST, "moves": moves * w["move"],
             "broken_pairs": broken * w["pair"], "class_room": class_room * w["class_room"],
             "class_building": class_building * w["class_building"], "preference": preference * w["preference"],
             "lifestyle": lifestyle * w["lifestyle"]}
    return Score(terms, counts, violations(instance, placed))
