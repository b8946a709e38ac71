"""Pages of the hygiene feature: rankings, rounds, scoring a floor on a phone, the checklist, a room's scores."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ..campus import services as campus
from ..campus.models import Floor, Room
from ..core.clock import campus_today
from ..core.enums import Role
from ..core.forms import ascii_digits, confirmed, date_period, options, page_number, row_id, submit
from ..core.kept import kept
from ..core.roles import roles_required, staff_required
from ..core.tables import MIME_TYPES, table_download
from ..extensions import db
from ..residence import services as residence
from ..residence.scopes import can_view_building, can_view_room, visible_buildings_clause, visible_rooms_clause
from . import reports, services
from .forms import BandsForm, InspectorsForm, RoundForm
from .models import Band, InspectionRound, RoundStatus

bp = Blueprint("hygiene", __name__, url_prefix="/hygiene")
BAND_STYLES = {Band.EXCELLENT: "success", Band.PASS: "warning", Band.FAIL: "danger"}


@bp.app_template_global()
def band_badge(band: Band | None, score=None) -> Markup:
    """A score's band as a badge ("—" without one); Python rather than a macro: a ranking shows dozens."""
    if not band:
        return Markup('<span class="badge text-bg-light border">—</span>')
    shown = f"{escape(score)} · " if score is not None else ""
    return Markup(f'<span class="badge text-bg-{BAND_STYLES[band]}" data-band="{band.value}">'
                  f'{shown}{escape(band.label)}</span>')


# --- rankings (staff: everything; counselors: their students' rooms and classes) ---------------


def _period() -> tuple[date, date]:
    """?first=&last=, by default this month so far (the monthly 卫生评比)."""
    return date_period(request.args, lambda last: last.replace(day=1)) or abort(400)


# Hygiene's readers: who lives in rooms or looks after them; a repair worker has no hygiene pages.
hygiene_readers_required = roles_required(Role.STAFF, Role.COUNSELOR, Role.STUDENT, Role.BUILDING_MANAGER,
                                          Role.INSPECTOR)
# Who opens rounds and floor sheets: staff (auditors read), inspectors, building managers (own floors).
inspectors_required = roles_required(*services.INSPECTING_ROLES)


def _filters() -> reports.RankingFilters:
    """?building=&floor=&round=: which inspections the rankings count, besides the period."""
    floor = request.args.get("floor", "")
    return reports.RankingFilters(building_id=row_id(request.args.get("building")),
                                  floor=int(floor) if ascii_digits(floor) and len(floor) <= 3 else None,
                                  round_id=row_id(request.args.get("round")))


def _query(first: date, last: date, filters: reports.RankingFilters) -> dict:
    """The period and filters as a link's arguments: the rankings' pages and exports keep them."""
    chosen = {"building": filters.building_id, "floor": filters.floor, "round": filters.round_id}
    return {"first": first.isoformat(), "last": last.isoformat(),
            **{name: value for name, value in chosen.items() if value is not None}}


# Who reads the rankings and exports them: a student has their own room's page (.mine).
ranking_readers_required = roles_required(Role.STAFF, Role.COUNSELOR, Role.INSPECTOR, Role.BUILDING_MANAGER)


@bp.get("/")
@hygiene_readers_required
def index():
    if current_user.is_student:
        return redirect(url_for(".mine"))
    first, last = _period()
    filters = _filters()
    bands = services.settings()
    query = _query(first, last, filters)

    def draw_overview() -> str:
        series = reports.trend(current_user, last, filters)
        return render_template("hygiene/_overview.html", ranked=reports.rankings(current_user, first, last, bands,
                                                                                  filters), query=query,
                               chart=Markup(reports.building_trend_chart(series, bands)) if series else None)

    return render_template("hygiene/index.html", first=first, last=last, bands=bands, filters=filters,
                           overview=Markup(_drawn("overview", draw_overview, first, last, bands, filters)),
                           options=reports.filter_options(current_user, first, last), title=_("Hygiene inspections"))


def _drawn(name: str, draw, first: date, last: date, bands, filters: reports.RankingFilters, *key):
    """A part of a rankings page as ``draw()`` renders it, kept like the rankings it shows: rendering rows of
    rankings, badges and links costs more than the rest of the page. Per reader's scope, period, filters,
    bands and language; what it draws may depend on nothing else."""
    scope = reports.Scope.of(current_user)
    return kept(f"hygiene.{name}.html", draw, depends_on=scope.tables,
                key=(scope.key, first, last, bands.excellent_min, bands.pass_min, filters.key, str(get_locale()),
                     request.script_root, *key))


RANKING_TITLES = {"floors": _l("Floors by hygiene"), "buildings": _l("Buildings by hygiene"),
                  "classes": _l("Classes by hygiene"), "rooms": _l("Rooms by hygiene"),
                  "excellent": _l("Excellent dorms"), "failing": _l("Failed twice in a row")}


@bp.get("/rankings/<kind>")
@ranking_readers_required
def ranking(kind: str):
    """One ranking whole, a page at a time, with the overview's period and filters."""
    scope = reports.Scope.of(current_user)
    if kind not in RANKING_TITLES:
        abort(404)
    if not reports.may_see(kind, scope):
        abort(403)
    first, last = _period()
    filters = _filters()
    page = page_number(request.args)
    bands = services.settings()

    def draw_rows() -> tuple[str, int]:
        rows = reports.ranking_page(kind, first, last, bands, scope, filters, page)
        return render_template("hygiene/_ranking_rows.html", kind=kind, rows=rows), rows.total

    rows, total = _drawn(f"ranking.{kind}", draw_rows, first, last, bands, filters, page, reports.PER_PAGE)
    return render_template("hygiene/ranking.html", kind=kind, first=first, last=last, filters=filters,
                           rows=Markup(rows), total=total, page=page, per_page=reports.PER_PAGE,
                           options=reports.filter_options(current_user, first, last),
                           query=_query(first, last, filters), title=RANKING_TITLES[kind])


@bp.get("/export/<kind>.<file_format>")
@ranking_readers_required
def export(kind: str, file_format: str):
    """The rankings as the asker sees them (reports.rankings: a building manager's and a counselor's own
    rooms and classes), whole; the floor and building rankings only for those who see every building."""
    if file_format not in MIME_TYPES or kind not in reports.RANKING_EXPORTS:
        abort(404)
    if not reports.may_see(kind, reports.Scope.of(current_user)):
        abort(403)
    first, last = _period()
    headers, rows = reports.rankings_table(kind, reports.rankings(current_user, first, last, services.settings(),
                                                                  _filters(), whole=True))
    # The failing list does not depend on the period.
    name = "hygiene-failing-twice" if kind == "failing" else f"hygiene-{kind}-{first}-{last}"
    return table_download(headers, rows, file_format, name)


# --- rounds (staff) ----------------------------------------------------------------------------


def _round_or_404(round_id: int) -> InspectionRound:
    return db.get_or_404(InspectionRound, round_id)


@bp.get("/rounds")
@inspectors_required
def rounds():
    form = RoundForm(inspected_on=campus_today(), inspectors=[current_user.id])
    return render_template("hygiene/rounds.html", rounds=services.rounds(), title=_("Inspection rounds"),
                           form=form.with_choices(campus.buildings(), services.staff_users()),
                           checklist_problem=services.checklist_problem())


@bp.post("/rounds")
@staff_required
def create_round():
    form = RoundForm().with_choices(campus.buildings(), services.staff_users())
    created: list[InspectionRound] = []

    def action():
        created.append(services.create_round(form.inspected_on.data, services.buildings_with_ids(form.buildings.data),
                                             services.users_with_ids(form.inspectors.data),
                                             title=form.title.data or "", actor=current_user))

    if submit(form, action):
        return redirect(url_for(".round_page", round_id=created[0].id))
    return redirect(url_for(".rounds"))


@bp.get("/rounds/<int:round_id>")
@inspectors_required
def round_page(round_id: int):
    the_round = _round_or_404(round_id)
    form = InspectorsForm(inspectors=[u.id for u in the_round.inspectors])
    form.inspectors.choices = options((u.id, u.display_name) for u in services.staff_users())
    floors = services.round_floors(the_round, within=visible_buildings_clause(current_user, Floor.building_id))
    return render_template("hygiene/round.html", round=the_round, floors=floors,
                           inspections=reports.round_inspections(
                               the_round, within=visible_rooms_clause(current_user, Room.id)), bands=services.settings(),
                           may_score=services.may_score(current_user, the_round), title=the_round.label,
                           inspectors_form=form, rooms_left=_rooms_left(the_round), close_sentence=_close_sentence)


@bp.post("/rounds/<int:round_id>/inspectors")
@staff_required
def round_inspectors(round_id: int):
    the_round = _round_or_404(round_id)
    form = InspectorsForm()
    form.inspectors.choices = options((u.id, u.display_name) for u in services.staff_users())
    submit(form, lambda: services.set_inspectors(the_round, services.users_with_ids(form.inspectors.data),
                                                 actor=current_user))
    return redirect(url_for(".round_page", round_id=the_round.id))


def _rooms_left(the_round) -> int:
    return sum(p.rooms - p.done for p in services.round_floors(the_round))


def _close_sentence(left: int) -> str:
    return ngettext("%(num)d room is not inspected yet: closing the round leaves it without a score.",
                    "%(num)d rooms are not inspected yet: closing the round leaves them without a score.", left)


@bp.post("/rounds/<int:round_id>/status")
@staff_required
def round_status(round_id: int):
    the_round = _round_or_404(round_id)
    try:
        status = RoundStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if status == RoundStatus.CLOSED and the_round.is_open and (left := _rooms_left(the_round)) \
            and not confirmed(request.form, _close_sentence(left)):
        return redirect(url_for(".round_page", round_id=the_round.id))
    submit(None, lambda: services.set_round_status(the_round, status, actor=current_user),
            lambda _result: _("The round is now %(status)s.", status=status.label.lower()))
    return redirect(url_for(".round_page", round_id=the_round.id))


@bp.get("/rounds/<int:round_id>/scores.<file_format>")
@roles_required(Role.STAFF, Role.INSPECTOR)
def round_export(round_id: int, file_format: str):
    if file_format not in MIME_TYPES:
        abort(404)
    the_round = _round_or_404(round_id)
    headers, rows = reports.round_table(the_round, services.settings())
    return table_download(headers, rows, file_format, f"hygiene-round-{the_round.inspected_on}-{the_round.id}")


@bp.route("/rounds/<int:round_id>/floors/<int:floor_id>", methods=["GET", "POST"])
@inspectors_required
def floor(round_id: int, floor_id: int):
    """The inspector's page: every room of one floor, scored and saved in one go."""
    the_round = _round_or_404(round_id)
    floor = services.floor_of_round_or_none(the_round, floor_id) or abort(404)
    if not can_view_building(current_user, floor.building_id):
        abort(404)  # another building's floor, to its building manager
    typed: dict[int, services.RoomEntry] = {}
    status = 200
    if request.method == "POST":
        items = services.checklist()
        for raw in request.form.getlist("room"):
            if (room_id := row_id(raw)) is not None:
                typed[room_id] = services.RoomEntry(
                    absent=request.form.get(f"absent-{room_id}") == "y", note=request.form.get(f"note-{room_id}", ""),
                    points={item.id: request.form.get(f"p-{room_id}-{item.id}", "") for item in items})
        if submit(None, lambda: services.save_floor(the_round, floor, typed, actor=current_user),
                   lambda saved: ngettext("Saved the scores of %(num)d room.", "Saved the scores of %(num)d rooms.",
                                          saved)):
            return redirect(url_for(".floor", round_id=the_round.id, floor_id=floor.id))
        status = 400
    sheet = services.floor_sheet(the_round, floor)
    siblings = [p.floor for p in services.round_floors(
        the_round, within=visible_buildings_clause(current_user, Floor.building_id))] if request.method == "GET" else []
    return render_template("hygiene/floor.html", sheet=sheet, typed=typed, bands=services.settings(),
                           may_score=services.may_score(current_user, the_round), siblings=siblings,
                           title=_("%(building)s, floor %(floor)d", building=floor.building.code,
                                   floor=floor.number)), status


# --- checklist and bands (staff) ---------------------------------------------------------------


@bp.route("/checklist", methods=["GET", "POST"])
@staff_required
def checklist():
    if request.method == "POST":
        rows = []
        for key in request.form.getlist("row"):
            raw_max = request.form.get(f"max-{key}", "").strip()
            item_id = request.form.get(f"id-{key}", "")
            rows.append(services.ItemRow(
                name=request.form.get(f"name-{key}", "")[:60],
                max_points=int(raw_max) if ascii_digits(raw_max.removeprefix("-")) and len(raw_max) < 5 else None,
                item_id=row_id(item_id),
                remove=request.form.get(f"remove-{key}") == "y"))
        if submit(None, lambda: services.set_checklist(rows, actor=current_user),
                   lambda _result: _("The checklist is saved.")):
            return redirect(url_for(".checklist"))
    bands = services.settings()
    items = services.checklist()
    # No checklist yet: the usual one is filled in, to change and save (nothing is saved by looking).
    return render_template("hygiene/checklist.html", items=items, title=_("Hygiene checklist"),
                           suggested=[] if items else services.default_checklist(),
                           bands_form=BandsForm(excellent_min=bands.excellent_min, pass_min=bands.pass_min))


@bp.post("/bands")
@staff_required
def set_bands():
    form = BandsForm()
    submit(form, lambda: services.set_bands(form.excellent_min.data, form.pass_min.data, actor=current_user))
    return redirect(url_for(".checklist"))


# --- a room's scores (staff, the counselors of its residents, its residents) -------------------


@bp.get("/rooms/<int:room_id>")
@login_required
def room(room_id: int):
    room = campus.load_room(room_id) or abort(404)
    if not can_view_room(current_user, room.id):
        abort(404)  # as if missing: no one learns about rooms outside their scope
    return render_template("hygiene/room.html", room=room, summary=reports.room_summary(room, limit=50),
                           title=_("Hygiene of %(room)s", room=room.code))


@bp.get("/mine")
@roles_required(Role.STUDENT)
def mine():
    current = residence.current_assignment(current_user.student)
    if current is None:
        return render_template("hygiene/room.html", room=None, summary=None, title=_("Hygiene of my room"))
    return redirect(url_for(".room", room_id=current.bed.room_id))
