"""A room's inventory on the room page (staff), and repair tickets: reported by students from their phone,
moved along by staff, seen by whoever may see the room."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ..campus import services as campus
from ..core.enums import Role
from ..core.forms import known_choice, page_number, row_id, submit
from ..core.roles import roles_required, staff_required
from ..core.tables import MIME_TYPES, table_download
from ..campus.models import Room
from ..extensions import db
from ..photos import photo_response
from ..residence.scopes import manages_room, room_or_404
from . import repairs, services
from .forms import (
    ConditionForm,
    ItemForm,
    RepairStepForm,
    TicketFilterForm,
    report_fault_form,
)
from .models import Condition, InventoryItem, ItemKind, RepairStatus, RepairTicket

bp = Blueprint("facilities", __name__)
STATUS_STYLES = {RepairStatus.REPORTED: "danger", RepairStatus.ASSIGNED: "warning", RepairStatus.IN_PROGRESS: "info",
                 RepairStatus.FIXED: "success", RepairStatus.REJECTED: "secondary"}


@bp.app_template_global()
def repair_badge(status: RepairStatus) -> Markup:
    """A ticket's or step's status as a badge; Python rather than a macro: the office's list shows dozens."""
    return Markup(f'<span class="badge text-bg-{STATUS_STYLES[status]}" data-status="{status.value}">'
                  f'{escape(status.label)}</span>')
ROOM_NUMBER_LENGTH = Room.number.type.length  # a longer search text names no room


def _done(action, form, room_id: int):
    submit(form, action)
    return redirect(url_for("campus.room", room_id=room_id, _anchor="inventory"))


@bp.post("/rooms/<int:room_id>/inventory")
@staff_required
def add_item(room_id: int):
    room = campus.load_room(room_id) or abort(404)
    form = ItemForm()
    return _done(lambda: services.add_item(room, ItemKind(form.kind.data), asset_label=form.asset_label.data or "",
                                           description=form.description.data or "",
                                           condition=Condition(form.condition.data), actor=current_user),
                 form, room.id)


@bp.post("/inventory/<int:item_id>/condition")
@staff_required
def set_condition(item_id: int):
    item = db.get_or_404(InventoryItem, item_id)
    form = ConditionForm()
    return _done(lambda: services.set_condition(item, Condition(form.condition.data), note=form.note.data or "",
                                                actor=current_user), form, item.room_id)


# --- repair tickets -------------------------------------------------------------------------------------------


def _visible_ticket_or_404(ticket_id: int) -> RepairTicket:
    """Tickets of rooms the asker may not see are reported as missing."""
    ticket = repairs.load(ticket_id)
    if ticket is None or not repairs.can_see(current_user, ticket):
        abort(404)
    return ticket


def _report(room, form, done_url: str):
    def action():
        item = db.session.get(InventoryItem, number) if (number := row_id(form.item.data)) is not None else None
        repairs.report(room, form.description.data, item=item, photos=request.files.getlist(form.photos.name),
                       actor=current_user)
    submit(form, action)
    return redirect(done_url)


@bp.get("/repairs")
@roles_required(Role.STAFF, Role.COUNSELOR, Role.STUDENT, Role.BUILDING_MANAGER, Role.REPAIR_WORKER)
def repairs_index():
    """The tickets the asker may see (repairs.visible_tickets_clause): a repair worker's own queue, made for a
    phone; a building manager's buildings'; a counselor's students' rooms; everything for staff."""
    if current_user.is_student:
        return redirect(url_for("facilities.my_repairs"))
    form = TicketFilterForm(request.args, meta={"csrf": False})
    filters = repairs.TicketFilters(status=known_choice(form.status) or "open",
                                    building_id=row_id(request.args.get("building")),
                                    room_number=(request.args.get("room") or "").strip()[:ROOM_NUMBER_LENGTH] or None)
    file_format = request.args.get("format")
    if file_format in MIME_TYPES:
        rows, _total = repairs.tickets(current_user, filters, per_page=None)
        return table_download(*repairs.export_rows(rows), file_format, "repair-tickets")
    page = page_number(request.args)
    rows, total = repairs.tickets(current_user, filters, page=page)
    return render_template("facilities/index.html", form=form, rows=rows, total=total, page=page, per_page=50,
                           filters=filters, building_options=repairs.building_options(current_user),
                           status_options=[(choice.value, str(choice.label)) for choice in form.status.choices],
                           backlog=repairs.open_by_building(current_user))


@bp.route("/repairs/mine", methods=["GET", "POST"])
@roles_required(Role.STUDENT)
def my_repairs():
    """A student's own room: its tickets, and the form to report a fault (made for a phone)."""
    room = repairs.student_room(current_user.student)
    form = report_fault_form(services.items_of(room)) if room else None
    if room and request.method == "POST":
        return _report(room, form, url_for("facilities.my_repairs"))
    return render_template("facilities/mine.html", room=room, form=form,
                           tickets=repairs.of_room(room.id) if room else [])


@bp.post("/rooms/<int:room_id>/repairs")
@roles_required(Role.STAFF, Role.BUILDING_MANAGER)
def report_for_room(room_id: int):
    room = room_or_404(room_id)
    if not manages_room(current_user, room.id):
        abort(404)
    return _report(room, report_fault_form(services.items_of(room)), url_for("campus.room", room_id=room.id, _anchor="repairs"))


@bp.get("/repairs/<int:ticket_id>")
@login_required
def ticket(ticket_id: int):
    ticket = _visible_ticket_or_404(ticket_id)
    return render_template("facilities/ticket.html", ticket=ticket, step_form=RepairStepForm(),
                           next_statuses=repairs.next_statuses(current_user, ticket),
                           workers=repairs.repair_workers() if current_user.is_staff else [],
                           links_room=current_user.sees_everything or current_user.is_building_manager)


@bp.post("/repairs/<int:ticket_id>/step")
@roles_required(Role.STAFF, Role.BUILDING_MANAGER, Role.REPAIR_WORKER)
def ticket_step(ticket_id: int):
    ticket = _visible_ticket_or_404(ticket_id)
    if not repairs.next_statuses(current_user, ticket) and not current_user.is_staff:
        abort(403)  # a ticket seen, not theirs to move
    form = RepairStepForm()
    submit(form, lambda: repairs.move(ticket, RepairStatus(form.status.data), note=form.note.data or "",
                                      assignee=form.assignee.data or "", actor=current_user))
    return redirect(url_for("facilities.ticket", ticket_id=ticket.id))


@bp.get("/repairs/<int:ticket_id>/photos/<int:photo_id>")
@login_required
def ticket_photo(ticket_id: int, photo_id: int):
    ticket = _visible_ticket_or_404(ticket_id)
    photo = next((p for p in ticket.photos if p.id == photo_id), None) or abort(404)
    return photo_response(photo)
