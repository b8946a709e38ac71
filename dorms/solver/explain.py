"""Why some students cannot be placed, whatever any solver does: pure data in, data out.

Each finding is a code with its figures and the ids involved, so the app can
say it in the reader's language with names and room codes (describe.py),
and the file CLI can print it in English.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .problem import Instance, Student

ENGLISH = {
    "short_beds": "{students} students of gender {gender} but only {beds} beds that can take them: "
                  "{missing} cannot be placed",
    "short_accessible": "{students} students of gender {gender} need an accessible room but only {beds} "
                        "accessible beds can take them",
    "locked_no_room": "student {student} is locked but has no current room",
    "locked_closed": "student {student} is locked into room {room}, which is closed",
    "locked_gender": "student {student} is locked into room {room}, which is now for gender {gender}",
    "locked_over": "{students} students are locked into room {room}, which has {beds} beds",
    "locked_mixed": "students of both genders are locked into room {room}",
    "locked_avoid": "students {student} and {other} are both locked into room {room} but one asked not to "
                    "room with the other",
}


@dataclass(frozen=True)
class Explanation:
    code: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return ENGLISH[self.code].format(**self.params)

    def as_dict(self) -> dict:
        return {"code": self.code, "params": self.params}


def explain_infeasibility(instance: Instance) -> list[Explanation]:
    """Empty when every student can be placed."""
    reasons = []
    beds = Counter()
    accessible_beds = Counter()
    for room in instance.rooms:
        for gender in ("M", "F") if room.gender is None else (room.gender,):
            beds[gender] += room.capacity
            if room.accessible:
                accessible_beds[gender] += room.capacity
    demand = Counter(s.gender for s in instance.students)
    needs = Counter(s.gender for s in instance.students if s.needs_accessible)
    for gender in sorted(demand):
        if demand[gender] > beds[gender]:
            reasons.append(Explanation("short_beds", {"gender": gender, "students": demand[gender],
                                                      "beds": beds[gender],
                                                      "missing": demand[gender] - beds[gender]}))
        if needs[gender] > accessible_beds[gender]:
            reasons.append(Explanation("short_accessible", {"gender": gender, "students": needs[gender],
                                                            "beds": accessible_beds[gender]}))
    locked_in: dict[str, list[Student]] = defaultdict(list)
    for s in instance.students:
        if not s.locked:
            continue
        room = instance.room_by_id.get(s.current_room) if s.current_room else None
        if room is None:
            reasons.append(Explanation("locked_no_room", {"student": s.id}))
        elif room.capacity == 0:
            reasons.append(Explanation("locked_closed", {"student": s.id, "room": room.id}))
        elif room.gender not in (None, s.gender):
            reasons.append(Explanation("locked_gender", {"student": s.id, "room": room.id, "gender": room.gender}))
        else:
            locked_in[room.id].append(s)
    avoid = instance.avoid_pairs()
    for room_id, people in sorted(locked_in.items()):
        room = instance.room_by_id[room_id]
        if len(people) > room.capacity:
            reasons.append(Explanation("locked_over", {"students": len(people), "room": room_id,
                                                       "beds": room.capacity}))
        if len({s.gender for s in people}) > 1:
            reasons.append(Explanation("locked_mixed", {"room": room_id}))
        ids = sorted(s.id for s in people)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if frozenset((a, b)) in avoid:
                    reasons.append(Explanation("locked_avoid", {"student": a, "other": b, "room": room_id}))
    return reasons
