"""The allocation solver: pure data in (an Instance), data out (a Solution).

Shape (each stage small enough for a laptop-sized machine):

1. **Fix** who stays: locked students, and residents whose room still fits
   them (moving one costs more than anything it could gain). Students who
   need an accessible room, and those whose mutual roommate lives in a room
   with a free bed, are placed next.
2. **Units**: students who asked for each other (mutually) move as one unit;
   a unit travels with its class. Groups are (class, gender).
3. **Buildings, room-aware**: largest groups first, each group reserves the
   empty rooms (by capacity: 4, 6, 8) it fills best, in the building where
   rooms, spare beds, its (class, building) pair and its preferences cost least.
4. **Rooms**: per building, CP-SAT re-plans how many rooms of each type each
   group gets and who shares (rooms of one type are interchangeable, so the
   model is small); then pairs of buildings are re-planned jointly, groups
   free to move between them, and kept when cheaper.
5. **Beds**: units are packed into their group's rooms, singles sorted by
   preferred building and lifestyle; remainders share rooms, classmates together.
6. **Search** (solver_search.py): on the exact objective, students and
   roommate units move or trade places, whole rooms move or trade between
   buildings; descent, annealing, descent. Residents who stay are not moved.

The first-fit result is computed first: it is the fallback, so the answer is
never worse than greedy, and whoever a stage could not place is placed
first-fit. Same input and seed, same output: CP-SAT runs on one worker with
deterministic time budgets fixed in advance, and the search's budget is a
count of work (only a machine too slow to finish within the limit cuts the
later stages short, and so differs).
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from .explain import Explanation, explain_infeasibility
from .greedy import Occupancy, first_fit
from .problem import Instance, Student, score
from .solver_search import local_search

Progress = Callable[[str, float], None]
# A group may leave up to this many people to shared rooms rather than take a room for them.
MAX_REMAINDER = 3
# Shares of the time limit: CP-SAT room plans of single buildings, then of building pairs (both are
# good enough quickly); the final local search (solver_search.py), which gains the most per second,
# gets what is left of FINISH_SHARE after them and after the other stages' own work.
PLAN_SHARE = 0.04
PAIRS_SHARE = 0.01
FINISH_SHARE = 0.9
# Seconds per student that the stages other than CP-SAT and the search take (measured 0.25-0.35 ms
# on an idle machine; more leaves room for a busy one, so that L does not reach the wall-clock guard).
STAGE_SECONDS_PER_STUDENT = 0.0006


@dataclass
class Solution:
    assignments: dict[str, str]
    unassigned: list[str]
    objective: int
    terms: dict[str, int]
    counts: dict[str, int]
    bound: int
    greedy_objective: int
    method: str  # "solver" or "greedy" (the fallback won)
    greedy_terms: dict[str, int] = field(default_factory=dict)  # first-fit's, for comparison
    explanations: list[Explanation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def gap(self) -> float:
        return (self.objective - self.bound) / self.objective if self.objective else 0.0

    def as_result(self) -> dict:
        """SPEC.md's result file."""
        return {"assignments": dict(sorted(self.assignments.items())), "unassigned": sorted(self.unassigned)}


def solve(instance: Instance, *, time_limit: float = 60.0, seed: int = 0,
          progress: Progress | None = None) -> Solution:
    started = time.monotonic()
    report = progress or (lambda stage, fraction: None)
    explanations = explain_infeasibility(instance)

    report("greedy", 0.0)
    greedy_assignments, greedy_unassigned = first_fit(instance)
    greedy_score = score(instance, greedy_assignments)

    state = Occupancy(instance)
    unplaceable = _fix_residents(instance, state)
    free = [s for s in instance.students if s.id not in state.assignments and s.id not in unplaceable]
    free = _place_accessible_and_partners(instance, state, free)
    report("buildings", 0.1)
    # Budgets are shares of the limit, not of what is left: the answer must not depend on the clock.
    groups = _groups(instance, state, free)
    parts = _pack_rooms(instance, state, groups)
    report("rooms", 0.3)
    leftovers = _plan_and_seat(instance, state, parts, time_limit, started, seed, report)
    leftovers += [s for g in groups for u in g.unplaced for s in u]
    _, still = first_fit(instance, state, leftovers)
    unassigned = sorted(set(still) | unplaceable)
    report("improving", 0.9)
    staying = {s.id for s in instance.students
               if s.current_room and not s.wants_move and state.assignments.get(s.id) == s.current_room}
    # From the limit and the size alone, so that the answer does not depend on the clock.
    search_seconds = max(0.0, (FINISH_SHARE - PLAN_SHARE - PAIRS_SHARE) * time_limit
                         - STAGE_SECONDS_PER_STUDENT * len(instance.students))
    improved = local_search(instance, state.assignments, staying, search_seconds, seed,
                            deadline=started + 0.92 * time_limit)

    solver_score = score(instance, improved)
    report("done", 1.0)
    if solver_score.violations or solver_score.objective > greedy_score.objective:
        chosen, chosen_score, method = greedy_assignments, greedy_score, "greedy"
        unassigned = sorted(greedy_unassigned)
    else:
        chosen, chosen_score, method = improved, solver_score, "solver"
    return Solution(
        assignments=dict(chosen), unassigned=unassigned, objective=chosen_score.objective,
        terms=chosen_score.terms, counts=chosen_score.counts, bound=instance.lower_bound(),
        greedy_objective=greedy_score.objective, greedy_terms=greedy_score.terms, method=method,
        explanations=explanations,
        seconds=time.monotonic() - started,
    )


# --- rooms ---------------------------------------------------------------------------


def _plan_and_seat(instance: Instance, state: Occupancy, parts: dict[str, list[Part]], time_limit: float,
                   started: float, seed: int, report: Progress) -> list[Student]:
    """Plan every building, improve pairs of buildings by letting parts move between them, then seat.

    Budgets are fixed shares of the limit (the answer must not depend on the
    clock); past the limit, what is left gets only a moment.
    """
    w = instance.weights
    buildings = sorted(parts)
    presence: dict[str, set[str]] = defaultdict(set)
    for sid, room_id in state.assignments.items():
        presence[instance.room_by_id[room_id].building].add(instance.student_by_id[sid].class_)
    for b in buildings:
        presence[b] |= {part.group.class_ for part in parts[b]}

    def overdue() -> bool:
        return time.monotonic() - started > 0.9 * time_limit

    def terms(part: Part, building: str) -> int:
        preference = sum(_rank(s, building) for u in part.units for s in u if s.preferences)
        return 10 * w["class_building"] * (part.group.class_ not in presence[building]) \
            + 10 * w["preference"] * preference

    cost: dict[str, int] = {}
    unplanned: list[Student] = []
    for number, b in enumerate(buildings):
        found = _plan(instance, state, [b], parts[b], presence, 0.05 if overdue() else PLAN_SHARE * time_limit / len(buildings), seed)
        if found is None:
            unplanned += [s for part in parts[b] for u in part.units for s in u]
            parts[b] = []
            found = 0
        cost[b] = found
        report("rooms", 0.3 + 0.3 * (number + 1) / len(buildings))

    genders = {b: {g for g in ("M", "F") if any(state.gender[r.id] in (None, g) and state.free[r.id] > 0
                                                for r in instance.rooms if r.building == b)} for b in buildings}
    pairs = [(b1, b2) for i, b1 in enumerate(buildings) for b2 in buildings[i + 1:] if genders[b1] & genders[b2]]
    size = {b: max(1, sum(p.size for p in parts[b])) for b in buildings}
    pairs.sort(key=lambda pair: (-(cost[pair[0]] / size[pair[0]] + cost[pair[1]] / size[pair[1]]), pair))
    step = 0.5
    for number, (b1, b2) in enumerate(pairs[:max(1, int(PAIRS_SHARE * time_limit / step))]):
        if overdue():
            break
        group_parts = parts[b1] + parts[b2]
        snapshot = [(p.building, dict(p.own), p.rest) for p in group_parts]
        before = cost[b1] + cost[b2] + sum(terms(p, p.building) for p in group_parts)
        after = _plan(instance, state, [b1, b2], group_parts, presence, step, seed)
        if after is None or after >= before:
            for p, (building, own, rest) in zip(group_parts, snapshot):
                p.building, p.own, p.rest = building, own, rest
            continue
        parts[b1] = [p for p in group_parts if p.building == b1]
        parts[b2] = [p for p in group_parts if p.building == b2]
        for b in (b1, b2):
            presence[b] = {instance.student_by_id[sid].class_ for sid, r in state.assignments.items()
                           if instance.room_by_id[r].building == b} | {p.group.class_ for p in parts[b]}
            found = _plan(instance, state, [b], parts[b], presence, 0.2, seed)
            cost[b] = found if found is not None else cost[b]
        report("rooms", 0.6 + 0.3 * number / max(1, len(pairs)))

    leftovers = list(unplanned)
    for b in buildings:
        leftovers += _seat_building(instance, state, b, parts[b])
    return leftovers


# --- stage 1: who stays ------------------------------------------------------------


def _fix_residents(instance: Instance, state: Occupancy) -> set[str]:
    """Locked students stay, then residents whose room still fits. Returns the locked who cannot stay."""
    unplaceable = set()
    for s in sorted((s for s in instance.students if s.locked), key=lambda s: s.id):
        if s.current_room in instance.room_by_id and state.fits(s, s.current_room):
            state.put(s, s.current_room)
        else:
            unplaceable.add(s.id)
    for s in sorted((s for s in instance.students if s.current_room and not s.locked and not s.wants_move),
                    key=lambda s: s.id):
        if s.current_room in instance.room_by_id and state.fits(s, s.current_room):
            state.put(s, s.current_room)
    return unplaceable


def _place_accessible_and_partners(instance: Instance, state: Occupancy, free: list[Student]) -> list[Student]:
    """Few and constrained: students needing access go first, next to classmates or preferences;
    then anyone whose mutual roommate already lives in a room with a free bed joins them."""
    accessible_rooms = [r for r in instance.rooms if r.accessible and r.capacity > 0]
    rest = []
    for s in sorted(free, key=lambda s: s.id):
        if not s.needs_accessible:
            rest.append(s)
            continue
        ranked = sorted(accessible_rooms, key=lambda r: (s.class_ not in state.classes[r.id],
                                                          _rank(s, r.building), r.id))
        room = next((r for r in ranked if state.fits(s, r.id)), None)
        if room is None:
            rest.append(s)
        else:
            state.put(s, room.id)
    remaining = []
    for s in rest:
        partner_rooms = [state.assignments[o] for o in sorted(s.roommates)
                         if o in state.assignments and s.id in instance.student_by_id[o].roommates]
        room_id = next((r for r in partner_rooms if state.fits(s, r)), None)
        if room_id is None:
            remaining.append(s)
        else:
            state.put(s, room_id)
    return remaining


def _rank(student: Student, building: str) -> int:
    prefs = student.preferences
    return prefs.index(building) if building in prefs else len(prefs)


# --- stage 2: units and groups -----------------------------------------------------------


@dataclass
class Group:
    class_: str
    gender: str
    units: list[list[Student]]
    unplaced: list[list[Student]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(u) for u in self.units)


def _groups(instance: Instance, state: Occupancy, free: list[Student]) -> list[Group]:
    """Free students as (class, gender) groups of units (mutual-request components, or singles)."""
    free_ids = {s.id for s in free}
    parent = {s.id: s.id for s in free}

    def root(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in instance.mutual_pairs():
        a, b = sorted(pair)
        if a in free_ids and b in free_ids and instance.student_by_id[a].gender == instance.student_by_id[b].gender:
            parent[root(a)] = root(b)
    components: dict[str, list[Student]] = defaultdict(list)
    for s in sorted(free, key=lambda s: s.id):
        components[root(s.id)].append(s)
    biggest = max((r.capacity for r in instance.rooms), default=1)
    units = []
    for members in components.values():
        units.extend(_split_unit(members, state.avoid, biggest))
    grouped: dict[tuple[str, str], list[list[Student]]] = defaultdict(list)
    for unit in units:
        classes = Counter(s.class_ for s in unit)
        home = min(classes, key=lambda c: (-classes[c], c))
        grouped[(home, unit[0].gender)].append(unit)
    return [Group(c, g, sorted(units, key=lambda u: (-len(u), u[0].id))) for (c, g), units in sorted(grouped.items())]


def _split_unit(members: list[Student], avoid: dict[str, set[str]], biggest: int) -> list[list[Student]]:
    """A unit must fit one room and hold nobody who avoids another member."""
    units: list[list[Student]] = []
    for s in members:
        home = next((u for u in units if len(u) < biggest and not any(o.id in avoid[s.id] for o in u)), None)
        if home is None:
            units.append([s])
        else:
            home.append(s)
    return units


# --- stage 3: buildings, room-aware -------------------------------------------------------------


def _pack_rooms(instance: Instance, state: Occupancy, groups: list[Group]) -> dict[str, list[Part]]:
    """Room-aware building choice: each group reserves the empty rooms it fills best.

    Largest groups first (they are the hardest to pack), each group takes the
    building where its cost is lowest: a (class, building) pair, preference
    ranks, a (class, room) pair per room, spare beds used, and a share for a
    remainder left to shared rooms. A group no building holds whole is split
    over the buildings with most room.
    """
    w = instance.weights
    pools: dict[str, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))  # building -> (cap, gender) -> rooms
    for room in instance.rooms:
        if room.accessible or state.free[room.id] == 0 or state.occupants[room.id]:
            continue  # partly filled rooms are left to the shared stage, where classmates find them
        pools[room.building][room.capacity, state.gender[room.id] or ""] += 1
    present = defaultdict(set)
    for sid, room_id in state.assignments.items():
        present[instance.room_by_id[room_id].building].add(instance.student_by_id[sid].class_)
    buildings = sorted(pools)
    result: dict[str, list[Part]] = defaultdict(list)
    for group in sorted(groups, key=lambda g: (-g.size, g.class_, g.gender)):
        members = [s for u in group.units for s in u]
        best = None
        for b in buildings:
            packed = _best_packing(group.size, pools[b], group.gender, w)
            if packed is None:
                continue
            rooms, remainder, score_ = packed
            cost = (score_ + w["class_building"] * (group.class_ not in present[b])
                    + w["preference"] * sum(_rank(s, b) for s in members if s.preferences))
            if best is None or (cost, b) < best[0]:
                best = ((cost, b), b, rooms, remainder)
        if best is not None:
            _, b, rooms, remainder = best
            _reserve(pools[b], rooms)
            present[b].add(group.class_)
            result[b].append(Part(group, list(group.units), b, own=_as_types(rooms), rest=remainder))
            continue
        # Too big for any one building: take whole rooms where most are left, building by building.
        counts: dict[str, int] = {}
        need = group.size
        for b in sorted(buildings, key=lambda b: (-_beds_for(pools[b], group.gender), b)):
            if need <= 0:
                break
            rooms, placed = _greedy_rooms(need, pools[b], group.gender)
            if placed == 0:
                continue
            _reserve(pools[b], rooms)
            counts[b] = placed
            need -= placed
            result[b].append(Part(group, [], b, own=_as_types(rooms), rest=0))
        # Hand the units to those parts; what does not fit goes first-fit later.
        placed_units: dict[str, list[list[Student]]] = defaultdict(list)
        left = dict(counts)
        for unit in group.units:
            target = next((b for b in sorted(left, key=lambda b: (-left[b], b)) if left[b] >= len(unit)), None)
            if target is None:
                group.unplaced.append(unit)
                continue
            left[target] -= len(unit)
            placed_units[target].append(unit)
        for b, units in placed_units.items():
            part = next(p for p in result[b] if p.group is group)
            part.units = units
        for b in counts:
            result[b] = [p for p in result[b] if p.group is not group or p.units]
    return result


def _best_packing(size: int, pool: dict[tuple, int], gender: str, w: dict) -> tuple[dict, int, float] | None:
    """Rooms (by capacity and gender pool) holding ``size``, or all but a small remainder; cheapest first."""
    caps = sorted({cap for (cap, g) in pool if g in ("", gender) and pool[cap, g] > 0}, reverse=True)
    if not caps:
        return None
    available = {cap: sum(pool[cap, g] for g in ("", gender) if (cap, g) in pool) for cap in caps}
    if sum(cap * n for cap, n in available.items()) < size:
        return None
    best = None

    def consider(counts: dict[int, int], remainder: int):
        nonlocal best
        beds = sum(cap * n for cap, n in counts.items())
        waste = beds - (size - remainder)
        rooms = sum(counts.values())
        cost = w["class_room"] * rooms + 2 * waste + (w["class_room"] * 1.5 + remainder if remainder else 0)
        if best is None or cost < best[2]:
            best = (dict(counts), remainder, cost)

    a, b_, c = (caps + [0, 0])[:3]
    for remainder in range(min(size, MAX_REMAINDER + 1)):
        target = size - remainder
        for na in range(min(available.get(a, 0), target // a + 1) + 1) if a else [0]:
            rest_a = target - na * a
            for nb in range(min(available.get(b_, 0), max(0, rest_a) // b_ + 1) + 1) if b_ else [0]:
                rest_b = rest_a - nb * b_
                if c:
                    nc = max(0, -(-rest_b // c))
                    if nc > available.get(c, 0):
                        continue
                else:
                    nc = 0
                    if rest_b > 0:
                        continue
                counts = {cap: n for cap, n in ((a, na), (b_, nb), (c, nc)) if cap and n}
                if sum(cap * n for cap, n in counts.items()) >= target:
                    consider(counts, remainder)
    if best is None:
        return None
    return _by_pool(best[0], pool, gender), best[1], best[2]


def _greedy_rooms(need: int, pool: dict[tuple, int], gender: str) -> tuple[dict[tuple, int], int]:
    """Largest rooms first until ``need`` people are in; returns (rooms per pool, people placed)."""
    counts: dict[tuple, int] = defaultdict(int)
    placed = 0
    for key in sorted((k for k in pool if k[1] in ("", gender)), key=lambda k: (-k[0], k[1] != gender, k[1])):
        while pool[key] - counts[key] > 0 and placed < need:
            counts[key] += 1
            placed += min(key[0], need - placed)
    return dict(counts), placed


def _by_pool(counts: dict[int, int], pool: dict[tuple, int], gender: str) -> dict[tuple, int]:
    """Rooms per capacity, taken from the gender's own rooms first, then from undecided ones."""
    result = {}
    for cap, n in counts.items():
        own = min(n, pool.get((cap, gender), 0))
        if own:
            result[cap, gender] = own
        if n - own:
            result[cap, ""] = n - own
    return result


def _reserve(pool: dict[tuple, int], counts_by_gender: dict) -> None:
    for (cap, g), n in counts_by_gender.items():
        pool[cap, g] -= n


def _beds_for(pool: dict[tuple, int], gender: str) -> int:
    return sum(cap * n for (cap, g), n in pool.items() if g in ("", gender))


def _as_types(counts_by_gender: dict) -> dict[tuple, int]:
    return {(cap, g, ()): n for (cap, g), n in counts_by_gender.items() if n}


# --- stage 4 and 5: rooms and beds ---------------------------------------------------------


@dataclass
class Part:
    """Some of a group's units, planned into one building."""

    group: Group
    units: list[list[Student]]
    building: str
    own: dict[tuple, int] = field(default_factory=dict)  # room type -> rooms of its own
    rest: int = 0  # people for shared rooms

    @property
    def size(self) -> int:
        return sum(len(u) for u in self.units)


def _room_types(instance: Instance, state: Occupancy, building: str) -> dict[tuple, list[str]]:
    """Interchangeable rooms: same free beds, gender and classes already inside."""
    types: dict[tuple, list[str]] = defaultdict(list)
    rooms = [r for r in instance.rooms if r.building == building and state.free[r.id] > 0 and not r.accessible]
    for room in sorted(rooms, key=lambda r: (r.floor, r.id)):
        key = (state.free[room.id], state.gender[room.id] or "", tuple(sorted(state.classes[room.id])))
        types[key].append(room.id)
    return types


def _plan(instance: Instance, state: Occupancy, buildings: list[str], parts: list[Part],
          presence: dict[str, set[str]], seconds: float, seed: int) -> int | None:
    """Plan ``parts`` into ``buildings`` (one, or two they may move between); returns the cost in tenths.

    Rooms of one type are interchangeable, so the model counts rooms per type.
    A part's own rooms cost one (class, room) pair each (none where its class
    already lives); whoever does not fill a room of their own goes to a shared
    room: a pair for the part, half a pair for the room. With two buildings,
    a part also pays its building's (class, building) pair and preference
    ranks. Updates the parts when it finds a plan no worse than theirs.
    """
    w = instance.weights
    pair = 10 * w["class_room"]
    types = {b: _room_types(instance, state, b) for b in buildings}
    keys = {b: sorted(types[b]) for b in buildings}
    model = cp_model.CpModel()
    objective = []
    at, own, rest = {}, {}, {}
    for pi, part in enumerate(parts):
        size = part.size
        for b in buildings:
            at[pi, b] = model.new_bool_var(f"at{pi}{b}") if len(buildings) > 1 else 1
        if len(buildings) > 1:
            model.add_exactly_one(at[pi, b] for b in buildings)
        for b in buildings:
            largest = max((key[0] for key in keys[b]), default=1)
            seated = []
            for ti, key in enumerate(keys[b]):
                if key[1] in ("", part.group.gender):
                    own[pi, b, ti] = model.new_int_var(0, min(len(types[b][key]), size), f"n{pi}{b}{ti}")
                    seated.append((own[pi, b, ti], key[0]))
                    objective.append((0 if part.group.class_ in key[2] else pair) * own[pi, b, ti])
            inside = model.new_int_var(0, size, f"in{pi}{b}")
            rest[pi, b] = model.new_int_var(0, size, f"r{pi}{b}")
            model.add(inside + rest[pi, b] == size * at[pi, b])
            model.add(inside <= sum(n * cap for n, cap in seated))
            model.add(inside >= sum(n for n, _cap in seated))  # an own room is never empty
            spill = model.new_bool_var(f"s{pi}{b}")
            model.add(rest[pi, b] <= size * spill)
            excess = model.new_int_var(0, size, f"e{pi}{b}")
            model.add(excess >= rest[pi, b] - (largest - 1))
            objective += [pair * spill, (pair // 3) * excess, rest[pi, b]]
            if len(buildings) > 1:
                new_pair = part.group.class_ not in presence[b]
                preference = sum(_rank(s, b) for u in part.units for s in u if s.preferences)
                objective.append((10 * w["class_building"] * new_pair + 10 * w["preference"] * preference)
                                 * at[pi, b])
    shared = {}
    for b in buildings:
        for ti, key in enumerate(keys[b]):
            for g in ("M", "F") if key[1] == "" else (key[1],):
                shared[b, ti, g] = model.new_int_var(0, len(types[b][key]), f"sh{b}{ti}{g}")
                objective.append((pair // 2) * shared[b, ti, g])
            model.add(sum(v for (_pi, bb, t), v in own.items() if bb == b and t == ti)
                      + sum(v for (bb, t, _g), v in shared.items() if bb == b and t == ti)
                      <= len(types[b][key]))
        for g in ("M", "F"):
            model.add(sum(shared[b, ti, g] * keys[b][ti][0] for ti in range(len(keys[b])) if (b, ti, g) in shared)
                      >= sum(rest[pi, b] for pi, part in enumerate(parts) if part.group.gender == g))
    model.minimize(sum(objective))
    _hint_plan(model, parts, buildings, keys, types, at, own, rest, shared)
    solver = _solver(seconds, seed)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    for pi, part in enumerate(parts):
        part.building = next(b for b in buildings if solver.value(at[pi, b]))
        b = part.building
        part.own = {keys[b][ti]: solver.value(own[pi, b, ti]) for ti in range(len(keys[b]))
                    if (pi, b, ti) in own and solver.value(own[pi, b, ti])}
        part.rest = solver.value(rest[pi, b])
    return round(solver.objective_value)


def _hint_plan(model, parts, buildings, keys, types, at, own, rest, shared) -> None:
    """The parts' current plans where they have one, else largest parts first into the largest rooms."""
    available = {(b, key): len(types[b][key]) for b in buildings for key in keys[b]}
    taken: dict[tuple, int] = defaultdict(int)
    rest_of: dict[int, int] = {}
    for pi, part in sorted(enumerate(parts), key=lambda item: (-item[1].size, item[0])):
        b = part.building
        if len(buildings) > 1:
            for other in buildings:
                model.add_hint(at[pi, other], 1 if other == b else 0)
        plan: dict[tuple, int] = {}
        left = part.size
        wanted = sorted(part.own.items()) if part.own else []
        for key, n in wanted:
            while n > 0 and left > 0 and available.get((b, key), 0) - plan.get(key, 0) > 0:
                plan[key] = plan.get(key, 0) + 1
                left -= min(left, key[0])
                n -= 1
        if not part.own:
            for key in sorted(keys[b], key=lambda k: -k[0]):
                if key[1] not in ("", part.group.gender):
                    continue
                while left >= key[0] > 0 and available[b, key] - plan.get(key, 0) > 0:
                    plan[key] = plan.get(key, 0) + 1
                    left -= key[0]
        for key, n in plan.items():
            available[b, key] -= n
            taken[pi, b, keys[b].index(key)] = n
        rest_of[pi] = left
        model.add_hint(rest[pi, b], left)
    for key, var in own.items():
        model.add_hint(var, taken[key])
    sharing: dict[tuple, int] = defaultdict(int)
    for b in buildings:
        for g in ("M", "F"):
            need = sum(rest_of[pi] for pi, p in enumerate(parts) if p.building == b and p.group.gender == g)
            for ti in sorted(range(len(keys[b])), key=lambda t: (-keys[b][t][0], t)):
                while need > 0 and (b, ti, g) in shared and available[b, keys[b][ti]] > 0:
                    available[b, keys[b][ti]] -= 1
                    sharing[b, ti, g] += 1
                    need -= keys[b][ti][0]
    for key, var in shared.items():
        model.add_hint(var, sharing[key])


def _seat_building(instance: Instance, state: Occupancy, building: str, parts: list[Part]) -> list[Student]:
    """Seat the planned parts: own rooms first, then the shared ones. Returns who did not fit."""
    pools = {key: list(ids) for key, ids in _room_types(instance, state, building).items()}
    spilled: list[list[Student]] = []
    for part in parts:
        mine = []
        for key, n in sorted(part.own.items()):
            mine += [pools[key].pop(0) for _ in range(min(n, len(pools.get(key, []))))]
        spilled += _seat(instance, state, part.units, {r: state.free[r] for r in mine}, part.size - part.rest)
    leftovers = []
    for g in ("M", "F"):
        rooms_left = [r for ids in pools.values() for r in ids if state.gender[r] in (None, g)]
        leftovers += _seat_shared(instance, state, [u for u in spilled if u[0].gender == g], rooms_left)
    return leftovers


def _seat_shared(instance: Instance, state: Occupancy, units: list[list[Student]],
                 room_ids: list[str]) -> list[Student]:
    """Units that did not fill rooms of their own share rooms: each unit together, classes close."""
    left = []
    for unit in sorted(units, key=lambda u: (u[0].class_, -len(u), u[0].id)):
        ranked = sorted(room_ids, key=lambda r: (unit[0].class_ not in state.classes[r],
                                                  _lifestyle_penalty(instance, state, r, unit[0]),
                                                  -state.free[r], r))
        room_id = next((r for r in ranked if state.free[r] >= len(unit) and all(state.fits(s, r) for s in unit)),
                       None)
        if room_id is not None:
            for s in unit:
                state.put(s, room_id)
            continue
        for s in unit:  # no room holds them together: one by one
            room_id = next((r for r in ranked if state.fits(s, r)), None)
            if room_id is None:
                left.append(s)
            else:
                state.put(s, room_id)
    return left


def _seat(instance: Instance, state: Occupancy, units: list[list[Student]], slots: dict[str, int],
          limit: int) -> list[list[Student]]:
    """Seat up to ``limit`` people in the group's own rooms: whole units first (best fit), then
    singles sorted by lifestyle. Returns the units left for shared rooms."""
    left = dict(slots)
    budget = limit
    spilled = []
    singles = []
    for unit in sorted(units, key=lambda u: (-len(u), u[0].id)):
        if len(unit) == 1:
            singles.append(unit[0])
            continue
        room_id = min((r for r, n in left.items() if n >= len(unit) and all(state.fits(s, r) for s in unit)),
                      key=lambda r: (left[r], r), default=None)
        if room_id is None or len(unit) > budget:
            spilled.append(unit)
            continue
        for s in unit:
            state.put(s, room_id)
        left[room_id] -= len(unit)
        budget -= len(unit)
    # Students who prefer the same building share rooms, so that a room can later move there whole.
    for s in sorted(singles, key=lambda s: (s.preferences[0] if s.preferences else "~", s.lifestyle or "~", s.id)):
        ranked = sorted((r for r in left if left[r] > 0),
                        key=lambda r: (_lifestyle_penalty(instance, state, r, s), -left[r], r))
        room_id = next((r for r in ranked if state.fits(s, r)), None) if budget > 0 else None
        if room_id is None:
            spilled.append([s])
            continue
        state.put(s, room_id)
        left[room_id] -= 1
        budget -= 1
    return spilled


def _lifestyle_penalty(instance: Instance, state: Occupancy, room_id: str, student: Student) -> int:
    if not student.lifestyle:
        return 0
    labels = {instance.student_by_id[o].lifestyle for o in state.occupants[room_id]} - {None}
    return 0 if not labels or student.lifestyle in labels else 1


def _solver(seconds: float, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    # The same input and seed give the same answer: stop on deterministic time, with a
    # wall-clock guard for a slow machine. A single building's plan gets about 0.09 deterministic
    # seconds on M, which took up to 0.2 s of wall time here, so a guard of 0.2 s stopped some plans
    # early whenever the other core was busy, and M intake's answer depended on the load.
    solver.parameters.max_deterministic_time = max(0.05, seconds)
    solver.parameters.max_time_in_seconds = max(1.0, seconds * 4)
    return solver



