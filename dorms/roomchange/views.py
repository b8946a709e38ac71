from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core.enums import Role
from ..core.forms import known_choice, page_number, submit
from ..core.roles import roles_required, staff_required
from ..core.web import kept_html
from ..extensions import db
from ..residence import services as residence
from ..students.models import Student
from . import services
from .forms import MoveRequestForm, RequestFilterForm, SwapRequestForm

bp = Blueprint("roomchange", __name__, url_prefix="/room-change")
PER_PAGE = 50


@bp.get("/")
@staff_required
def index():
    form = RequestFilterForm(request.args, meta={"csrf": False})
    page = page_number(request.args)
    rows, total = services.search_requests(status=known_choice(form.status), kind=known_choice(form.kind),
                                           page=page, per_page=PER_PAGE)
    return render_template("roomchange/index.html", form=form, rows=rows, total=total, page=page,
                           has_next=page * PER_PAGE < total)


def _me() -> Student:
    return db.session.get(Student, current_user.student_id)


# What a student's room-change page reads (roomchange/_mine.html).
MINE_TABLES = ("students", "assignments", "beds", "rooms", "floors", "buildings", "terms",
               "room_change_requests", "room_change_choices")


@bp.get("/mine")
@roles_required(Role.STUDENT)
def mine():
    def draw() -> str:
        student = _me()
        history = services.requests_of(student)
        return render_template(
            "roomchange/_mine.html", student=student, current=residence.current_assignment(student),
            live=services.live_among(history, student), offers=services.swap_offers_to(student),
            history=history, move_form=MoveRequestForm().fill_targets(), swap_form=SwapRequestForm())

    return render_template("_kept_page.html", title=_("Room change"), body=kept_html(
        "roomchange.mine", draw, depends_on=MINE_TABLES))


@bp.post("/move")
@roles_required(Role.STUDENT)
def ask_to_move():
    form = MoveRequestForm().fill_targets()
    submit(form, lambda: services.ask_to_move(_me(), form.ranked(), form.reason.data),
           _("Your request is in; it is met in the next requests round if a bed can be had."))
    return redirect(url_for("roomchange.mine"))


@bp.post("/swap")
@roles_required(Role.STUDENT)
def ask_to_swap():
    form = SwapRequestForm()
    submit(form, lambda: services.ask_to_swap(_me(), form.partner_number.data, form.reason.data, discreet=True),
           _("The other student is asked to confirm the swap."))
    return redirect(url_for("roomchange.mine"))


@bp.post("/<int:request_id>/answer")
@roles_required(Role.STUDENT)
def answer(request_id: int):
    accept = request.form.get("answer") == "accept"
    submit(None, lambda: services.answer_swap(_me(), request_id, accept=accept),
           _("You agreed to the swap.") if accept else _("You declined the swap."))
    return redirect(url_for("roomchange.mine"))


@bp.post("/<int:request_id>/withdraw")
@roles_required(Role.STAFF, Role.STUDENT)
def withdraw(request_id: int):
    """Staff withdraw any request; a student their own."""
    by = None if current_user.is_staff else _me()
    submit(None, lambda: services.withdraw(request_id, by=by), _("The request was withdrawn."))
    return redirect(url_for("roomchange.index") if current_user.is_staff else url_for("roomchange.mine"))
