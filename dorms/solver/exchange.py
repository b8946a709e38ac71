"""Swap and move requests as an exchange of beds: pure data in, data out.

The reference is "you request my house, I get your turn" (Abdulkadiroğlu and
Sönmez, 1999), computed in its top-trading-cycles form: every student with a
request points at the best bed they find acceptable among those still in
play; an occupied bed points at its occupant, a free bed at the first student
in the priority order. Every cycle of pointers is carried out at once, so
trades of three or more (A takes B's bed, B takes C's, C takes A's) and
chains ending in a free bed are found, not only two-way swaps.

Guarantees: only students who asked move; nobody ends worse off than in
their own bed (it is always their last acceptable choice); the rules of a
bed's room (gender, access, "do not room with") are the caller's to express
through ``acceptable`` lists, which hold only beds a student may take.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Applicant:
    id: str
    bed: str | None  # the bed they hold now (None: a student without one)
    wants: list[str] = field(default_factory=list)  # acceptable beds, best first; their own is implied last


@dataclass
class Outcome:
    beds: dict[str, str | None]  # applicant -> bed after the exchange (their own when nothing better)
    cycles: list[list[str]]  # the trades carried out, as applicant ids in order

    def moved(self, applicants: list[Applicant]) -> list[str]:
        return [a.id for a in applicants if self.beds.get(a.id) != a.bed]


def exchange(applicants: list[Applicant], free_beds: list[str]) -> Outcome:
    """Top trading cycles with existing tenants; ``applicants`` in priority order.

    Each pass carries out every cycle of pointers at once: they are disjoint,
    and only the one through the first student can involve a free bed, so
    this gives the same beds as taking one cycle at a time (as the reference
    describes it) in far fewer passes.
    """
    owner = {a.bed: a.id for a in applicants if a.bed is not None}
    by_id = {a.id: a for a in applicants}
    in_play = set(owner) | set(free_beds)
    # How far down their list each student has had to go; beds only ever leave play, so it only grows.
    position = dict.fromkeys(by_id, 0)
    waiting = [a.id for a in applicants]
    result: dict[str, str | None] = {}
    cycles: list[list[str]] = []
    while waiting:
        pointing: dict[str, str] = {}
        for student in waiting:
            a, i = by_id[student], position[student]
            while i < len(a.wants) and a.wants[i] not in in_play:
                i += 1
            position[student] = i
            choice = a.wants[i] if i < len(a.wants) else (a.bed if a.bed in in_play else None)
            if choice is None:  # no bed and nothing acceptable left: leaves without one
                result[student] = None
            else:
                pointing[student] = choice
        waiting = [s for s in waiting if s in pointing]
        if not waiting:
            break
        first = waiting[0]
        seen: set[str] = set()
        found: list[list[str]] = []
        for start in waiting:  # every student points at one student: each walk ends in a cycle or a known path
            path: list[str] = []
            on_path: dict[str, int] = {}
            current = start
            while current not in seen and current not in on_path:
                on_path[current] = len(path)
                path.append(current)
                # A bed points at its occupant while they wait; a free bed, or one whose occupant has
                # moved on, at the first student in line: that is how chains end in a free bed.
                occupant = owner.get(pointing[current])
                current = occupant if occupant in pointing else first
            if current in on_path:
                found.append(path[on_path[current]:])
            seen.update(path)
        for cycle in found:
            for student in cycle:
                result[student] = pointing[student]
                in_play.discard(pointing[student])
            cycles.append(cycle)
        traded = {student for cycle in found for student in cycle}
        waiting = [s for s in waiting if s not in traded]
    own = {a.id: a.bed for a in applicants}
    return Outcome(result, [c for c in cycles if any(result[s] != own[s] for s in c)])


def pairs_only(applicants: list[Applicant], free_beds: list[str]) -> int:
    """How many students a method of two-way swaps (and moves into free beds) alone would satisfy.

    For comparison with exchange(): the way most housing systems handle swaps.
    """
    return len(pairs_only_moved(applicants, free_beds))


def pairs_only_moved(applicants: list[Applicant], free_beds: list[str]) -> set[str]:
    """Who pairs_only() moves: first asked, first served, each to the best bed a swap or free bed gives."""
    holder = {a.bed: a for a in applicants if a.bed is not None}
    free = set(free_beds)
    done: set[str] = set()
    for a in applicants:
        if a.id in done:
            continue
        for bed in a.wants:
            if bed in free:
                free.remove(bed)
                done.add(a.id)
                break
            other = holder.get(bed)
            if other is not None and other.id not in done and other.id != a.id and a.bed in other.wants:
                done.update((a.id, other.id))
                break
    return done
