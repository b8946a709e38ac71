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
    """Top trading cycles with existing tenants; ``applicants`` in priority order."""
    owner = {a.bed: a.id for a in applicants if a.bed is not None}
    in_play = set(owner) | set(free_beds)
    waiting = list(applicants)
    result: dict[str, str | None] = {}
    cycles: list[list[str]] = []
    while waiting:
        # Students pointing nowhere (no bed, nothing acceptable left) leave without one.
        pointing = {}
        for a in list(waiting):
            choice = next((bed for bed in a.wants if bed in in_play), a.bed if a.bed in in_play else None)
            if choice is None:
                result[a.id] = None
                waiting.remove(a)
            else:
                pointing[a.id] = choice
        if not waiting:
            break
        present = {a.id for a in waiting}
        first = waiting[0].id

        def holder(bed: str) -> str:
            return owner[bed] if owner.get(bed) in present else first

        # Follow pointers from the first student until a student repeats: that is a cycle.
        seen: dict[str, int] = {}
        path: list[str] = []
        current = first
        while current not in seen:
            seen[current] = len(path)
            path.append(current)
            current = holder(pointing[current])
        cycle = path[seen[current]:]
        for student in cycle:
            bed = pointing[student]
            result[student] = bed
            in_play.discard(bed)
        cycles.append(cycle)
        # Whoever left a bed nobody in the cycle took leaves it free for the rest: chains end there.
        waiting = [a for a in waiting if a.id not in set(cycle)]
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
    free = list(free_beds)
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
