"""The audit log page: every recorded change, filtered by action, actor, student and dates."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from ..audit import SYSTEM_ACTOR
from ..audit.describe import ACTIONS, action_label, describe
from ..audit.models import AuditEntry
from ..core.clock import campus_zone
from ..core.forms import InDateRange, known_choice, options, page_number
from ..core.roles import staff_required
from ..extensions import db
from ..students.models import Student

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 100


class AuditFilterForm(FlaskForm):
    action = SelectField(_l("Action"), choices=options([("", _l("Any action"))] + list(ACTIONS.items())))
    actor = StringField(_l("By (username)"))
    student = StringField(_l("Student number"))
    since = DateField(_l("From"), validators=[Optional(), InDateRange()])
    until = DateField(_l("To"), validators=[Optional(), InDateRange()])


@bp.get("/")
@staff_required
def index():
    form = AuditFilterForm(request.args, meta={"csrf": False})
    form.validate()
    query = (sa.select(AuditEntry)
             .options(joinedload(AuditEntry.student), joinedload(AuditEntry.room))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if known_choice(form.action):
        query = query.where(AuditEntry.action == form.action.data)
    if form.actor.data:
        query = query.where(AuditEntry.actor_name == form.actor.data.strip().lower())
    if form.student.data:
        query = query.join(Student, Student.id == AuditEntry.student_id).where(
            Student.student_number == form.student.data.strip())
    # Dates are the reader's local days.
    zone = campus_zone()
    if form.since.data and not form.since.errors:
        query = query.where(AuditEntry.at >= datetime.combine(form.since.data, time.min, zone))
    if form.until.data and not form.until.errors:
        query = query.where(AuditEntry.at < datetime.combine(form.until.data + timedelta(days=1), time.min, zone))
    page = page_number(request.args)
    entries = list(db.session.scalars(query.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    return render_template("pages/audit_log.html", form=form, entries=entries[:PER_PAGE],
                           has_next=len(entries) > PER_PAGE, page=page,
                           describe=describe, action_label=action_label, system_actor=SYSTEM_ACTOR)
