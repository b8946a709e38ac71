"""Local search over a complete assignment, on the exact objective (docs/allocation.md).

The staged solver plans by groups and room types; this phase looks at
people. It moves a student into a free bed or swaps two students (or a
roommate unit and what it displaces), and keeps a change only when the
objective drops and every hard constraint still holds. Typical gains: two
classmates of different lifestyles trade rooms, a student joins their
classmates' building, a stray student of another class trades places with a
classmate of the room's class.

Deterministic: moves are tried in an order fixed by the seed, and the work
is capped by a count of students priced in moves, not by the clock (the clock is only a
guard for a machine too slow to finish in time).
"""
from __future__ import annotations

import bisect
import itertools
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable

from .problem import Instance

# Units of work (students priced in a move) per second on the benchmark machine: budgets are counted in
# work, not seconds, so that the answer does not depend on the clock. A larger campus does less work a
# second (bigger classes have more rooms to try, memory is slower). Measured on the current benchmark
# machine (bench/README.md), over descent and annealing together: about 250,000 at 2,000 students and
# 180,000 at 20,000. Small campuses keep a margin (a run of a few seconds must finish its budget to
# give the same answer twice; the unit tests give small budgets instead), and so does M:
# at 175,000 its search ended between 50 and 55 s of its 60 as this machine's speed varied, against the
# wall-clock guard at 55.2 s. Interpolated in log(size).
WORK_RATES = ((2_000, 200_000), (20_000, 165_000), (50_000, 125_000))
# Share of the budget for the first descent (a half instead of a third did no better on M), and of
# what it leaves, for annealing; the rest polishes the result.
FIRST_DESCENT_SHARE = 1 / 3
ANNEAL_SHARE = 0.7
# How far the clock may run ahead of the work done before annealing cools by the clock (see anneal).
LATE_SLACK = 0.25
# Share of annealing moves that move or trade whole rooms: since they are priced without touching the
# state they are cheap, and 0.5-0.7 gained 150-250 on M intake over 0.3.
ROOM_MOVE_SHARE = 0.6
# Share of annealing moves that move a class's students out of a room into another room of the class.
MERGE_SHARE = 0.1
# How often the search asks whether it was cancelled.
CANCEL_CHECK_SECONDS = 0.5


class Search:
    """The assignment as integer-indexed arrays, with per-room and per-(class, building) counters kept current,
    so that the objective's change of any relocation is exact and cheap."""

    def __init__(self, instance: Instance, assignments: dict[str, str], frozen: set[str]):
        w = instance.weights
        self.stop_requested: Callable[[], bool] = lambda: False  # a cancel from outside (local_search)
        self.w_class_room, self.w_class_building = w["class_room"], w["class_building"]
        self.w_preference, self.w_lifestyle = w["preference"], w["lifestyle"]
        self.w_pair, self.w_move = w["pair"], w["move"]
        self.rooms = instance.rooms
        self.students = instance.students
        room_index = {r.id: i for i, r in enumerate(self.rooms)}
        student_index = {s.id: i for i, s in enumerate(self.students)}
        buildings = sorted({r.building for r in self.rooms})
        building_index = {b: i for i, b in enumerate(buildings)}
        self.room_building = [building_index[r.building] for r in self.rooms]
        self.capacity = [r.capacity for r in self.rooms]
        self.room_gender = [r.gender for r in self.rooms]
        self.accessible = [r.accessible for r in self.rooms]
        classes = sorted({s.class_ for s in self.students})
        class_index = {c: i for i, c in enumerate(classes)}
        labels = sorted({s.lifestyle for s in self.students if s.lifestyle})
        label_index = {label: i + 1 for i, label in enumerate(labels)}
        n = len(self.students)
        self.class_of = [class_index[s.class_] for s in self.students]
        self.gender = [s.gender for s in self.students]
        self.needs_accessible = [s.needs_accessible for s in self.students]
        self.label = [label_index.get(s.lifestyle, 0) for s in self.students]
        self.movable = [not s.locked and s.id not in frozen and s.id in assignments for s in self.students]
        # Preference ranks by building index; students without preferences pay nothing anywhere.
        self.rank: list[dict[int, int] | None] = []
        # Buildings best first, with their ranks: those at least as good as a rank-k building are the
        # first bisect_right(ranks_sorted, k) of them.
        self.by_rank: list[list[int]] = []
        self.ranks_sorted: list[list[int]] = []
        for s in self.students:
            if s.preferences:
                ranks = {building_index[b]: k for k, b in enumerate(s.preferences) if b in building_index}
                self.rank.append({bi: ranks.get(bi, len(s.preferences)) for bi in range(len(buildings))})
                self.by_rank.append(sorted(range(len(buildings)), key=lambda bi: (self.rank[-1][bi], bi)))
                self.ranks_sorted.append([self.rank[-1][bi] for bi in self.by_rank[-1]])
            else:
                self.rank.append(None)
                self.by_rank.append([])
                self.ranks_sorted.append([])
        self.home = [room_index.get(s.current_room, -1) if s.current_room and not s.wants_move else -1
                     for s in self.students]
        self.partners: list[list[int]] = [[] for _ in range(n)]
        for pair in instance.mutual_pairs():
            a, b = (student_index[x] for x in pair)
            self.partners[a].append(b)
            self.partners[b].append(a)
        for partners in self.partners:
            partners.sort()  # the pairs come from a set: their order must not depend on string hashing
        self.avoid: list[set[int]] = [set() for _ in range(n)]
        for pair in instance.avoid_pairs():
            a, b = (student_index[x] for x in pair)
            self.avoid[a].add(b)
            self.avoid[b].add(a)
        self.room_of = [-1] * n
        self.occupants: list[list[int]] = [[] for _ in self.rooms]
        self.class_count: list[dict[int, int]] = [defaultdict(int) for _ in self.rooms]
        self.label_count: list[dict[int, int]] = [defaultdict(int) for _ in self.rooms]
        self.class_building: dict[tuple[int, int], int] = defaultdict(int)
        self.class_rooms: list[set[int]] = [set() for _ in classes]
        self.class_room_list: list[list[int] | None] = [None] * len(classes)  # sorted class_rooms, made on demand
        # Classes living in each building, and empty rooms per building: kept current for the room moves.
        self.building_classes: list[set[int]] = [set() for _ in buildings]
        self.empty_rooms = [0] * len(buildings)
        for r, building in enumerate(self.room_building):
            if self.capacity[r] > 0:
                self.empty_rooms[building] += 1
        self.objective = 0
        self.work = 0  # students whose move was priced: the budget's unit, about the same cost each
        for sid, rid in sorted(assignments.items(), key=lambda item: student_index[item[0]]):
            self.objective += self._add(student_index[sid], room_index[rid])
        # Students who may not move never do, so a room holding one never moves whole.
        self.fixed_room = [not all(self.movable[s] for s in people) for people in self.occupants]
        self.room_index, self.student_index = room_index, student_index
        self.rooms_of_building: list[list[int]] = [[] for _ in buildings]
        for i in sorted(range(len(self.rooms)), key=lambda i: (self.capacity[i], i)):
            if self.capacity[i] > 0:
                self.rooms_of_building[self.room_building[i]].append(i)
        # Per building, the index in rooms_of_building of its first room of each size or more.
        self.first_of_size: list[list[int]] = []
        biggest = max(self.capacity, default=0)
        for rooms in self.rooms_of_building:
            self.first_of_size.append([bisect.bisect_left([self.capacity[r] for r in rooms], k)
                                       for k in range(biggest + 2)])

    def class_room_sample(self, c: int, rnd: random.Random) -> int:
        """A random room where class ``c`` lives."""
        rooms = self.class_room_list[c]
        if rooms is None:
            rooms = self.class_room_list[c] = sorted(self.class_rooms[c])
        return rooms[rnd.randrange(len(rooms))]

    # --- the objective's change, one student at a time ------------------------------------

    def _remove(self, s: int) -> int:
        r = self.room_of[s]
        delta = 0
        c = self.class_of[s]
        counts = self.class_count[r]
        counts[c] -= 1
        if counts[c] == 0:
            del counts[c]
            self.class_rooms[c].discard(r)
            self.class_room_list[c] = None
            delta -= self.w_class_room
        key = (c, self.room_building[r])
        self.class_building[key] -= 1
        if self.class_building[key] == 0:
            delta -= self.w_class_building
            self.building_classes[key[1]].discard(c)
        label = self.label[s]
        if label:
            labels = self.label_count[r]
            labels[label] -= 1
            if labels[label] == 0:
                del labels[label]
                if labels:
                    delta -= self.w_lifestyle
        ranks = self.rank[s]
        if ranks is not None:
            delta -= self.w_preference * ranks[self.room_building[r]]
        for p in self.partners[s]:
            if self.room_of[p] == r:
                delta += self.w_pair
        if self.home[s] == r:
            delta += self.w_move
        self.occupants[r].remove(s)
        if not self.occupants[r]:
            self.empty_rooms[self.room_building[r]] += 1
        self.room_of[s] = -1
        return delta

    def _add(self, s: int, r: int) -> int:
        delta = 0
        c = self.class_of[s]
        counts = self.class_count[r]
        if c not in counts:
            delta += self.w_class_room
            self.class_rooms[c].add(r)
            self.class_room_list[c] = None
        counts[c] += 1
        key = (c, self.room_building[r])
        if self.class_building[key] == 0:
            delta += self.w_class_building
            self.building_classes[key[1]].add(c)
        self.class_building[key] += 1
        label = self.label[s]
        if label:
            labels = self.label_count[r]
            if label not in labels and labels:
                delta += self.w_lifestyle
            labels[label] += 1
        ranks = self.rank[s]
        if ranks is not None:
            delta += self.w_preference * ranks[self.room_building[r]]
        for p in self.partners[s]:
            if self.room_of[p] == r:
                delta -= self.w_pair
        if self.home[s] == r:
            delta -= self.w_move
        if not self.occupants[r]:
            self.empty_rooms[self.room_building[r]] -= 1
        self.occupants[r].append(s)
        self.room_of[s] = r
        return delta

    def _lifestyle_change(self, r: int, leaving: int, arriving: int) -> int:
        """Change in ``r``'s lifestyle mixes when a student labelled ``leaving`` goes and one labelled
        ``arriving`` comes (0: nobody, or no label)."""
        labels = self.label_count[r]
        before = len(labels)
        after = before
        if leaving and labels[leaving] == 1:
            after -= 1
        if arriving and (arriving not in labels or (arriving == leaving and labels[leaving] == 1)):
            after += 1
        return self.w_lifestyle * (max(0, after - 1) - max(0, before - 1))

    def _one_way(self, s: int, r1: int, r2: int, other: int) -> int:
        """Change in the terms that belong to ``s`` alone when it goes from ``r1`` to ``r2`` while ``other``
        (or -1) goes the other way: preference, pairs and staying home."""
        delta = 0
        ranks = self.rank[s]
        if ranks is not None:
            delta += self.w_preference * (ranks[self.room_building[r2]] - ranks[self.room_building[r1]])
        for p in self.partners[s]:
            if p == other:
                continue
            room = self.room_of[p]
            if room == r1:
                delta += self.w_pair
            elif room == r2:
                delta -= self.w_pair
        home = self.home[s]
        if home == r1:
            delta += self.w_move
        elif home == r2:
            delta -= self.w_move
        return delta

    def _class_change(self, c: int, r1: int, r2: int) -> int:
        """Change in (class, room) and (class, building) pairs when one of class ``c`` goes from ``r1`` to ``r2``."""
        delta = 0
        if self.class_count[r1][c] == 1:
            delta -= self.w_class_room
        if c not in self.class_count[r2]:
            delta += self.w_class_room
        b1, b2 = self.room_building[r1], self.room_building[r2]
        if b1 != b2:
            if self.class_building[c, b1] == 1:
                delta -= self.w_class_building
            if self.class_building[c, b2] == 0:
                delta += self.w_class_building
        return delta

    def _welcomes(self, s: int, r: int, leaving: int) -> bool:
        """Whether ``s`` may join ``r`` (a bed aside) once ``leaving`` (or -1) has left it."""
        if self.needs_accessible[s] and not self.accessible[r]:
            return False
        g = self.room_gender[r]
        if g is not None:
            if g != self.gender[s]:
                return False
        elif any(self.gender[o] != self.gender[s] for o in self.occupants[r] if o != leaving):
            return False
        avoid = self.avoid[s]
        return not (avoid and any(o in avoid and o != leaving for o in self.occupants[r]))

    def try_move(self, s: int, r2: int, threshold: float = 0) -> bool:
        """Move ``s`` alone to a free bed in ``r2`` if the objective changes by less than ``threshold``."""
        r1 = self.room_of[s]
        if len(self.occupants[r2]) >= self.capacity[r2]:
            return False
        self.work += 1
        label = self.label[s]
        delta = (self._class_change(self.class_of[s], r1, r2) + self._one_way(s, r1, r2, -1)
                 + self._lifestyle_change(r1, label, 0) + self._lifestyle_change(r2, 0, label))
        if delta >= threshold or not self._welcomes(s, r2, -1):
            return False
        self.objective += self._remove(s) + self._add(s, r2)
        return True

    def try_swap(self, s: int, o: int, threshold: float = 0) -> bool:
        """Swap ``s`` and ``o`` (in different rooms) if the objective changes by less than ``threshold``."""
        room_of = self.room_of
        r1, r2 = room_of[s], room_of[o]
        self.work += 2
        cs, co = self.class_of[s], self.class_of[o]
        # _one_way for both, inlined: this is the search's most frequent pricing.
        delta = 0
        b1, b2 = self.room_building[r1], self.room_building[r2]
        if b1 != b2:
            ranks = self.rank[s]
            if ranks is not None:
                delta += self.w_preference * (ranks[b2] - ranks[b1])
            ranks = self.rank[o]
            if ranks is not None:
                delta += self.w_preference * (ranks[b1] - ranks[b2])
        for one, other, r_from, r_to in ((s, o, r1, r2), (o, s, r2, r1)):
            for p in self.partners[one]:
                if p != other:
                    room = room_of[p]
                    if room == r_from:
                        delta += self.w_pair
                    elif room == r_to:
                        delta -= self.w_pair
            home = self.home[one]
            if home >= 0:
                if home == r_from:
                    delta += self.w_move
                elif home == r_to:
                    delta -= self.w_move
        if cs != co:
            delta += self._class_change(cs, r1, r2) + self._class_change(co, r2, r1)
        ls, lo = self.label[s], self.label[o]
        if ls != lo:
            delta += self._lifestyle_change(r1, ls, lo) + self._lifestyle_change(r2, lo, ls)
        if delta >= threshold or not self._welcomes(s, r2, o) or not self._welcomes(o, r1, s):
            return False
        self.objective += self._remove(s) + self._remove(o) + self._add(s, r2) + self._add(o, r1)
        return True

    def relocation_delta(self, moves: list[tuple[int, int]]) -> int:
        """The objective's change if ``moves`` (student, room) were made, all at once; the state is not touched.

        Counter changes are collected per (room, class), (class, building) and (room, label) first, so that
        students moving together (a unit, a whole room) are priced as one change."""
        room_of, class_of, room_building, label_of = self.room_of, self.class_of, self.room_building, self.label
        dest = dict(moves)
        class_room: dict[tuple[int, int], int] = {}
        class_building: dict[tuple[int, int], int] = {}
        labels: dict[int, dict[int, int]] = {}
        delta = 0
        for s, r2 in moves:
            r1 = room_of[s]
            c = class_of[s]
            class_room[r1, c] = class_room.get((r1, c), 0) - 1
            class_room[r2, c] = class_room.get((r2, c), 0) + 1
            b1, b2 = room_building[r1], room_building[r2]
            if b1 != b2:
                class_building[c, b1] = class_building.get((c, b1), 0) - 1
                class_building[c, b2] = class_building.get((c, b2), 0) + 1
                ranks = self.rank[s]
                if ranks is not None:
                    delta += self.w_preference * (ranks[b2] - ranks[b1])
            label = label_of[s]
            if label:
                out = labels.setdefault(r1, {})
                out[label] = out.get(label, 0) - 1
                into = labels.setdefault(r2, {})
                into[label] = into.get(label, 0) + 1
            for p in self.partners[s]:
                if p in dest:
                    if p < s:
                        continue  # the pair is priced once, from its smaller member
                    after = dest[p] == r2
                else:
                    after = room_of[p] == r2
                before = room_of[p] == r1
                delta += self.w_pair * (before - after)
            home = self.home[s]
            if home == r1:
                delta += self.w_move
            elif home == r2:
                delta -= self.w_move
        class_count = self.class_count
        for (r, c), d in class_room.items():
            if d:
                before = class_count[r].get(c, 0)
                delta += self.w_class_room * ((before + d > 0) - (before > 0))
        building_count = self.class_building
        for key, d in class_building.items():
            if d:
                before = building_count.get(key, 0)
                delta += self.w_class_building * ((before + d > 0) - (before > 0))
        for r, changes in labels.items():
            present = self.label_count[r]
            before = len(present)
            after = before
            for label, d in changes.items():
                if d:
                    n = present.get(label, 0)
                    after += (n + d > 0) - (n > 0)
            delta += self.w_lifestyle * (max(0, after - 1) - max(0, before - 1))
        return delta

    def relocation_fits(self, moves: list[tuple[int, int]]) -> bool:
        """Whether every room ``moves`` fill keeps the hard constraints once all of them are made."""
        arriving: dict[int, list[int]] = {}
        for s, r in moves:
            arriving.setdefault(r, []).append(s)
        moving = {s for s, _ in moves}
        for r, newcomers in arriving.items():
            staying = [o for o in self.occupants[r] if o not in moving]
            if len(staying) + len(newcomers) > self.capacity[r]:
                return False
            g = self.room_gender[r]
            if g is None:
                g = self.gender[staying[0]] if staying else self.gender[newcomers[0]]
            accessible = self.accessible[r]
            everyone = staying + newcomers
            for s in newcomers:
                if self.gender[s] != g or (self.needs_accessible[s] and not accessible):
                    return False
                avoid = self.avoid[s]
                if avoid and any(o in avoid for o in everyone):
                    return False
        return True

    def relocate(self, moves: list[tuple[int, int]], threshold: float = 0) -> bool:
        """Apply ``moves`` (student, room) if all still fit and the objective changes by less than ``threshold``
        (0: it must drop); else leave all as it was."""
        self.work += len(moves)
        delta = self.relocation_delta(moves)
        if delta >= threshold or not self.relocation_fits(moves):
            return False
        self._make(moves, delta)
        return True

    def _make(self, moves: list[tuple[int, int]], delta: float) -> None:
        """Carry out ``moves`` already priced at ``delta``: everyone leaves first, so places can be traded."""
        for s, _ in moves:
            self._remove(s)
        for s, r in moves:
            self._add(s, r)
        self.objective += delta

    def try_room_exchange(self, r1: int, r2: int, threshold: float = 0) -> bool:
        """Everyone in ``r1`` goes to ``r2`` and everyone in ``r2`` (maybe nobody) to ``r1``, if the objective
        changes by less than ``threshold``.

        Whole rooms trade places, so who shares a room does not change: (class, room) pairs, lifestyle
        mixes and mutual requests stay as they are, and only (class, building) pairs, preferences and
        staying home are priced."""
        people, others = self.occupants[r1], self.occupants[r2]
        if len(people) > self.capacity[r2] or len(others) > self.capacity[r1]:
            return False
        self.work += 2
        b1, b2 = self.room_building[r1], self.room_building[r2]
        delta = 0
        if b1 != b2:
            counts1, counts2 = self.class_count[r1], self.class_count[r2]
            building_count = self.class_building
            w = self.w_class_building
            for c, n in counts1.items():
                d = n - counts2.get(c, 0)
                if d:
                    before1, before2 = building_count.get((c, b1), 0), building_count.get((c, b2), 0)
                    delta += w * ((before1 - d > 0) - (before1 > 0) + (before2 + d > 0) - (before2 > 0))
            for c, m in counts2.items():
                if c not in counts1:
                    before1, before2 = building_count.get((c, b1), 0), building_count.get((c, b2), 0)
                    delta += w * ((before1 + m > 0) - (before1 > 0) + (before2 - m > 0) - (before2 > 0))
            rank = self.rank
            preference = 0
            for s in people:
                ranks = rank[s]
                if ranks is not None:
                    preference += ranks[b2] - ranks[b1]
            for o in others:
                ranks = rank[o]
                if ranks is not None:
                    preference += ranks[b1] - ranks[b2]
            delta += self.w_preference * preference
        home = self.home
        for s in people:
            if home[s] == r1:
                delta += self.w_move
            elif home[s] == r2:
                delta -= self.w_move
        for o in others:
            if home[o] == r2:
                delta += self.w_move
            elif home[o] == r1:
                delta -= self.w_move
        if delta >= threshold:
            return False
        for moving, room in ((people, r2), (others, r1)):
            if moving:
                g = self.room_gender[room]
                if g is not None and g != self.gender[moving[0]]:
                    return False
                if not self.accessible[room] and any(self.needs_accessible[s] for s in moving):
                    return False
        self._make([(s, r2) for s in people] + [(o, r1) for o in others], delta)
        return True

    # --- neighbourhoods ------------------------------------------------------------------------

    def _unit_in_room(self, s: int) -> list[int]:
        """``s`` and those of its mutual roommates who share its room: they move together."""
        r = self.room_of[s]
        unit = [s]
        for p in self.partners[s]:
            if self.room_of[p] == r and self.movable[p] and p not in unit:
                unit.append(p)
        return unit

    def improve_student(self, s: int) -> bool:
        """Try moves and swaps of ``s`` (with its roommate unit) into rooms where its class or partners live.
        Returns whether something improved."""
        r1 = self.room_of[s]
        if r1 < 0 or not self.movable[s]:
            return False
        unit = self._unit_in_room(s)
        size = len(unit)
        targets = set(self.class_rooms[self.class_of[s]])
        for p in self.partners[s]:
            if self.room_of[p] >= 0:
                targets.add(self.room_of[p])
        targets.discard(r1)
        for r2 in sorted(targets):
            free = self.capacity[r2] - len(self.occupants[r2])
            if free >= size and (self.try_move(s, r2) if size == 1 else self.relocate([(m, r2) for m in unit])):
                return True
            if size == 1:
                for o in list(self.occupants[r2]):
                    if self.movable[o] and self.try_swap(s, o):
                        return True
            else:
                # The unit trades places with as many of the other room's singles, where the room has them.
                others = [o for o in self.occupants[r2] if self.movable[o]
                          and all(self.room_of[p] != r2 for p in self.partners[o])]
                if len(others) + free >= size:
                    give = others[:max(0, size - free)]
                    if self.relocate([(m, r2) for m in unit] + [(o, r1) for o in give]):
                        return True
        return False

    def improve_room(self, r1: int) -> bool:
        """Move everyone in ``r1`` to an empty room of another building, or trade all occupants with a room
        there whose classes live in ``r1``'s building: how a class gathers in fewer buildings, or a room of
        students who prefer another building gets there. Returns whether something improved."""
        people = self.occupants[r1]
        if not people or self.fixed_room[r1]:
            return False
        if self.merge_room(r1):
            return True
        b1 = self.room_building[r1]
        size = len(people)
        targets = set()
        for c in self.class_count[r1]:
            targets.update(self.room_building[r] for r in self.class_rooms[c])
        for s in people:
            ranks = self.rank[s]
            if ranks is not None:
                targets.update(b for b, k in ranks.items() if k < ranks[b1])
        targets.discard(b1)
        if not targets:
            return False
        # Rooms to trade with: in a target building, and holding only classes that already live in r1's
        # building (found through those classes' rooms rather than by scanning every room of the targets).
        present = self.building_classes[b1]
        room_building, capacity, occupants, class_count = (self.room_building, self.capacity, self.occupants,
                                                           self.class_count)
        room_limit = capacity[r1]
        swaps: dict[int, list[int]] = defaultdict(list)
        seen = set()
        for c in present:
            for r2 in self.class_rooms[c]:
                b = room_building[r2]
                if (b in targets and r2 not in seen and capacity[r2] >= size and len(occupants[r2]) <= room_limit
                        and not self.fixed_room[r2] and all(k in present for k in class_count[r2])):
                    seen.add(r2)
                    swaps[b].append(r2)
        for b in sorted(targets):
            if self.empty_rooms[b]:
                tried = set()
                for r2 in self.rooms_of_building[b]:  # smallest rooms first: the best fit of each kind
                    if occupants[r2] or capacity[r2] < size:
                        continue
                    kind = (capacity[r2] > size, self.room_gender[r2], self.accessible[r2])
                    if kind in tried:
                        continue
                    tried.add(kind)
                    if self.try_room_exchange(r1, r2):
                        return True
            for r2 in sorted(swaps.get(b, ())):
                if self.try_room_exchange(r1, r2):
                    return True
        return False

    def merge_room(self, r1: int) -> bool:
        """Move a class's students in ``r1`` (or everyone there) into another room of that class with the
        beds for them: two part-filled rooms of a class become one. Returns whether something improved."""
        people = self.occupants[r1]
        capacity, occupants = self.capacity, self.occupants
        for c in sorted(self.class_count[r1]):
            own = [s for s in people if self.class_of[s] == c and self.movable[s]]
            for movers in (people, own) if len(own) < len(people) else (people,):
                if not all(self.movable[s] for s in movers):
                    continue
                for r2 in sorted(self.class_rooms[c]):
                    if (r2 != r1 and capacity[r2] - len(occupants[r2]) >= len(movers)
                            and self.relocate([(s, r2) for s in movers])):
                        return True
        return False

    def random_merge(self, s: int, rnd: random.Random, threshold: float) -> None:
        """``s``'s classmates in its room (with their roommates there) move to another room of the class, or
        of a roommate's class, with the beds for them: one step of emptying a part-filled room."""
        r1 = self.room_of[s]
        movers = []
        for o in self.occupants[r1]:
            if self.class_of[o] == self.class_of[s]:
                movers.extend(p for p in self._unit_in_room(o) if p not in movers)
        if not all(self.movable[o] for o in movers):
            return
        c = self.class_of[movers[rnd.randrange(len(movers))]]
        r2 = self.class_room_sample(c, rnd)
        if r2 != r1 and self.capacity[r2] - len(self.occupants[r2]) >= len(movers):
            self.relocate([(o, r2) for o in movers], threshold)

    def random_room_move(self, rnd: random.Random, threshold: float) -> None:
        """One random move of the kinds ``improve_room`` tries, kept when its change is below ``threshold``."""
        s = self.order[rnd.randrange(len(self.order))]
        r1 = self.room_of[s]
        people = self.occupants[r1]
        if self.fixed_room[r1]:
            return
        b1 = self.room_building[r1]
        ranks = self.rank[s]
        if ranks is not None and rnd.random() < 0.5:
            b = self.by_rank[s][rnd.randrange(bisect.bisect_right(self.ranks_sorted[s], ranks[b1]))]
        else:
            b = self.room_building[self.class_room_sample(self.class_of[s], rnd)]
        if b == b1:
            return
        rooms = self.rooms_of_building[b]
        first = self.first_of_size[b][len(people)]  # rooms too small for everyone in r1 are never drawn
        if first >= len(rooms):
            return
        r2 = rooms[first + rnd.randrange(len(rooms) - first)]
        others = self.occupants[r2]
        if self.capacity[r2] < len(people) or len(others) > self.capacity[r1]:
            return
        if self.fixed_room[r2]:
            return
        self.try_room_exchange(r1, r2, threshold)

    def random_move(self, rnd: random.Random, order: list[int], threshold: float) -> None:
        """One random move of the kinds ``improve_student`` tries, kept when its change is below ``threshold``."""
        draw = rnd.random()
        if draw < ROOM_MOVE_SHARE:
            self.random_room_move(rnd, threshold)
            return
        s = order[rnd.randrange(len(order))]
        if draw < ROOM_MOVE_SHARE + MERGE_SHARE:
            self.random_merge(s, rnd, threshold)
            return
        r1 = self.room_of[s]
        candidates = self.class_rooms[self.class_of[s]]
        if rnd.random() < 0.2 and self.partners[s]:
            r2 = self.room_of[self.partners[s][rnd.randrange(len(self.partners[s]))]]
        elif len(candidates) > 1:
            r2 = self.class_room_sample(self.class_of[s], rnd)
        else:
            return
        if r2 == r1 or r2 < 0:
            return
        unit = self._unit_in_room(s)
        free = self.capacity[r2] - len(self.occupants[r2])
        if free >= len(unit) and (free > len(unit) or rnd.random() < 0.5):
            if len(unit) == 1:
                self.try_move(s, r2, threshold)
            else:
                self.relocate([(m, r2) for m in unit], threshold)
            return
        others = [o for o in self.occupants[r2] if self.movable[o]]
        if not others:
            return
        if len(unit) == 1:
            self.try_swap(s, others[rnd.randrange(len(others))], threshold)
            return
        singles = [o for o in others if all(self.room_of[p] != r2 for p in self.partners[o])]
        if len(singles) + free >= len(unit):
            rnd.shuffle(singles)
            give = singles[:max(0, len(unit) - free)]
            self.relocate([(m, r2) for m in unit] + [(o, r1) for o in give], threshold)


def anneal(search: Search, budget: int, rnd: random.Random, deadline: float, start: float = 1.0,
           end: float = 0.1) -> None:
    """Random moves, uphill ones kept with a probability that falls as the temperature does: how the
    search leaves a local optimum (e.g. a student steps into a half-empty room so that the next can follow).

    The temperature follows the share of the budget spent; on a machine so slow that the share of
    the time to ``deadline`` runs LATE_SLACK ahead of it, it follows the time instead: cut short, the
    search still cools down (and then differs from a faster machine's)."""
    order = [i for i, movable in enumerate(search.movable) if movable and search.room_of[i] >= 0]
    if not order or budget <= 0:
        return
    search.order = order
    chunks = 1000
    first, began = search.work, time.monotonic()
    span = max(1e-9, deadline - began)
    while True:
        on_time = ((time.monotonic() - began) / span - LATE_SLACK) / (1 - LATE_SLACK)
        progress = max((search.work - first) / budget, on_time)
        if progress >= 1 or search.stop_requested():
            return
        temperature = start * (end / start) ** progress
        chunk_end = search.work + max(1, budget // chunks)
        while search.work < chunk_end:
            search.random_move(rnd, order, -temperature * math.log(1.0 - rnd.random()))
            search.work += 1  # a move refused before pricing still costs a little


def descend(search: Search, budget: int, rnd: random.Random, deadline: float) -> None:
    """Sweeps of first-improvement moves over every student, then every room, until none improves."""
    order = [i for i, movable in enumerate(search.movable) if movable]
    stop = search.work + budget
    while search.work < stop:
        rnd.shuffle(order)
        improved = 0
        for s in order:
            improved += search.improve_student(s)
            if search.work >= stop or time.monotonic() > deadline or search.stop_requested():
                break
        rooms = [r for r in range(len(search.rooms)) if search.occupants[r]]
        rnd.shuffle(rooms)
        for r in rooms:
            if search.work >= stop or time.monotonic() > deadline or search.stop_requested():
                break
            improved += search.improve_room(r)
        if not improved or time.monotonic() > deadline or search.stop_requested():
            break


def _asked_now_and_then(cancelled: Callable[[], bool]) -> Callable[[], bool]:
    """``cancelled`` asked at most every CANCEL_CHECK_SECONDS (it may read a database); once yes, always yes."""
    state = {"next": 0.0, "yes": False}

    def stop_requested() -> bool:
        now = time.monotonic()
        if not state["yes"] and now >= state["next"]:
            state["next"], state["yes"] = now + CANCEL_CHECK_SECONDS, bool(cancelled())
        return state["yes"]

    return stop_requested


def work_per_second(students: int) -> float:
    """The search's calibrated speed on a campus of ``students`` (see WORK_RATES)."""
    if students <= WORK_RATES[0][0]:
        return WORK_RATES[0][1]
    for (n1, rate1), (n2, rate2) in itertools.pairwise(WORK_RATES):
        if students <= n2:
            t = math.log(students / n1) / math.log(n2 / n1)
            return rate1 + t * (rate2 - rate1)
    return WORK_RATES[-1][1]


def local_search(instance: Instance, assignments: dict[str, str], frozen: set[str], seconds: float, seed: int,
                 deadline: float, work_rate: float | None = None,
                 cancelled: Callable[[], bool] | None = None) -> tuple[dict[str, str], int]:
    """Improve ``assignments`` for about ``seconds`` worth of work at ``work_rate`` units a second
    (WORK_RATES when not given); ``frozen`` students stay put. Returns the assignment and the work done.
    ``cancelled()``, asked about every CANCEL_CHECK_SECONDS, ends the search early once it says so.

    Descent first (most of the gain, quickly), then annealing from there, then descent again; the
    better of the two descents' results is returned."""
    search = Search(instance, assignments, frozen)
    if cancelled is not None:
        search.stop_requested = _asked_now_and_then(cancelled)
    budget = int(seconds * (work_rate or work_per_second(len(instance.students))))
    rnd = random.Random(seed)
    descend(search, int(budget * FIRST_DESCENT_SHARE), rnd, deadline)
    best, best_objective = list(search.room_of), search.objective
    left = budget - search.work
    # On a machine too slow for the budget the final descent still gets some of the time left (it does
    # about twice as much work a second as annealing).
    anneal(search, int(left * ANNEAL_SHARE), rnd, deadline - (1 - ANNEAL_SHARE) / 2 * (deadline - time.monotonic()))
    descend(search, budget - search.work, rnd, deadline)
    if search.objective > best_objective:
        search.room_of = best
    return {search.students[s].id: search.rooms[r].id for s, r in enumerate(search.room_of) if r >= 0}, search.work
