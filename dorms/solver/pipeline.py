"""The allocation solver: pure data in (an Instance), data out (a Solution).

Shape (each stage small enough for a laptop-sized machine):

1. **Fix** who stays: locked students, and residents whose room still fits
   them (moving one costs more than anything it could gain). Students who
   need an accessible room, and those whose mutual roommate lives in a room
   with a free bed, are placed next.
2. **Units**: students who asked for each other (mutually) move as one unit;
   a unit travels with its class. Groups are (class, gender).
3. **Buildings and rooms** (_pack_rooms): largest groups first, each group
   takes the rooms (by capacity: 4, 6, 8) it fills best in up to three
   buildings, its students split by the buildings they prefer where that
   saves more preference ranks than the extra (class, building) pair and
   part-filled room cost; then each group in turn gives its rooms back and
   chooses again, knowing what the others took.
4. **Beds**: units are packed into their group's rooms, singles sorted by
   lifestyle; remainders share rooms, classmates together.
5. **Search** (search.py): on the exact objective, students and
   roommate units move or trade places, whole rooms move or trade between
   buildings, a class's part-filled rooms merge; descent, annealing, descent.
   Residents who stay are not moved.

The first-fit result is computed first: it is the fallback, so the answer is
never worse than greedy, and whoever a stage could not place is placed
first-fit. Same input and seed, same output: every stage is deterministic and
the search's budget is a count of work (only a machine too slow to finish it
within the limit cuts the search short, and so differs).

An earlier version re-planned each building's rooms, and pairs of buildings,
in CP-SAT after stage 3; with the splitting building stage those plans
gained nothing on the benchmark (S and M) and broke roommate units, so the
time goes to the search instead.
"""
from __future__ import annotations

import functools
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from .bound import lp_bound
from .explain import Explanation, explain_infeasibility
from .greedy import Occupancy, first_fit
from .problem import Instance, Student, score
from .search import local_search

Progress = Callable[[str, float], None]
# A group may leave up to this many people to shared rooms rather than take a room for them.
MAX_REMAINDER = 3
# A group may split over up to MAX_SPLIT buildings, chosen among MAX_CANDIDATES.
MAX_SPLIT = 3
MAX_CANDIDATES = 5
# Passes in which each group gives its rooms back and chooses again.
REPACK_PASSES = 1
# What an empty bed costs when choosing rooms for a group (beds are cheap, but not free).
WASTE_COST = 1
# What the building stage charges a person a building has no bed for (it must never pay it).
OVERFLOW = 1e9
# The final local search (search.py) gets FINISH_SHARE of the time limit, less what the
# stages before it take: STAGE_SECONDS_PER_STUDENT, measured 0.3-0.35 ms here (first-fit for the
# fallback, units, the building stage, seating and, where it is small enough, the bound).
FINISH_SHARE = 0.9
# The linear relaxation that bounds the objective (bound.py) may take this share of the limit, or at
# least BOUND_SECONDS (a small one takes milliseconds, but must not fail on a busy machine).
BOUND_SHARE = 0.05
BOUND_SECONDS = 2.0
STAGE_SECONDS_PER_STUDENT = 0.0004


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
    greedy_counts: dict[str, int] = field(default_factory=dict)  # the same, unweighted
    explanations: list[Explanation] = field(default_factory=list)
    seconds: float = 0.0
    search_rate: float = 0.0  # work units the final search did a second here (see calibrate)

    @property
    def gap(self) -> float:
        return (self.objective - self.bound) / self.objective if self.objective else 0.0

    def as_result(self) -> dict:
        """The plan file of docs/allocation.md."""
        return {"assignments": dict(sorted(self.assignments.items())), "unassigned": sorted(self.unassigned)}


def solve(instance: Instance, *, time_limit: float = 60.0, seed: int = 0,
          progress: Progress | None = None, work_rate: float | None = None,
          cancelled: Callable[[], bool] | None = None) -> Solution:
    """Allocate ``instance`` within about ``time_limit`` seconds (less once ``cancelled()`` says so: the
    search then stops early, and the caller discards what it returns).

    The final search's budget is counted in work, not seconds, so that the same input, seed and
    ``work_rate`` give the same answer: ``work_rate`` is this machine's search speed (work units a
    second, from ``calibrate``); without it, WORK_RATES' conservative figures apply."""
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
    report("rooms", 0.5)
    leftovers = [s for b in sorted(parts) for s in _seat_building(instance, state, b, parts[b])]
    leftovers += [s for g in groups for u in g.unplaced for s in u]
    _, still = first_fit(instance, state, leftovers)
    unassigned = sorted(set(still) | unplaceable)
    # Before the search, which is the last stage and the one the clock guard may cut short.
    bound = max(instance.lower_bound(), lp_bound(instance, seconds=max(BOUND_SECONDS, BOUND_SHARE * time_limit)) or 0)
    report("improving", 0.9)
    staying = {s.id for s in instance.students
               if s.current_room and not s.wants_move and state.assignments.get(s.id) == s.current_room}
    # From the limit and the size alone, so that the answer does not depend on the clock.
    search_seconds = max(0.0, FINISH_SHARE * time_limit
                         - STAGE_SECONDS_PER_STUDENT * len(instance.students))
    search_started = time.monotonic()
    improved, work = local_search(instance, state.assignments, staying, search_seconds, seed,
                                  deadline=started + 0.92 * time_limit, work_rate=work_rate, cancelled=cancelled)
    search_rate = work / max(time.monotonic() - search_started, 1e-9)

    solver_score = score(instance, improved)
    report("done", 1.0)
    if solver_score.violations or solver_score.objective > greedy_score.objective:
        chosen, chosen_score, method = greedy_assignments, greedy_score, "greedy"
        unassigned = sorted(greedy_unassigned)
    else:
        chosen, chosen_score, method = improved, solver_score, "solver"
    return Solution(
        assignments=dict(chosen), unassigned=unassigned, objective=chosen_score.objective,
        terms=chosen_score.terms, counts=chosen_score.counts, bound=bound,
        greedy_objective=greedy_score.objective, greedy_terms=greedy_score.terms, greedy_counts=greedy_score.counts,
        method=method,
        explanations=explanations,
        seconds=time.monotonic() - started,
        search_rate=search_rate,
    )


# What calibrate keeps of the measured speed: a margin against a busy machine, so that a run
# finishes its work before the wall-clock guard and stays reproducible.
CALIBRATION_MARGIN = 0.85


def calibrate(instance: Instance, *, time_limit: float = 60.0) -> int:
    """This machine's work rate for campuses like ``instance``, to give ``solve`` as ``work_rate``.

    Solves once with the default budget and measures how fast the search went; larger campuses
    search slower (memory), so calibrate on one of the size that will be solved."""
    return int(CALIBRATION_MARGIN * solve(instance, time_limit=time_limit).search_rate)


# --- rooms ---------------------------------------------------------------------------


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
    unit_ranks: list[dict[str, int]] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return sum(len(u) for u in self.units)

    def ranks(self, buildings: tuple[str, ...], weight: int) -> list[dict[str, int]]:
        """Per unit, what its preference ranks cost in each building (worked out once)."""
        if self.unit_ranks is None:
            self.unit_ranks = [{b: weight * sum(_rank(s, b) for s in u if s.preferences) for b in buildings}
                               for u in self.units]
        return self.unit_ranks


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

    Largest groups first (they are the hardest to pack). A group may split
    over up to MAX_SPLIT buildings, students going where they rank the
    building best: a split costs a (class, building) pair and a partly filled
    room, and saves preference ranks, which is often cheaper (an exact model
    of this stage splits most groups). Then REPACK_PASSES times, each group
    gives its rooms back and takes the best split again, now knowing what the
    groups after it needed. A group no split holds is spread over the
    buildings with most room.
    """
    w = instance.weights
    pools: dict[str, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))  # building -> (cap, gender) -> rooms
    for room in instance.rooms:
        if room.accessible or state.free[room.id] == 0 or state.occupants[room.id]:
            continue  # partly filled rooms are left to the shared stage, where classmates find them
        pools[room.building][room.capacity, state.gender[room.id] or ""] += 1
    presence: Counter = Counter()  # (building, class) -> residents and planned groups there
    for sid, room_id in state.assignments.items():
        presence[instance.room_by_id[room_id].building, instance.student_by_id[sid].class_] += 1
    buildings = tuple(sorted(pools))
    limit = max((g.size for g in groups), default=0)
    order = sorted(groups, key=lambda g: (-g.size, g.class_, g.gender))
    splits: dict[int, Split] = {}

    def take(i: int, split: Split, sign: int = 1) -> None:
        """Reserve (or, with sign -1, give back) a split's rooms; a unit with a student of another
        class brings that class into the building too."""
        group = order[i]
        for b in split.count:
            if sign > 0:
                split.taken[b] = _by_pool(split.rooms[b], pools[b], group.gender)
            _reserve(pools[b], {key: sign * n for key, n in split.taken[b].items()})
            for c in {group.class_} | split.foreign[b]:
                presence[b, c] += sign

    for _ in range(1 + REPACK_PASSES):
        for i, group in enumerate(order):
            current = splits.pop(i, None)
            if current is not None:
                take(i, current, -1)
            split = _split_group(group, buildings, pools, presence, w, limit, current)
            if split is not None:
                splits[i] = split
                take(i, split)
    result: dict[str, list[Part]] = defaultdict(list)
    for i, group in enumerate(order):
        split = splits.get(i)
        if split is not None:
            for b in sorted(split.count):
                units = [u for u, where in zip(group.units, split.where) if where == b]
                result[b].append(Part(group, units, b, own=_as_types(split.taken[b]),
                                      rest=split.remainder[b]))
            continue
        # Too big for any MAX_SPLIT buildings: take whole rooms where most are left, building by building.
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


@dataclass
class Split:
    """A group spread over buildings: each unit's building, and per building its head count,
    rooms per capacity, people left to shared rooms and, once reserved, the rooms taken."""

    where: list[str]
    count: dict[str, int]
    rooms: dict[str, dict[int, int]]
    remainder: dict[str, int]
    foreign: dict[str, set[str]]  # other classes the group's units bring into the building
    taken: dict[str, dict[tuple, int]] = field(default_factory=dict)  # rooms per (capacity, gender pool)


def _split_group(group: Group, buildings: tuple[str, ...], pools: dict[str, dict[tuple, int]], presence: Counter,
                 w: dict, limit: int, current: Split | None = None) -> Split | None:
    """A cheap way to spread ``group`` over at most MAX_SPLIT of its candidate buildings (or
    ``current``, the group's present split, if that is still cheaper); None if none holds it. A
    heuristic: every choice of buildings is tried, the spread within each is greedy.

    Candidates are the buildings cheapest for the whole group and those its
    students like best. Within a choice of buildings, each unit goes where it
    ranks best, units without a say fill the rooms that opens, and then a
    unit moves wherever that makes the whole cheaper.
    """
    tables = {}
    for b in buildings:
        available = tuple(sorted((cap, n) for cap, n in _counts_by_capacity(pools[b], group.gender).items() if n))
        if available:
            tables[b] = _packing_table(available, limit, w["class_room"])
    if not tables:
        return None
    units = group.units
    ranks = group.ranks(buildings, w["preference"])
    opening = {b: w["class_building"] * (presence[b, group.class_] == 0) for b in buildings}

    def entry(b: str, n: int) -> tuple | None:
        """The cheapest rooms for ``n`` people in ``b``, as _packing_table gives them."""
        if n == 0:
            return 0, {}, 0
        table = tables.get(b, ())
        return table[n] if n < len(table) else None

    def cost_at(b: str, n: int) -> float:
        found = entry(b, n)
        return float("inf") if found is None else found[0] + opening[b]

    costs: dict[str, list[float]] = {}  # building -> cost of n people there, n = 0..size

    def room_cost(b: str, n: int) -> float:
        """What n people cost in ``b``; past what it holds, OVERFLOW a person more (finite, so that
        _spread sees a building get less full as a gain)."""
        if b not in costs:
            costs[b] = [0.0]
            for k in range(1, group.size + 1):
                cost = cost_at(b, k)
                costs[b].append(cost if cost < OVERFLOW else costs[b][-1] + OVERFLOW)
        return costs[b][n]

    def priced(where: list[str]) -> tuple[float, list[str], Counter]:
        count = Counter()
        for unit, b in zip(units, where):
            count[b] += len(unit)
        cost = sum(room_cost(b, n) for b, n in count.items()) + sum(r[b] for r, b in zip(ranks, where))
        return cost, where, count

    whole = {b: cost_at(b, group.size) + sum(r[b] for r in ranks) for b in tables}
    candidates = sorted(tables, key=lambda b: (whole[b], -_beds_for(pools[b], group.gender), b))[:2]
    liked = Counter(min(tables, key=lambda b: (r[b], b)) for r in ranks if len({r[b] for b in tables}) > 1)
    for b, _ in sorted(liked.items(), key=lambda item: (-item[1], item[0])):
        if len(candidates) >= MAX_CANDIDATES:
            break
        if b not in candidates:
            candidates.append(b)
    best = priced(current.where) if current is not None else None
    for k in range(1, min(MAX_SPLIT, len(candidates)) + 1):
        for subset in itertools.combinations(sorted(candidates), k):
            where = _spread(units, ranks, subset, room_cost)
            if where is not None:
                option = priced(where)
                if best is None or option[0] < best[0]:
                    best = option
    if best is None or best[0] >= OVERFLOW:
        return None
    _, where, count = best
    count = {b: n for b, n in count.items() if n}
    foreign = {b: {s.class_ for u, at in zip(units, where) if at == b for s in u} - {group.class_} for b in count}
    return Split(where, count, rooms={b: entry(b, n)[1] for b, n in count.items()},
                 remainder={b: entry(b, n)[2] for b, n in count.items()}, foreign=foreign)


def _spread(units: list[list[Student]], ranks: list[dict[str, int]], subset: tuple[str, ...],
            room_cost: Callable[[str, int], float]) -> list[str] | None:
    """Each unit's building within ``subset`` (see _split_group), or None if they cannot fit."""
    where: list[str | None] = [None] * len(units)
    count = dict.fromkeys(subset, 0)
    indifferent = []
    for i, r in enumerate(ranks):
        if len({r[b] for b in subset}) == 1:
            indifferent.append(i)
            continue
        where[i] = min(subset, key=lambda b: (r[b], b))
        count[where[i]] += len(units[i])

    def marginal(b: str, size: int) -> float:
        return room_cost(b, count[b] + size) - room_cost(b, count[b])

    for i in indifferent:  # units are largest first
        where[i] = min(subset, key=lambda b: (marginal(b, len(units[i])), b))
        count[where[i]] += len(units[i])
    for i in range(len(units) - 1, -1, -1):  # smallest first: they fill gaps best
        size, here = len(units[i]), where[i]
        for b in subset:
            if b == here:
                continue
            delta = (marginal(b, size) + room_cost(here, count[here] - size) - room_cost(here, count[here])
                     + ranks[i][b] - ranks[i][here])
            if delta < 0:
                count[here] -= size
                count[b] += size
                where[i] = here = b
    if any(room_cost(b, n) >= OVERFLOW for b, n in count.items()):
        return None
    return where


def _counts_by_capacity(pool: dict[tuple, int], gender: str) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for (cap, g), n in pool.items():
        if g in ("", gender):
            counts[cap] += n
    return counts


@functools.lru_cache(maxsize=8192)
def _packing_table(available: tuple[tuple[int, int], ...], limit: int, room_cost: int) -> tuple:
    """For n = 0..limit people: (cost, rooms per capacity, remainder) of the cheapest rooms that hold
    them, or all but a remainder of up to MAX_REMAINDER left to shared rooms (if a room is left to
    share); None if none do.

    A room costs ``room_cost`` (its (class, room) pair), an empty bed WASTE_COST, a remainder
    one and a half pairs and one per person (they share a room with another class).
    """
    top = limit + max(cap for cap, _ in available)
    fewest: dict[int, tuple[int, tuple[int, ...]]] = {0: (0, tuple(0 for _ in available))}  # beds -> rooms
    for i, (cap, n) in enumerate(available):
        for beds, (rooms, counts) in list(fewest.items()):
            for k in range(1, n + 1):
                total = beds + k * cap
                if total > top:
                    break
                if total not in fewest or fewest[total][0] > rooms + k:
                    fewest[total] = (rooms + k, counts[:i] + (counts[i] + k,) + counts[i + 1:])
    cover: list[tuple | None] = [None] * (limit + 1)
    for beds, (rooms, counts) in fewest.items():
        for n in range(max(0, beds - max(cap for cap, _ in available) + 1), min(beds, limit) + 1):
            cost = room_cost * rooms + WASTE_COST * (beds - n)
            if cover[n] is None or cost < cover[n][0]:
                cover[n] = (cost, counts)
    rooms_there = sum(n for _, n in available)
    table: list[tuple | None] = []
    for n in range(limit + 1):
        options = [(cover[n][0], cover[n][1], 0)] if cover[n] is not None else []
        for remainder in range(1, min(n, MAX_REMAINDER + 1)):
            # A remainder needs a room left to share.
            if cover[n - remainder] is not None and sum(cover[n - remainder][1]) < rooms_there:
                options.append((cover[n - remainder][0] + room_cost * 1.5 + remainder,
                                cover[n - remainder][1], remainder))
        best = min(options, key=lambda o: o[0], default=None)
        table.append(None if best is None else
                     (best[0], {cap: k for (cap, _), k in zip(available, best[1]) if k}, best[2]))
    return tuple(table)


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
    return sum(cap * n for cap, n in _counts_by_capacity(pool, gender).items())


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
        labels = {s.lifestyle for s in unit} - {None}
        room_id = min((r for r, n in left.items() if n >= len(unit) and all(state.fits(s, r) for s in unit)),
                      key=lambda r: (_lifestyle_clash(instance, state, r, labels), left[r], r),  # best fit
                      default=None)
        if room_id is None or len(unit) > budget:
            spilled.append(unit)
            continue
        for s in unit:
            state.put(s, room_id)
        left[room_id] -= len(unit)
        budget -= len(unit)
    # Rooms fill one after another (fullest first), lifestyle by lifestyle: the first label, then
    # students without one, then the other labels, so that labels meet in at most one room.
    labels = sorted({s.lifestyle for s in singles if s.lifestyle})
    order = {label: (0 if i == 0 else 2, label) for i, label in enumerate(labels)} | {None: (1, "")}
    for s in sorted(singles, key=lambda s: (order[s.lifestyle or None], s.preferences[0] if s.preferences else "~",
                                            s.id)):
        ranked = sorted((r for r in left if left[r] > 0),
                        key=lambda r: (_lifestyle_penalty(instance, state, r, s), left[r], r))
        room_id = next((r for r in ranked if state.fits(s, r)), None) if budget > 0 else None
        if room_id is None:
            spilled.append([s])
            continue
        state.put(s, room_id)
        left[room_id] -= 1
        budget -= 1
    return spilled


def _lifestyle_clash(instance: Instance, state: Occupancy, room_id: str, labels: set[str]) -> int:
    """Lifestyle labels a unit with ``labels`` and the room would add to each other."""
    present = {instance.student_by_id[o].lifestyle for o in state.occupants[room_id]} - {None}
    return len(present | labels) - max(len(present), len(labels))


def _lifestyle_penalty(instance: Instance, state: Occupancy, room_id: str, student: Student) -> int:
    if not student.lifestyle:
        return 0
    labels = {instance.student_by_id[o].lifestyle for o in state.occupants[room_id]} - {None}
    return 0 if not labels or student.lifestyle in labels else 1
