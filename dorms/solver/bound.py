"""A lower bound on the objective from a linear relaxation, solved with OR-Tools' GLOP.

The simple bound (Instance.lower_bound) counts one room per full room
of a class and one building per class; it is far below any real plan. This
relaxation knows the rooms there are, each building's beds per capacity and
gender, and every student's preference ranks, so the gap it gives says how
far a plan may still be from the best one. It is a relaxation of every plan:

- rooms are counted fractionally, a room of capacity k holding n students of
  a class counting n / k (class, room) pairs, though a group of a class and
  gender needs at least as many whole rooms as its size over the biggest room;
  a class in a building counts at least its share of that building's
  students, n / size, (class, building) pairs, and at least one building in
  all;
- moves that are not forced, broken mutual requests and lifestyle mixes count
  nothing, and accessible rooms are open to everyone;
- locked students stay where they are: their (class, room) and (class,
  building) pairs count in full, and the beds left in their rooms cost
  nothing more;
- anyone may be left unplaced, at the objective's price (less the move, for a resident
  who had to move and so is counted as moving).

Every plan's objective is at least the relaxation's, so its optimum rounded up
is a valid bound.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

from ortools.linear_solver import pywraplp

from .problem import UNASSIGNED_COST, Instance

# Above this many variables the relaxation takes longer than it is worth (M, with 20,000 students and
# about 300,000 variables, took 30 s here); the simple bound stands in.
MAX_VARIABLES = 60_000


def lp_bound(instance: Instance, seconds: float = 10.0) -> int | None:
    """The relaxation's optimum rounded up; None if it is too large or GLOP did not solve it within
    ``seconds``."""
    w = instance.weights
    kinds = len({(s.class_, s.gender, tuple(s.preferences)) for s in instance.students if not s.locked})
    if kinds * len({r.building for r in instance.rooms}) > MAX_VARIABLES:
        return None
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    solver.SetTimeLimit(int(seconds * 1000))
    constant = instance.forced_moves() * w["move"]
    locked = [s for s in instance.students if s.locked and s.current_room in instance.room_by_id]
    locked_rooms: dict[str, list] = defaultdict(list)
    for s in locked:
        locked_rooms[s.current_room].append(s)
    constant += w["class_room"] * len({(s.class_, s.current_room) for s in locked})
    settled = {(instance.room_by_id[s.current_room].building, s.class_) for s in locked}
    constant += w["class_building"] * len(settled)
    # Beds per (building, capacity, gender or None); beds left in locked rooms per (building, gender).
    rooms: Counter = Counter()
    spare: Counter = Counter()
    for room in instance.rooms:
        if room.capacity <= 0:
            continue
        if room.id in locked_rooms:
            people = locked_rooms[room.id]
            spare[room.building, people[0].gender] += max(0, room.capacity - len(people))
        else:
            rooms[room.building, room.capacity, room.gender] += 1
    buildings = sorted({r.building for r in instance.rooms})
    forced = {s.id for s in instance.students if instance.is_forced_move(s)}
    groups: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for s in instance.students:
        if not (s.locked and s.current_room in instance.room_by_id):
            groups[s.class_, s.gender][tuple(s.preferences), s.id in forced] += 1

    objective = []
    room_use: dict[tuple, list] = defaultdict(list)
    spare_use: dict[tuple, list] = defaultdict(list)
    presence: dict[tuple[str, str], pywraplp.Variable] = {}
    biggest = Counter()
    for _b, cap, g in rooms:
        for gender in ("M", "F") if g is None else (g,):
            biggest[gender] = max(biggest[gender], cap)
    buildings_of: dict[str, list] = defaultdict(list)  # class -> its presence variables
    unplaced_of: dict[str, list] = defaultdict(list)
    for (class_, gender), types in sorted(groups.items()):
        size = sum(types.values())
        placed: dict[str, list] = defaultdict(list)
        unplaced, group_rooms, in_spare = [], [], []
        for (prefs, must_move), count in sorted(types.items()):
            left = solver.NumVar(0, count, "")
            unplaced.append(left)
            # A forced move left unplaced is no move: the constant above already counted it.
            objective.append((UNASSIGNED_COST - must_move * w["move"]) * left)
            options = [left]
            for b in buildings:
                v = solver.NumVar(0, count, "")
                options.append(v)
                placed[b].append(v)
                if prefs:
                    rank = prefs.index(b) if b in prefs else len(prefs)
                    if rank:
                        objective.append(w["preference"] * rank * v)
            solver.Add(solver.Sum(options) == count)
        for b in buildings:
            beds = []
            for (bb, cap, g), available in rooms.items():
                if bb == b and g in (None, gender):
                    # Students of the group in rooms of this kind, and their (class, room) pairs: rooms of a
                    # kind may hold several classes, so the kind's limit is on beds.
                    n = solver.NumVar(0, cap * available, "")
                    x = solver.NumVar(0, available, "")
                    solver.Add(cap * x >= n)
                    room_use[bb, cap, g].append(n)
                    objective.append(w["class_room"] * x)
                    beds.append(n)
                    group_rooms.append(x)
            if spare[b, gender]:
                y = solver.NumVar(0, spare[b, gender], "")
                spare_use[b, gender].append(y)
                beds.append(y)
                in_spare.append(y)
            here = solver.Sum(placed[b])
            solver.Add(here <= solver.Sum(beds))
            if (b, class_) not in settled:
                if (b, class_) not in presence:
                    presence[b, class_] = solver.NumVar(0, 1, "")
                    objective.append(w["class_building"] * presence[b, class_])
                    buildings_of[class_].append(presence[b, class_])
                solver.Add(here <= size * presence[b, class_])
        # Whole rooms: those placed need at least ceil(size / biggest room) of them, one fewer for each
        # student left unplaced or in a locked room's spare bed.
        solver.Add(solver.Sum(group_rooms) + solver.Sum(unplaced) + solver.Sum(in_spare)
                   >= math.ceil(size / max(1, biggest[gender])))
        unplaced_of[class_] += unplaced
    # A class with someone placed, and not already in a building through a locked student, is in one.
    for class_, variables in buildings_of.items():
        if not any(c == class_ for _b, c in settled):
            solver.Add(solver.Sum(variables) + solver.Sum(unplaced_of[class_]) >= 1)
    for (b, cap, g), seated in room_use.items():
        solver.Add(solver.Sum(seated) <= cap * rooms[b, cap, g])
    for key, ys in spare_use.items():
        solver.Add(solver.Sum(ys) <= spare[key])
    solver.Minimize(solver.Sum(objective))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    value = solver.Objective().Value()
    # GLOP's tolerances are relative: a tight relaxation may come out a little above its true optimum.
    return constant + math.ceil(value - 1e-6 * max(1.0, abs(value)))
