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


def visible_classes_clause(user) -> Clause:
    """The classes ``user`` may see the rankings of: all for staff, else their students' classes."""
    if sees_everything(user) or user.role == Role.INSPECTOR:
        return ALL
    if user.role == Role.BUILDING_MANAGER:
        # The classes living in their buildings, scored in their buildings' rooms only: the class's rooms
        # elsewhere are another building's to see.
        return RoomInspection.room_id.in_(sa.select(Room.id).where(visible_rooms_clause(user, Room.id)))
    return InspectionResident.class_name.in_(sa.select(Student.class_name).where(visible_students_clause(user)))


def _scored(first: date, last: date) -> sa.ColumnElement[bool]:
    return sa.and_(RoomInspection.absent.is_(False), InspectionRound.inspected_on >= first,
                   InspectionRound.inspected_on <= last)


def _average(value) -> float:
    return round(float(value), 1)


@dataclass
class Ranked:
    key: object
    label: str
    average: float
    inspections: int
    rooms: int
    band: Band | None


def _ranked(rows, bands: HygieneSettings) -> list[Ranked]:
    result = [Ranked(key, label, _average(avg), count, rooms, bands.band(_average(avg)))
              for key, label, avg, count, rooms in rows]
    result.sort(key=lambda r: (-r.average, str(r.label)))
    return result


def by_floor(first: date, last: date, bands: HygieneSettings) -> list[Ranked]:
    query = (sa.select(Floor.id, Building.code, Floor.number, sa.func.avg(RoomInspection.total),
                       sa.func.count(RoomInspection.id), sa.func.count(sa.distinct(Room.id)))
             .select_from(RoomInspection).join(InspectionRound).join(Room, Room.id == RoomInspection.room_id)
             .join(Floor, Floor.id == Room.floor_id).join(Building, Building.id == Room.building_id)
             .where(_scored(first, last)).group_by(Floor.id, Building.code, Floor.number))
    return _ranked([(fid, _("%(building)s, floor %(floor)d", building=code, floor=number), avg, count, rooms)
                    for fid, code, number, avg, count, rooms in db.session.execute(query)], bands)


def by_building(first: date, last: date, bands: HygieneSettings) -> list[Ranked]:
    query = (sa.select(Building.id, Building.code, Building.name, sa.func.avg(RoomInspection.total),
                       sa.func.count(RoomInspection.id), sa.func.count(sa.distinct(Room.id)))
             .select_from(RoomInspection).join(InspectionRound).join(Room, Room.id == RoomInspection.room_id)
             .join(Building, Building.id == Room.building_id)
             .where(_scored(first, last)).group_by(Building.id, Building.code, Building.name))
    return _ranked([(bid, f"{code} {name}", avg, count, rooms)
                    for bid, code, name, avg, count, rooms in db.session.execute(query)], bands)


def by_class(first: date, last: date, bands: HygieneSettings, classes_clause: Clause = ALL) -> list[Ranked]:
    """Each class's average over its residents' room scores (see the module's note)."""
    query = (sa.select(InspectionResident.class_name, sa.func.avg(RoomInspection.total),
                       sa.func.count(sa.distinct(RoomInspection.id)), sa.func.count(sa.distinct(RoomInspection.room_id)))
             .select_from(InspectionResident)
             .join(RoomInspection, RoomInspection.id == InspectionResident.inspection_id).join(InspectionRound)
             .where(_scored(first, last), InspectionResident.class_name != "", classes_clause)
             .group_by(InspectionResident.class_name))
    return _ranked([(name, name, avg, count, rooms) for name, avg, count, rooms in db.session.execute(query)],
                   bands)


@dataclass
class RoomAverage:
    room: Room
    average: float
    inspections: int
    band: Band | None


def room_averages(first: date, last: date, bands: HygieneSettings, rooms_clause: Clause = ALL) -> list[RoomAverage]:
    query = (sa.select(RoomInspection.room_id, sa.func.avg(RoomInspection.total), sa.func.count(RoomInspection.id))
             .join(InspectionRound).join(Room, Room.id == RoomInspection.room_id)
             .where(_scored(first, last), rooms_clause).group_by(RoomInspection.room_id))
    rows = db.session.execute(query).all()
    rooms = _rooms([room_id for room_id, _avg, _count in rows])
    result = [RoomAverage(rooms[room_id], _average(avg), count, bands.band(_average(avg)))
              for room_id, avg, count in rows]
    result.sort(key=lambda r: (-r.average, r.room.building.code, r.room.number))
    return result


def excellent_rooms(first: date, last: date, bands: HygieneSettings, rooms_clause: Clause = ALL) -> list[RoomAverage]:
    """The 优秀宿舍 of the period: rooms whose average is in the excellent band."""
    return _excellent(room_averages(first, last, bands, rooms_clause))


def _excellent(averages: list[RoomAverage]) -> list[RoomAverage]:
    return [r for r in averages if r.band == Band.EXCELLENT]


@dataclass
class FailingRoom:
    room: Room
    scores: list[tuple[date, int]]  # the last two, latest first


def failing_twice(bands: HygieneSettings, rooms_clause: Clause = ALL) -> list[FailingRoom]:
    """Rooms whose last two inspections (whenever they were) both failed."""
    order = sa.func.row_number().over(partition_by=RoomInspection.room_id,
                                      order_by=(InspectionRound.inspected_on.desc(), RoomInspection.id.desc()))
    latest = (sa.select(RoomInspection.room_id, RoomInspection.total, InspectionRound.inspected_on,
                        order.label("n"))
              .join(InspectionRound).where(RoomInspection.absent.is_(False)).subquery())
    last_two = sa.select(latest).where(latest.c.n <= 2).subquery()
    failing = (sa.select(last_two.c.room_id).join(Room, Room.id == last_two.c.room_id).where(rooms_clause)
               .group_by(last_two.c.room_id)
               .having(sa.func.count() == 2, sa.func.max(last_two.c.total) < bands.pass_min))
    room_ids = list(db.session.scalars(failing))
    scores: dict[int, list[tuple[date, int]]] = {}
    for room_id, total, day in db.session.execute(
            sa.select(last_two.c.room_id, last_two.c.total, last_two.c.inspected_on)
            .where(last_two.c.room_id.in_(room_ids)).order_by(last_two.c.n)):
        scores.setdefault(room_id, []).append((day, total))
    rooms = _rooms(room_ids)
    result = [FailingRoom(rooms[room_id], scores[room_id]) for room_id in room_ids]
    result.sort(key=lambda r: (r.room.building.code, r.room.number))
    return result


def _rooms(room_ids: list[int]) -> dict[int, Room]:
    if not room_ids:
        return {}
    return {room.id: room for room in db.session.scalars(
        sa.select(Room).where(Room.id.in_(room_ids)).options(joinedload(Room.building), joinedload(Room.floor)))}


@dataclass
class Rankings:
    """The rankings page for one reader: floors and buildings for staff only (None for counselors)."""

    bands: HygieneSettings
    floors: list[Ranked] | None
    buildings: list[Ranked] | None
    classes: list[Ranked]
    rooms: list[RoomAverage]
    excellent: list[RoomAverage]
    failing: list[FailingRoom]


def rankings(user, first: date, last: date, bands: HygieneSettings) -> Rankings:
    """What ``user`` may see of the period: counselors only their students' rooms and classes."""
    rooms_clause = visible_rooms_clause(user, Room.id)
    staff = sees_everything(user) or user.role == Role.INSPECTOR
    rooms = room_averages(first, last, bands, rooms_clause)
    return Rankings(bands=bands,
                    floors=by_floor(first, last, bands) if staff else None,
                    buildings=by_building(first, last, bands) if staff else None,
                    classes=by_class(first, last, bands, visible_classes_clause(user)),
                    rooms=rooms, excellent=_excellent(rooms), failing=failing_twice(bands, rooms_clause))


RANKING_EXPORTS = ("floors", "buildings", "classes", "rooms", "excellent", "failing")


def rankings_table(kind: str, ranked: Rankings) -> tuple[list[str], list[list]]:
    """One of ``RANKING_EXPORTS`` as a spreadsheet's headers and rows."""
    if kind in ("floors", "buildings", "classes"):
        heading = {"floors": _("Floor"), "buildings": _("Building"), "classes": _("Class")}[kind]
        headers = [_("Rank"), heading, _("Average score"), _("Band"), _("Inspections"), _("Rooms")]
        return headers, [[n, r.label, r.average, r.band.label if r.band else "", r.inspections, r.rooms]
                         for n, r in enumerate(getattr(ranked, kind), start=1)]
    if kind == "failing":
        headers = [_("Building"), _("Room"), _("Latest inspection"), _("Score"), _("Inspection before"), _("Score")]
        return headers, [[r.room.building.code, r.room.number,
                          *[v for day, total in r.scores for v in (day.isoformat(), total)]] for r in ranked.failing]
    headers = [_("Rank"), _("Building"), _("Floor"), _("Room"), _("Average score"), _("Band"), _("Inspections")]
    return headers, [[n, r.room.building.code, r.room.floor.number, r.room.number, r.average,
                      r.band.label if r.band else "", r.inspections]
                     for n, r in enumerate(getattr(ranked, kind), start=1)]  # "rooms" or "excellent"


def room_history(room: Room, limit: int = 50) -> list[RoomInspection]:
    """The room's inspections, latest first, with their item scores."""
    return list(db.session.scalars(
        sa.select(RoomInspection).join(InspectionRound).where(RoomInspection.room_id == room.id)
        .options(selectinload(RoomInspection.scores), joinedload(RoomInspection.round),
                 joinedload(RoomInspection.inspected_by))
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


def building_trend(last: date, days: int = 183, rooms_clause: Clause = ALL) -> dict[str, list[tuple[date, float]]]:
    """Building code -> [(round date, average score)] over the ``days`` up to ``last``."""
    query = (sa.select(Building.code, InspectionRound.inspected_on, sa.func.avg(RoomInspection.total))
             .select_from(RoomInspection).join(InspectionRound).join(Room, Room.id == RoomInspection.room_id)
             .join(Building, Building.id == Room.building_id)
             .where(_scored(last - timedelta(days=days), last), rooms_clause)
             .group_by(Building.code, InspectionRound.inspected_on)
             .order_by(Building.code, InspectionRound.inspected_on))
    series: dict[str, list[tuple[date, float]]] = {}
    for code, day, avg in db.session.execute(query):
        series.setdefault(code, []).append((day, _average(avg)))
    return series


def _band_lines(axes, excellent_min: float, pass_min: float) -> None:
    axes.axhline(excellent_min, color=BAND_COLOURS[Band.EXCELLENT], linestyle="--", linewidth=0.8)
    axes.axhline(pass_min, color=BAND_COLOURS[Band.FAIL], linestyle="--", linewidth=0.8)


def building_trend_chart(series: dict[str, list[tuple[date, float]]], bands: HygieneSettings) -> str:
    return _building_trend(series, bands.excellent_min, bands.pass_min)


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
