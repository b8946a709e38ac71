"""The allocation solver: pure data in (an Instance), data out (a Solution).

Shape (each stage small enough for CP-SAT on a laptop-sized machine):

1. **Fix** who stays: locked students, and residents whose room still fits
   them (moving one costs more than anything it could gain).
2. **Units**: students who asked for each other (mutually) move as one unit;
   a unit travels with its class.
3. **Buildings**: a CP-SAT model gives each (class, gender) group one
   building, or splits it, trading class-per-building, preference rank and
   capacity.
4. **Rooms**: per building, a CP-SAT model decides how many of each group
   go in each room, minimising (class, room) pairs.
5. **Beds**: units are packed into their group's rooms, singles sorted by
   lifestyle; "do not room with" pairs are separated.

The first-fit result is computed first: it is the hint's yardstick and the
fallback, so the answer is never worse than greedy, and whoever a stage
could not place is placed first-fit. Same input and seed, same output:
CP-SAT runs on one worker with a deterministic time budget.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from .greedy import Occupancy, first_fit
from .problem import Instance, Student, score

Progress = Callable[[str, float], None]
# Beds a group keeps spare in each building it gets, so that it can fill rooms of its own
# (rooms hold 4, 6 or 8) instead of sending its remainder to share a room with another class.
SPARE_BEDS = 2


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
    explanations: list[str] = field(default_factory=list)
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
    split = _choose_buildings(instance, state, groups)
    report("rooms", 0.4)
    leftovers: list[Student] = []
    buildings = sorted(split)
    for number, building in enumerate(buildings):
        # Each building's share of the limit is fixed in advance (the answer must not depend
        # on the clock); past the limit, the remaining buildings get only a moment each.
        overdue = time.monotonic() - started > 0.9 * time_limit
        leftovers += _fill_building(instance, state, building, split[building],
                                    0.05 if overdue else 0.6 * time_limit / len(buildings), seed)
        report("rooms", 0.4 + 0.5 * (number + 1) / len(buildings))
    leftovers += [s for g in groups for u in g.unplaced for s in u]
    _, still = first_fit(instance, state, leftovers)
    unassigned = sorted(set(still) | unplaceable)

    solver_score = score(instance, state.assignments)
    report("done", 1.0)
    if solver_score.violations or solver_score.objective > greedy_score.objective:
        chosen, chosen_score, method = greedy_assignments, greedy_score, "greedy"
        unassigned = sorted(greedy_unassigned)
    else:
        chosen, chosen_score, method = state.assignments, solver_score, "solver"
    return Solution(
        assignments=dict(chosen), unassigned=unassigned, objective=chosen_score.objective,
        terms=chosen_score.terms, counts=chosen_score.counts, bound=instance.lower_bound(),
        greedy_objective=greedy_score.objective, method=method, explanations=explanations,
        seconds=time.monotonic() - started,
    )


# --- explanations ------------------------------------------------------------------


def explain_infeasibility(instance: Instance) -> list[str]:
    """Why some students cannot be placed, whatever the solver does (empty when all can)."""
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
            reasons.append(f"{demand[gender]} students of gender {gender} but only {beds[gender]} beds "
                           f"that can take them: {demand[gender] - beds[gender]} cannot be placed")
        if needs[gender] > accessible_beds[gender]:
            reasons.append(f"{needs[gender]} students of gender {gender} need an accessible room but only "
                           f"{accessible_beds[gender]} accessible beds can take them")
    locked_in: dict[str, list[Student]] = defaultdict(list)
    for s in instance.students:
        if not s.locked:
            continue
        room = instance.room_by_id.get(s.current_room) if s.current_room else None
        if room is None:
            reasons.append(f"student {s.id} is locked but has no current room")
        elif room.capacity == 0:
            reasons.append(f"student {s.id} is locked into room {room.id}, which is closed")
        elif room.gender not in (None, s.gender):
            reasons.append(f"student {s.id} is locked into room {room.id}, which is now for gender {room.gender}")
        else:
            locked_in[room.id].append(s)
    avoid = instance.avoid_pairs()
    for room_id, people in sorted(locked_in.items()):
        room = instance.room_by_id[room_id]
        if len(people) > room.capacity:
            reasons.append(f"{len(people)} students are locked into room {room_id}, which has {room.capacity} beds")
        if len({s.gender for s in people}) > 1:
            reasons.append(f"students of both genders are locked into room {room_id}")
        ids = sorted(s.id for s in people)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if frozenset((a, b)) in avoid:
                    reasons.append(f"students {a} and {b} are both locked into room {room_id} "
                                   "but one asked not to room with the other")
    return reasons


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


# --- stage 3: buildings -------------------------------------------------------------


def _free_beds_by_building(instance: Instance, state: Occupancy) -> dict[str, dict[str | None, int]]:
    beds: dict[str, dict[str | None, int]] = defaultdict(lambda: {"M": 0, "F": 0, None: 0})
    for room in instance.rooms:
        if state.free[room.id] > 0 and not room.accessible:
            beds[room.building][state.gender[room.id]] += state.free[room.id]
    return beds


def _choose_buildings(instance: Instance, state: Occupancy, groups: list[Group]
                      ) -> dict[str, list[tuple[Group, list[list[Student]]]]]:
    """Give each group's units to buildings; returns building -> [(group, units)].

    Regret-first greedy: the group that would lose most by not getting its best
    building chooses first; a group takes one building whole when one has room
    (keeping a spare bed, so an odd-sized group can still fill rooms of its own),
    else it is split over the buildings with most room. Then pairs of groups of
    one gender swap buildings while that lowers the cost.
    """
    w = instance.weights
    beds = _free_beds_by_building(instance, state)
    present = defaultdict(set)  # classes already living in each building
    for sid, room_id in state.assignments.items():
        present[instance.room_by_id[room_id].building].add(instance.student_by_id[sid].class_)
    buildings = sorted(beds)

    def cost(group: Group, building: str) -> int:
        members = [s for u in group.units for s in u]
        return (w["class_building"] * (group.class_ not in present[building])
                + w["preference"] * sum(_rank(s, building) for s in members if s.preferences))

    def room_for(group: Group, building: str) -> int:
        return beds[building][group.gender] + beds[building][None] - SPARE_BEDS

    def take(group: Group, building: str, count: int) -> None:
        own = min(count + SPARE_BEDS, beds[building][group.gender])
        beds[building][group.gender] -= own
        beds[building][None] -= count + SPARE_BEDS - own

    costs = {(gi, b): cost(g, b) for gi, g in enumerate(groups) for b in buildings}
    counts: dict[int, dict[str, int]] = {}
    pending = set(range(len(groups)))
    while pending:
        def regret(gi):
            fitting = sorted(costs[gi, b] for b in buildings if room_for(groups[gi], b) >= groups[gi].size)
            if len(fitting) < 2:
                return (-10**9 if fitting else 0, -groups[gi].size, gi)
            return (-(fitting[1] - fitting[0]), -groups[gi].size, gi)

        gi = min(pending, key=regret)
        pending.discard(gi)
        group = groups[gi]
        whole = sorted((b for b in buildings if room_for(group, b) >= group.size), key=lambda b: (costs[gi, b], b))
        if whole:
            take(group, whole[0], group.size)
            counts[gi] = {whole[0]: group.size}
            continue
        need, counts[gi] = group.size, {}
        for b in sorted(buildings, key=lambda b: (-room_for(group, b), costs[gi, b], b)):
            n = min(need, room_for(group, b))
            if n <= 0:
                break
            take(group, b, n)
            counts[gi][b] = n
            need -= n
            if need == 0:
                break
    _improve_by_swaps(groups, counts, costs, beds)
    result: dict[str, list[tuple[Group, list[list[Student]]]]] = defaultdict(list)
    for gi, group in enumerate(groups):
        _split_group(group, counts[gi], result)
    return result


def _improve_by_swaps(groups, counts, costs, beds, rounds: int = 3) -> None:
    """Swap the buildings of two whole groups of one gender when both fit and the cost drops."""
    whole = {gi: next(iter(c)) for gi, c in counts.items() if len(c) == 1}
    by_gender: dict[str, list[int]] = defaultdict(list)
    for gi in sorted(whole):
        by_gender[groups[gi].gender].append(gi)
    for _ in range(rounds):
        improved = False
        for gender, members in sorted(by_gender.items()):
            for i, a in enumerate(members):
                for b_ in members[i + 1:]:
                    ba, bb = whole[a], whole[b_]
                    if ba == bb:
                        continue
                    gain = costs[a, ba] + costs[b_, bb] - costs[a, bb] - costs[b_, ba]
                    if gain <= 0:
                        continue
                    delta = groups[b_].size - groups[a].size  # people building ba gains
                    if delta > beds[ba][gender] + beds[ba][None] or -delta > beds[bb][gender] + beds[bb][None]:
                        continue
                    for building, change in ((ba, delta), (bb, -delta)):
                        own = beds[building][gender]
                        if change <= own:
                            beds[building][gender] -= change
                        else:
                            beds[building][gender] = 0
                            beds[building][None] -= change - own
                    whole[a], whole[b_] = bb, ba
                    counts[a], counts[b_] = {bb: groups[a].size}, {ba: groups[b_].size}
                    improved = True
        if not improved:
            break


def _split_group(group: Group, counts: dict[str, int], result) -> None:
    """Hand the group's units to buildings by the counts, preferring each unit's preferred buildings."""
    left = dict(counts)
    placed = []
    for unit in group.units:
        options = sorted((b for b, n in left.items() if n >= len(unit)),
                         key=lambda b: (sum(_rank(s, b) for s in unit if s.preferences), -left[b], b))
        if not options:
            group.unplaced.append(unit)
            continue
        left[options[0]] -= len(unit)
        placed.append((options[0], unit))
    by_building: dict[str, list[list[Student]]] = defaultdict(list)
    for b, unit in placed:
        by_building[b].append(unit)
    for b, units in sorted(by_building.items()):
        result[b].append((group, units))


# --- stage 4 and 5: rooms and beds ---------------------------------------------------------


def _fill_building(instance: Instance, state: Occupancy, building: str,
                   parts: list[tuple[Group, list[list[Student]]]], seconds: float, seed: int) -> list[Student]:
    """Give each group whole rooms of its own, the rest shares; then seat people. Returns those left over.

    Rooms with the same free beds, gender and classes already inside are
    interchangeable, so the model counts rooms per type: tiny, solved to
    optimality. A group's own rooms cost one (class, room) pair each (none
    where its class already lives); whoever does not fill a room of their
    own goes to a shared room, which costs about one and a half pairs.
    """
    w = instance.weights
    rooms = [r for r in instance.rooms if r.building == building and state.free[r.id] > 0 and not r.accessible]
    types: dict[tuple, list[str]] = defaultdict(list)
    for room in sorted(rooms, key=lambda r: (r.floor, r.id)):
        key = (state.free[room.id], state.gender[room.id] or "", tuple(sorted(state.classes[room.id])))
        types[key].append(room.id)
    keys = sorted(types)
    model = cp_model.CpModel()
    own, shared, rest, spill, excess = {}, {}, {}, {}, {}
    largest = max((key[0] for key in keys), default=1)
    for pi, (group, units) in enumerate(parts):
        size = sum(len(u) for u in units)
        seated = []
        for ti, (cap, gender, _classes) in enumerate(keys):
            if gender in ("", group.gender):
                own[pi, ti] = model.new_int_var(0, min(len(types[keys[ti]]), size), f"n{pi}_{ti}")
                seated.append((own[pi, ti], cap))
        inside = model.new_int_var(0, size, f"in{pi}")
        model.add(inside <= sum(n * cap for n, cap in seated))
        model.add(inside >= sum(n for n, _cap in seated))  # an own room is never empty
        rest[pi] = model.new_int_var(0, size, f"r{pi}")
        model.add(inside + rest[pi] == size)
        spill[pi] = model.new_bool_var(f"s{pi}")
        model.add(rest[pi] <= size * spill[pi])
        # Beyond a remainder (less than a room), sharing costs a room's worth of pairs per few people.
        excess[pi] = model.new_int_var(0, size, f"e{pi}")
        model.add(excess[pi] >= rest[pi] - (largest - 1))
    for ti, key in enumerate(keys):
        cap, gender, _classes = key
        for g in ("M", "F") if gender == "" else (gender,):
            shared[ti, g] = model.new_int_var(0, len(types[key]), f"sh{ti}{g}")
        model.add(sum(v for (_pi, t), v in own.items() if t == ti)
                  + sum(v for (t, _g), v in shared.items() if t == ti) <= len(types[key]))
    for g in ("M", "F"):
        model.add(sum(shared[ti, g] * keys[ti][0] for ti in range(len(keys)) if (ti, g) in shared)
                  >= sum(rest[pi] for pi, (group, _u) in enumerate(parts) if group.gender == g))
    pair = 10 * w["class_room"]
    objective = [(0 if parts[pi][0].class_ in keys[ti][2] else pair) * n for (pi, ti), n in own.items()]
    # Sharing: each group that spills appears in at least one shared room, and a shared room
    # holds one pair per class inside (about two): a pair per spilling group, half per room.
    objective += [pair * flag for flag in spill.values()]
    objective += [(pair // 2) * n for n in shared.values()]
    objective += [(pair // 3) * n for n in excess.values()]
    objective += list(rest.values())  # fill own rooms before sharing
    model.minimize(sum(objective))
    _hint_room_types(model, parts, keys, types, own, shared, rest, spill)
    solver = _solver(seconds, seed)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [s for _g, units in parts for u in units for s in u]
    pools = {key: list(ids) for key, ids in types.items()}
    spilled: list[list[Student]] = []
    for pi, (group, units) in enumerate(parts):
        mine = []
        for ti, key in enumerate(keys):
            if (pi, ti) in own:
                mine += [pools[key].pop(0) for _ in range(solver.value(own[pi, ti]))]
        inside = sum(len(u) for u in units) - solver.value(rest[pi])
        spilled += _seat(instance, state, units, {r: state.free[r] for r in mine}, inside)
    leftovers = []
    for g in ("M", "F"):
        rooms_left = [r for key in keys for r in pools[key] if state.gender[r] in (None, g)]
        leftovers += _seat_shared(instance, state, [u for u in spilled if u[0].gender == g], rooms_left)
    return leftovers


def _hint_room_types(model, parts, keys, types, own, shared, rest, spill) -> None:
    """A feasible start: largest groups first take the largest rooms they fill; the remainders share."""
    available = [len(types[key]) for key in keys]
    by_size = sorted(range(len(parts)), key=lambda pi: -sum(len(u) for u in parts[pi][1]))
    taken = defaultdict(int)
    remainder = {}
    for pi in by_size:
        group, units = parts[pi]
        need = sum(len(u) for u in units)
        for ti in sorted((t for t in range(len(keys)) if (pi, t) in own), key=lambda t: -keys[t][0]):
            while need >= keys[ti][0] > 0 and available[ti] > 0:
                available[ti] -= 1
                taken[pi, ti] += 1
                need -= keys[ti][0]
        remainder[pi] = need
    sharing = defaultdict(int)
    for g in ("M", "F"):
        need = sum(remainder[pi] for pi in remainder if parts[pi][0].gender == g)
        for ti in sorted((t for t in range(len(keys)) if (t, g) in shared), key=lambda t: -keys[t][0]):
            while need > 0 and available[ti] > 0:
                available[ti] -= 1
                sharing[ti, g] += 1
                need -= keys[ti][0]
    for key, var in own.items():
        model.add_hint(var, taken[key])
    for key, var in shared.items():
        model.add_hint(var, sharing[key])
    for pi, var in rest.items():
        model.add_hint(var, remainder[pi])
        model.add_hint(spill[pi], 1 if remainder[pi] else 0)


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
    for s in sorted(singles, key=lambda s: (s.lifestyle or "~", s.id)):
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


def _room_lifestyle(instance: Instance, state: Occupancy, room_id: str) -> str:
    labels = sorted({instance.student_by_id[o].lifestyle for o in state.occupants[room_id]
                     if instance.student_by_id[o].lifestyle})
    return labels[0] if labels else "~"


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
    # wall-clock guard for a slow machine.
    solver.parameters.max_deterministic_time = max(0.05, seconds)
    solver.parameters.max_time_in_seconds = max(0.2, seconds * 1.5)
    return solver



