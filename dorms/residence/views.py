from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_babel import gettext as _

from ..campus.models import Bed
from ..core.forms import refuse, submit
from ..core.roles import staff_required
from ..extensions import db
from ..students.models import Student
from ..students.services import find_by_number
from . import services
from .forms import PlaceForm, VacateForm

bp = Blueprint("residence", __name__)


@bp.post("/beds/<int:bed_id>/place")
@staff_required
def place(bed_id: int):
    bed = db.session.get(Bed, bed_id) or abort(404)
    form = PlaceForm()
    back = url_for("campus.room", room_id=bed.room_id)
    if not form.validate():
        refuse(_("Give a student number and a reason."))
        return redirect(back)
    student = find_by_number(form.student_number.data)
    if student is None:
        refuse(_("No student has the number %(number)s.", number=form.student_number.data))
        return redirect(back)
    submit(None, lambda: services.place(student, bed, reason=form.reason.data),
           lambda assignment: _("%(student)s now lives in %(bed)s.", student=student.display, bed=assignment.bed.code))
    return redirect(back)


@bp.post("/students/<int:student_id>/vacate")
@staff_required
def vacate(student_id: int):
    student = db.session.get(Student, student_id) or abort(404)
    form = VacateForm()
    if not form.validate():
        refuse(_("Give a reason."))
    else:
        submit(None, lambda: services.vacate(student, reason=form.reason.data),
               _("%(student)s no longer has a bed.", student=student.display))
    return redirect(url_for("students.detail", student_id=student.id))
