"""A first-fit allocator: the way most housing systems allocate.

It is the solver's safety net (its result is the fallback when a stage
finds nothing in time) and the yardstick the solver's output is compared
with; it also places whoever the optimising stages leave over.
"""
from __future__ import annotations

from collections import defaultdict

from .problem import Instance, Student


class Occupancy:
    """Rooms' remaining beds, gender and occupants, as placements are made."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.free = {room.id: room.capacity for room in instance.rooms}
        self.gender = {room.id: room.gender for room in instance.rooms}
        self.occupants: dict[str, set[str]] = defaultdict(set)
        self.classes: dict[str, set[str]] = defaultdict(set)
        self.assignments: dict[str, str] = {}
        self.avoid: dict[str, set[str]] = defaultdict(set)
        for pair in instance.avoid_pairs():
            a, b = tuple(pair)
            self.avoid[a].add(b)
            self.avoid[b].add(a)

    def fits(self, student: Student, room_id: str) -> bool:
        room = self.instance.room_by_id[room_id]
        return (self.free[room_id] > 0 and self.gender[room_id] in (None, student.gender)
                and (room.accessible or not student.needs_accessible)
                and not (self.avoid[student.id] & self.occupants[room_id]))

    def put(self, student: Student, room_id: str) -> None:
        self.assignments[student.id] = room_id
        self.occupants[room_id].add(student.id)
        self.classes[room_id].add(student.class_)
        self.free[room_id] -= 1
        self.gender[room_id] = student.gender


def first_fit(instance: Instance, occupancy: Occupancy | None = None,
              students: list[Student] | None = None) -> tuple[dict[str, str], list[str]]:
    """Place ``students`` (default: everyone) first-fit; returns (assignments, unassigned ids).

    Residents keep a room that still fits them; then accessible needs first,
    class by class, each into: a requested roommate's room, the room their
    class is filling, a preferred building, any room.
    """
    occupancy = occupancy or Occupancy(instance)
    todo = []
    pool = students if students is not None else instance.students
    for student in sorted(pool, key=lambda s: not s.locked):
        current = student.current_room
        if (current in instance.room_by_id and (student.locked or not student.wants_move)
                and occupancy.fits(student, current)):
            occupancy.put(student, current)
        else:
            todo.append(student)
    rooms_of_building: dict[str, list[str]] = defaultdict(list)
    for room in instance.rooms:
        rooms_of_building[room.building].append(room.id)
    class_room: dict[str, str] = {}
    unassigned = []
    for student in sorted(todo, key=lambda s: (not s.needs_accessible, s.gender, s.class_, s.id)):
        if student.locked:
            unassigned.append(student.id)  # cannot stay where locked: the caller explains
            continue
        candidates = [occupancy.assignments[o] for o in student.roommates if o in occupancy.assignments]
        if student.class_ in class_room:
            candidates.append(class_room[student.class_])
        for building in student.preferences:
            candidates.extend(rooms_of_building.get(building, []))
        room_id = next((c for c in candidates if occupancy.fits(student, c)), None)
        if room_id is None:
            room_id = next((r.id for r in instance.rooms if occupancy.fits(student, r.id)), None)
        if room_id is None:
            unassigned.append(student.id)
        else:
            occupancy.put(student, room_id)
            class_room[student.class_] = room_id
    return occupancy.assignments, unassigned
