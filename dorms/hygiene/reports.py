"""Hygiene over a period: rankings (per floor, building, class), excellent dorms, rooms failing twice, trends.

Only inspected rooms count (``absent`` ones are left out). A class's score is the
average over its residents at inspection time: a room scored 80 with three
students of 计科2401 and one of 软工2402 counts three times 80 for 计科2401 and
once for 软工2402 (the residents' classes are kept with each inspection, so
later moves do not rewrite old rankings).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import get_locale
from markupsafe import Markup
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sqlalchemy.orm import joinedload, selectinload

from ..campus.models import Building, Floor, Room
from ..core.charts import drawn_once, figure_svg
from ..core.enums import Role
from ..core.kept import kept
from ..extensions import db
from ..core.roles import sees_everything
from ..residence.scopes import visible_rooms_clause
from ..students.models import Student
from ..students.scopes import visible_students_clause
from .models import (
    Band,
    HygieneSettings,
    InspectionResident,
    InspectionRound,
    RoomInspection,
)
from .services import settings

Clause = sa.ColumnElement[bool]
ALL: Clause = sa.true()  # no restriction: what staff see


# Rows of each ranking on the overview page; the whole ranking is paged (PER_PAGE) and exported whole.
TOP = 10
MOST_EXCELLENT_SHOWN = 20  # of the excellent dorms (and of the rooms failing twice), on the overview
PER_PAGE = 50
# What the rankings are computed from: they are kept (core.kept) until one of these changes.
RANKING_TABLES = ("hygiene_inspections", "hygiene_rounds", "hygiene_inspection_residents", "hygiene_settings",
                  "rooms", "floors", "buildings")
# A counselor's or a building manager's rankings also follow who lives where and whom they look after.
SCOPE_TABLES = ("assignments", "beds", "students", "counselor_scopes", "managed_buildings", "users")


def visible_classes_clause(user) -> Clause:
    """The classes ``user`` may see the rankings of: all for staff, else their students' classes."""
    if sees_everything(user) or user.role == Role.INSPECTOR:
        return ALL
    if user.role == Role.BUILDING_MANAGER:
        # The classes living in their buildings, scored in their buildings' rooms only: the class's rooms
        # elsewhere are another building's to see.
        return RoomInspection.room_id.in_(sa.select(Room.id).where(visible_rooms_clause(user, Room.id)))
    return InspectionResident.class_name.in_(sa.select(Student.class_name).where(visible_students_clause(user)))


@dataclass(frozen=True)
class Scope:
    """What one reader's rankings cover: every room and class for staff and inspectors, else their own."""

    rooms: Clause  # on Room.id
    classes: Clause
    everything: bool
    key: tuple  # names the scope among kept values
    tables: tuple[str, ...]  # what the scope is read from

    @classmethod
    def of(cls, user) -> Scope:
        if sees_everything(user) or user.role == Role.INSPECTOR:
            return cls(ALL, ALL, True, ("all",), RANKING_TABLES)
        return cls(visible_rooms_clause(user, Room.id), visible_classes_clause(user), False,
                   ("user", user.id, user.role.value), RANKING_TABLES + SCOPE_TABLES)


EVERYTHING = Scope(ALL, ALL, True, ("all",), RANKING_TABLES)


@dataclass(frozen=True)
class RankingFilters:
    """Which inspections the rankings count besides the period: a building, a floor number (of that
    building, or of every building), a round."""

    building_id: int | None = None
    floor: int | None = None
    round_id: int | None = None

    def clause(self) -> Clause:
        """A WHERE clause on RoomInspection and Room."""
        where = []
        if self.building_id:
            where.append(Room.building_id == self.building_id)
        if self.floor is not None:
            where.append(Room.floor_id.in_(sa.select(Floor.id).where(Floor.number == self.floor)))
        if self.round_id:
            where.append(RoomInspection.round_id == self.round_id)
        return sa.and_(sa.true(), *where)

    @property
    def key(self) -> tuple:
        return (self.building_id, self.floor, self.round_id)


NO_FILTERS = RankingFilters()


def _scored(first: date, last: date) -> sa.ColumnElement[bool]:
    return sa.and_(RoomInspection.absent.is_(False), InspectionRound.inspected_on >= first,
                   InspectionRound.inspected_on <= last)


def _average(value) -> float:
    return round(float(value), 1)


def _ordered_average():
    """Rankings order by the average as shown (one decimal), best first."""
    return sa.func.round(sa.func.avg(RoomInspection.total), 1).desc()


@dataclass
class Ranked:
    key: object
    label: str
    average: float
    inspections: int
    rooms: int
    band: Band | None


@dataclass(frozen=True)
class RoomName:
    """A ranked room as the pages and exports name it (plain data: rankings are kept)."""

    id: int
    building_code: str
    floor_number: int
    number: str

    @property
    def code(self) -> str:
        return f"{self.building_code}-{self.number}"


@dataclass
class RoomAverage:
    room: RoomName
    average: float
    inspections: int
    band: Band | None


@dataclass
class FailingRoom:
    room: RoomName
    scores: list[tuple[date, int]]  # the last two, latest first


@dataclass
class Page:
    """Part of a ranking: its rows from ``offset`` on, and how many rows the whole ranking has."""

    rows: list
    total: int
    offset: int = 0


# --- the rankings in SQL: plain rows, best first, a page at a time ------------------------------------


def _paged(query, limit: int | None, offset: int) -> tuple[list[tuple], int]:
    """The query's rows from ``offset`` (``limit`` of them, all with None) and the count of all its rows."""
    query = query.add_columns(sa.func.count().over())
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = [tuple(row) for row in db.session.execute(query)]
    if not rows and offset:
        return [], int(db.session.scalar(sa.select(sa.func.count()).select_from(
            query.limit(None).offset(None).subquery())) or 0)
    return [row[:-1] for row in rows], int(rows[0][-1]) if rows else 0


def _inspections(query, first: date, last: date, rooms: Clause, filters: RankingFilters, *, with_room=True):
    """``query`` FROM the period's scored inspections of the filtered rooms (``rooms``: a clause on Room.id)."""
    query = query.select_from(RoomInspection).join(InspectionRound)
    if with_room or rooms is not ALL or filters.building_id or filters.floor is not None:
        query = query.join(Room, Room.id == RoomInspection.room_id)
    return query.where(_scored(first, last), filters.clause(), rooms)


def _floor_rows(first, last, scope, filters, limit=None, offset=0):
    query = _inspections(sa.select(Floor.id, Building.code, Floor.number, sa.func.avg(RoomInspection.total),
                                   sa.func.count(RoomInspection.id), sa.func.count(sa.distinct(Room.id))),
                         first, last, scope.rooms, filters)
    query = (query.join(Floor, Floor.id == Room.floor_id).join(Building, Building.id == Room.building_id)
             .group_by(Floor.id, Building.code, Floor.number).order_by(_ordered_average(), Building.code, Floor.number))
    rows, total = _paged(query, limit, offset)
    return [(fid, code, number, float(avg), count, rooms) for fid, code, number, avg, count, rooms in rows], total


def _building_rows(first, last, scope, filters, limit=None, offset=0):
    query = _inspections(sa.select(Building.id, Building.code, Building.name, sa.func.avg(RoomInspection.total),
                                   sa.func.count(RoomInspection.id), sa.func.count(sa.distinct(Room.id))),
                         first, last, scope.rooms, filters)
    query = (query.join(Building, Building.id == Room.building_id)
             .group_by(Building.id, Building.code, Building.name).order_by(_ordered_average(), Building.code))
    rows, total = _paged(query, limit, offset)
    return [(bid, code, name, float(avg), count, rooms) for bid, code, name, avg, count, rooms in rows], total


def _class_rows(first, last, scope, filters, limit=None, offset=0):
    """Each class's average over its residents' room scores (see the module's note)."""
    # Not the reader's rooms but their classes: a counselor's class counts in every room it lives in.
    query = _inspections(sa.select(InspectionResident.class_name, sa.func.avg(RoomInspection.total),
                                   sa.func.count(sa.distinct(RoomInspection.id)),
                                   sa.func.count(sa.distinct(RoomInspection.room_id))),
                         first, last, ALL, filters, with_room=False)
    query = (query.join(InspectionResident, InspectionResident.inspection_id == RoomInspection.id)
             .where(InspectionResident.class_name != "", scope.classes)
             .group_by(InspectionResident.class_name).order_by(_ordered_average(), InspectionResident.class_name))
    rows, total = _paged(query, limit, offset)
    return [(name, float(avg), count, rooms) for name, avg, count, rooms in rows], total


def _room_rows(first, last, scope, filters, limit=None, offset=0, at_least: float | None = None):
    """Each room's average; ``at_least``: only rooms whose average (as shown) reaches it."""
    query = _inspections(sa.select(Room.id, Building.code, Floor.number, Room.number,
                                   sa.func.avg(RoomInspection.total), sa.func.count(RoomInspection.id)),
                         first, last, scope.rooms, filters)
    query = (query.join(Building, Building.id == Room.building_id).join(Floor, Floor.id == Room.floor_id)
             .group_by(Room.id, Building.code, Floor.number, Room.number)
             .order_by(_ordered_average(), Building.code, Room.number))
    if at_least is not None:
        query = query.having(sa.func.round(sa.func.avg(RoomInspection.total), 1) >= at_least)
    rows, total = _paged(query, limit, offset)
    return [(rid, code, floor, number, float(avg), count) for rid, code, floor, number, avg, count in rows], total


def _failing_rows(pass_min: int, scope, filters, limit=None, offset=0):
    """Rooms whose last two inspections (whenever they were) both failed, by building and room."""
    order = sa.func.row_number().over(partition_by=RoomInspection.room_id,
                                      order_by=(InspectionRound.inspected_on.desc(), RoomInspection.id.desc()))
    latest = (sa.select(RoomInspection.room_id, RoomInspection.total, InspectionRound.inspected_on,
                        order.label("n"))
              .join(InspectionRound).where(RoomInspection.absent.is_(False)).subquery())
    last_two = sa.select(latest).where(latest.c.n <= 2).subquery()
    # The round filter does not apply: "twice in a row" is about a room's latest inspections.
    room_filters = RankingFilters(filters.building_id, filters.floor)
    failing = (sa.select(Room.id, Building.code, Floor.number, Room.number,
                         sa.func.max(sa.case((last_two.c.n == 1, last_two.c.inspected_on))),
                         sa.func.max(sa.case((last_two.c.n == 1, last_two.c.total))),
                         sa.func.max(sa.case((last_two.c.n == 2, last_two.c.inspected_on))),
                         sa.func.max(sa.case((last_two.c.n == 2, last_two.c.total))))
               .select_from(last_two).join(Room, Room.id == last_two.c.room_id)
               .join(Building, Building.id == Room.building_id).join(Floor, Floor.id == Room.floor_id)
               .where(scope.rooms, room_filters.clause())
               .group_by(Room.id, Building.code, Floor.number, Room.number)
               .having(sa.func.count() == 2, sa.func.max(last_two.c.total) < pass_min)
               .order_by(Building.code, Room.number))
    rows, total = _paged(failing, limit, offset)
    return [(rid, code, floor, number, [(_day(day1), total1), (_day(day2), total2)])
            for rid, code, floor, number, day1, total1, day2, total2 in rows], total


def _day(value) -> date:
    """A date from an aggregate, which SQLite returns as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


# --- rows as the pages show them ------------------------------------------------------------------------


def _floors(rows, bands) -> list[Ranked]:
    return [Ranked(fid, _("%(building)s, floor %(floor)d", building=code, floor=number), _average(avg), count,
                   rooms, bands.band(_average(avg))) for fid, code, number, avg, count, rooms in rows]


def _buildings(rows, bands) -> list[Ranked]:
    return [Ranked(bid, f"{code} {name}", _average(avg), count, rooms, bands.band(_average(avg)))
            for bid, code, name, avg, count, rooms in rows]


def _classes(rows, bands) -> list[Ranked]:
    return [Ranked(name, name, _average(avg), count, rooms, bands.band(_average(avg)))
            for name, avg, count, rooms in rows]


def _rooms(rows, bands) -> list[RoomAverage]:
    return [RoomAverage(RoomName(rid, code, floor, number), _average(avg), count, bands.band(_average(avg)))
            for rid, code, floor, number, avg, count in rows]


def _failing(rows, bands=None) -> list[FailingRoom]:
    return [FailingRoom(RoomName(rid, code, floor, number), scores) for rid, code, floor, number, scores in rows]


def by_floor(first: date, last: date, bands: HygieneSettings, filters: RankingFilters = NO_FILTERS) -> list[Ranked]:
    return _floors(_floor_rows(first, last, EVERYTHING, filters)[0], bands)


def by_building(first: date, last: date, bands: HygieneSettings,
                filters: RankingFilters = NO_FILTERS) -> list[Ranked]:
    return _buildings(_building_rows(first, last, EVERYTHING, filters)[0], bands)


def by_class(first: date, last: date, bands: HygieneSettings, classes_clause: Clause = ALL) -> list[Ranked]:
    """Each class's average over its residents' room scores (see the module's note)."""
    scope = EVERYTHING if classes_clause is ALL else Scope(ALL, classes_clause, False, (), ())
    return _classes(_class_rows(first, last, scope, NO_FILTERS)[0], bands)


def excellent_rooms(first: date, last: date, bands: HygieneSettings, rooms_clause: Clause = ALL) -> list[RoomAverage]:
    """The 优秀宿舍 of the period: rooms whose average is in the excellent band."""
    scope = Scope(rooms_clause, ALL, rooms_clause is ALL, (), ())
    return _rooms(_room_rows(first, last, scope, NO_FILTERS, at_least=bands.excellent_min)[0], bands)


def failing_twice(bands: HygieneSettings, rooms_clause: Clause = ALL) -> list[FailingRoom]:
    """Rooms whose last two inspections (whenever they were) both failed."""
    return _failing(_failing_rows(bands.pass_min, Scope(rooms_clause, ALL, rooms_clause is ALL, (), ()),
                                  NO_FILTERS)[0])


# --- the pages: an overview of every ranking, each ranking a page at a time, exports whole ---------------

RANKING_EXPORTS = ("floors", "buildings", "classes", "rooms", "excellent", "failing")
# Each ranking: its rows in SQL, and the rows as shown.
_KINDS = {
    "floors": (lambda first, last, bands, scope, filters, **page: _floor_rows(first, last, scope, filters, **page),
               _floors),
    "buildings": (lambda first, last, bands, scope, filters, **page:
                  _building_rows(first, last, scope, filters, **page), _buildings),
    "classes": (lambda first, last, bands, scope, filters, **page: _class_rows(first, last, scope, filters, **page),
                _classes),
    "rooms": (lambda first, last, bands, scope, filters, **page: _room_rows(first, last, scope, filters, **page),
              _rooms),
    "excellent": (lambda first, last, bands, scope, filters, **page:
                  _room_rows(first, last, scope, filters, at_least=bands.excellent_min, **page), _rooms),
    "failing": (lambda first, last, bands, scope, filters, **page:
                _failing_rows(bands.pass_min, scope, filters, **page), _failing),
}
STAFF_ONLY = ("floors", "buildings")  # by floor and building: for those who see every room


def may_see(kind: str, scope: Scope) -> bool:
    return kind in _KINDS and (scope.everything or kind not in STAFF_ONLY)


def _kept(name: str, compute, first, last, bands, scope: Scope, filters: RankingFilters, *extra):
    return kept(f"hygiene.{name}", compute, depends_on=scope.tables,
                key=(first, last, bands.excellent_min, bands.pass_min, scope.key, filters.key, *extra))


def ranking_page(kind: str, first: date, last: date, bands: HygieneSettings, scope: Scope,
                 filters: RankingFilters = NO_FILTERS, page: int = 1) -> Page:
    """One page of a ranking (PER_PAGE rows), computed once per change of the data."""
    rows_of, shown = _KINDS[kind]
    offset = (page - 1) * PER_PAGE
    rows, total = _kept(f"ranking.{kind}", lambda: rows_of(first, last, bands, scope, filters, limit=PER_PAGE,
                                                           offset=offset),
                        first, last, bands, scope, filters, page, PER_PAGE)
    return Page(shown(rows, bands), total, offset)


@dataclass
class Rankings:
    """The rankings page for one reader: each ranking's first rows and how many it has; floors and
    buildings for staff only (None for counselors)."""

    bands: HygieneSettings
    floors: Page | None
    buildings: Page | None
    classes: Page
    rooms: Page
    excellent: Page
    failing: Page


def rankings(user, first: date, last: date, bands: HygieneSettings, filters: RankingFilters = NO_FILTERS, *,
             whole: bool = False) -> Rankings:
    """What ``user`` may see of the period: each ranking's first rows (TOP; MOST_EXCELLENT_SHOWN of the
    lists), kept until the inspections, rooms or the reader's scope change; ``whole``: every row, for exports."""
    scope = Scope.of(user)
    sizes = {kind: None if whole else MOST_EXCELLENT_SHOWN if kind in ("excellent", "failing") else TOP
             for kind in _KINDS}

    def compute() -> dict:
        return {kind: rows_of(first, last, bands, scope, filters, limit=sizes[kind])
                for kind, (rows_of, _shown) in _KINDS.items() if may_see(kind, scope)}

    # An export reads each row once: nothing to keep.
    rows = compute() if whole else _kept("rankings", compute, first, last, bands, scope, filters, sizes)
    pages = {kind: Page(_KINDS[kind][1](kind_rows, bands), total) for kind, (kind_rows, total) in rows.items()}
    return Rankings(bands=bands, floors=pages.get("floors"), buildings=pages.get("buildings"),
                    classes=pages["classes"], rooms=pages["rooms"], excellent=pages["excellent"],
                    failing=pages["failing"])


def filter_options(user, first: date, last: date) -> dict[str, list]:
    """What the rankings' filters offer ``user``: the buildings of the rooms they may see, floor numbers, the
    period's rounds (latest first), as (value, label) pairs; kept until the campus or the rounds change."""
    scope = Scope.of(user)

    def compute() -> dict[str, list]:
        buildings = sa.select(Building.id, Building.code, Building.name).order_by(Building.code)
        floors = sa.select(Floor.number).distinct().order_by(Floor.number)
        if not scope.everything:
            seen = sa.select(Room.building_id).where(scope.rooms)
            buildings, floors = buildings.where(Building.id.in_(seen)), floors.where(Floor.building_id.in_(seen))
        rounds = (sa.select(InspectionRound.id, InspectionRound.inspected_on, InspectionRound.title)
                  .where(InspectionRound.inspected_on >= first, InspectionRound.inspected_on <= last)
                  .order_by(InspectionRound.inspected_on.desc(), InspectionRound.id.desc()))
        return {"buildings": [(bid, f"{code} {name}") for bid, code, name in db.session.execute(buildings)],
                "floors": [(number, str(number)) for number in db.session.scalars(floors)],
                "rounds": [(rid, f"{day.isoformat()} {title}".strip()) for rid, day, title in db.session.execute(rounds)]}

    return kept("hygiene.filter_options", compute, depends_on=scope.tables, key=(first, last, scope.key))


def rankings_table(kind: str, ranked: Rankings) -> tuple[list[str], list[list]]:
    """One of ``RANKING_EXPORTS`` as a spreadsheet's headers and rows."""
    if kind in ("floors", "buildings", "classes"):
        heading = {"floors": _("Floor"), "buildings": _("Building"), "classes": _("Class")}[kind]
        headers = [_("Rank"), heading, _("Average score"), _("Band"), _("Inspections"), _("Rooms")]
        return headers, [[n, r.label, r.average, r.band.label if r.band else "", r.inspections, r.rooms]
                         for n, r in enumerate(getattr(ranked, kind).rows, start=1)]
    if kind == "failing":
        headers = [_("Building"), _("Room"), _("Latest inspection"), _("Score"), _("Inspection before"), _("Score")]
        return headers, [[r.room.building_code, r.room.number,
                          *[v for day, total in r.scores for v in (day.isoformat(), total)]]
                         for r in ranked.failing.rows]
    headers = [_("Rank"), _("Building"), _("Floor"), _("Room"), _("Average score"), _("Band"), _("Inspections")]
    return headers, [[n, r.room.building_code, r.room.floor_number, r.room.number, r.average,
                      r.band.label if r.band else "", r.inspections]
                     for n, r in enumerate(getattr(ranked, kind).rows, start=1)]  # "rooms" or "excellent"


def room_history(room: Room, limit: int = 50) -> list[RoomInspection]:
    """The room's inspections, latest first, with their item scores."""
    return list(db.session.scalars(
        sa.select(RoomInspection).join(InspectionRound).where(RoomInspection.room_id == room.id)
        .options(selectinload(RoomInspection.scores), joinedload(RoomInspection.round))
        .order_by(InspectionRound.inspected_on.desc(), RoomInspection.id.desc()).limit(limit)))


def round_inspections(the_round: InspectionRound, within=sa.true()) -> list[RoomInspection]:
    """The round's room scores; ``within`` a WHERE clause on Room (a building manager's own rooms)."""
    return list(db.session.scalars(
        sa.select(RoomInspection).join(Room, Room.id == RoomInspection.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(RoomInspection.round_id == the_round.id, within)
        .options(selectinload(RoomInspection.scores), joinedload(RoomInspection.room).joinedload(Room.building),
                 joinedload(RoomInspection.room).joinedload(Room.floor), joinedload(RoomInspection.inspected_by))
        .order_by(Building.code, Room.number)))


def round_table(the_round: InspectionRound, bands: HygieneSettings) -> tuple[list[str], list[list]]:
    """A round's scores as a spreadsheet: one row per room, one column per item as scored."""
    inspections = round_inspections(the_round)
    items: dict[str, int] = {}
    for inspection in inspections:
        for score in inspection.scores:
            items.setdefault(score.item_name, score.position)
    names = sorted(items, key=items.get)
    headers = [_("Date"), _("Building"), _("Floor"), _("Room"), *names, _("Total"), _("Band"), _("Not inspected"),
               _("Note"), _("Inspector")]
    rows = []
    for inspection in inspections:
        points = {s.item_name: s.points for s in inspection.scores}
        band = bands.band(inspection.total)
        rows.append([the_round.inspected_on.isoformat(), inspection.room.building.code, inspection.room.floor.number,
                     inspection.room.number, *[points.get(name, "") for name in names],
                     "" if inspection.total is None else inspection.total, band.label if band else "",
                     _("Yes") if inspection.absent else "", inspection.note,
                     inspection.inspected_by.display_name if inspection.inspected_by else ""])
    return headers, rows


# --- charts ------------------------------------------------------------------------

BAND_COLOURS = {Band.EXCELLENT: "#198754", Band.PASS: "#fd7e14", Band.FAIL: "#dc3545"}


# More buildings than this and the trend chart shows their average (a line each would be a tangle of 80).
MOST_TREND_LINES = 10


def building_trend(last: date, days: int = 183, rooms_clause: Clause = ALL,
                   filters: RankingFilters = NO_FILTERS) -> dict[str, list[tuple[date, float]]]:
    """Building code -> [(round date, average score)] over the ``days`` up to ``last``; with more than
    MOST_TREND_LINES buildings one line, "" (every building), each round's average over all its rooms."""
    query = (sa.select(Building.code, InspectionRound.inspected_on, sa.func.avg(RoomInspection.total),
                       sa.func.count(RoomInspection.id))
             .select_from(RoomInspection).join(InspectionRound).join(Room, Room.id == RoomInspection.room_id)
             .join(Building, Building.id == Room.building_id)
             .where(_scored(last - timedelta(days=days), last), rooms_clause, filters.clause())
             .group_by(Building.code, InspectionRound.inspected_on)
             .order_by(Building.code, InspectionRound.inspected_on))
    buildings: dict[str, list[tuple[date, float, int]]] = {}
    for code, day, avg, count in db.session.execute(query):
        buildings.setdefault(code, []).append((day, float(avg), count))
    if len(buildings) <= MOST_TREND_LINES:
        return {code: [(day, _average(avg)) for day, avg, _count in points] for code, points in buildings.items()}
    rounds: dict[date, tuple[float, int]] = {}
    for points in buildings.values():
        for day, avg, count in points:
            points_sum, inspections = rounds.get(day, (0.0, 0))
            rounds[day] = (points_sum + avg * count, inspections + count)
    return {"": [(day, _average(points_sum / inspections)) for day, (points_sum, inspections) in sorted(rounds.items())]}


def trend(user, last: date, filters: RankingFilters = NO_FILTERS) -> dict[str, list[tuple[date, float]]]:
    """``building_trend`` of the rooms ``user`` may see, kept until the inspections change."""
    scope = Scope.of(user)
    return kept("hygiene.trend", lambda: building_trend(last, rooms_clause=scope.rooms, filters=filters),
                depends_on=scope.tables, key=(last, scope.key, filters.key))


def _band_lines(axes, excellent_min: float, pass_min: float) -> None:
    axes.axhline(excellent_min, color=BAND_COLOURS[Band.EXCELLENT], linestyle="--", linewidth=0.8)
    axes.axhline(pass_min, color=BAND_COLOURS[Band.FAIL], linestyle="--", linewidth=0.8)


def building_trend_chart(series: dict[str, list[tuple[date, float]]], bands: HygieneSettings) -> str:
    return _building_trend({code or _("All buildings"): points for code, points in series.items()},
                           bands.excellent_min, bands.pass_min)


@drawn_once
def _building_trend(series: dict[str, list[tuple[date, float]]], excellent_min: float, pass_min: float) -> str:
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.subplots()
    for code, points in series.items():  # on a time axis: buildings inspected on different days line up
        axes.plot([d for d, _v in points], [v for _d, v in points], marker="o", label=code)
    axes.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    _band_lines(axes, excellent_min, pass_min)
    axes.set_ylabel(_("Average score"))
    axes.set_ylim(max(0, min([v for points in series.values() for _d, v in points] + [pass_min]) - 10), 101)
    axes.spines[["top", "right"]].set_visible(False)
    figure.legend(loc="outside right upper", frameon=False, fontsize="small")
    return figure_svg(figure)


def room_trend_chart(history: list[RoomInspection], bands: HygieneSettings) -> str:
    scored = [i for i in reversed(history) if i.total is not None]
    return _room_trend([i.round.inspected_on for i in scored], [i.total for i in scored],
                       [BAND_COLOURS[bands.band(i.total)] for i in scored], bands.excellent_min, bands.pass_min)


@drawn_once
def _room_trend(days: list[date], totals: list[float], colours: list[str], excellent_min: float,
                pass_min: float) -> str:
    figure = Figure(figsize=(5, 2.4), layout="constrained")
    axes = figure.subplots()
    axes.plot(days, totals, color="#0d6efd", linewidth=1.5)
    axes.scatter(days, totals, color=colours, zorder=3)
    axes.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    _band_lines(axes, excellent_min, pass_min)
    axes.set_ylim(max(0, min(totals + [pass_min]) - 10), 101)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure)


@dataclass
class RoomSummary:
    """A room's inspections, latest scores and their trend, for the room's hygiene page."""

    history: list[RoomInspection]  # latest first
    bands: HygieneSettings
    latest: RoomInspection | None  # the latest one scored (not marked not inspected)
    chart: Markup | None  # from two scores on


def room_summary(room: Room, limit: int = 6) -> RoomSummary:
    """The caller has checked that its reader may see ``room``."""
    bands = settings()
    history = room_history(room, limit)
    scored = [i for i in history if i.total is not None]
    return RoomSummary(history, bands, scored[0] if scored else None,
                       Markup(room_trend_chart(history, bands)) if len(scored) > 1 else None)


@dataclass(frozen=True)
class ItemPoints:
    item_name: str
    points: int
    max_points: int


@dataclass(frozen=True)
class LatestScore:
    inspected_on: date
    total: int
    band: Band | None
    note: str
    scores: tuple[ItemPoints, ...]


@dataclass(frozen=True)
class RoomCard:
    """A room's latest scores and their trend as plain data, for the room page and a student's page."""

    latest: LatestScore | None  # the latest one scored (not marked not inspected)
    chart: Markup | None  # from two scores on


# What a room's card is drawn from: its inspections and their rounds, and the bands.
ROOM_CARD_TABLES = ("hygiene_inspections", "hygiene_item_scores", "hygiene_rounds", "hygiene_settings")


def room_card(room: Room) -> RoomCard:
    """``room_summary`` as a card, kept until an inspection or the bands change (every resident's page shows
    it). The caller has checked that its reader may see ``room``."""
    def compute() -> RoomCard:
        summary = room_summary(room)
        latest = summary.latest
        return RoomCard(
            LatestScore(latest.round.inspected_on, latest.total, summary.bands.band(latest.total), latest.note,
                        tuple(ItemPoints(s.item_name, s.points, s.max_points) for s in latest.scores))
            if latest is not None else None,
            summary.chart)

    # The chart is drawn in the reader's language: kept per language.
    return kept("hygiene_room_card", compute, depends_on=ROOM_CARD_TABLES, key=(room.id, str(get_locale())))
