from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import InDateRange, options, row_choice
from .models import Severity, ViolationStatus


class TypeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    severity = SelectField(_l("Severity"), choices=options(Severity.choices()))


class ViolationForm(FlaskForm):
    # Checked by the service, which names what is wrong (a student who is not a resident, a future date…).
    student_numbers = StringField(_l("Student numbers"), validators=[Optional(), Length(max=600)])
    room_code = StringField(_l("Room"), validators=[Optional(), Length(max=40)])
    type_id = SelectField(_l("Violation type"), coerce=row_choice, choices=[], validate_choice=False)
    occurred_on = DateField(_l("Date it happened"), validators=[Optional(), InDateRange()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    photos = MultipleFileField(_l("Evidence photos"))

    def with_types(self, types) -> ViolationForm:
        self.type_id.choices = options([(0, "—")] + [(t.id, f"{t.name} ({t.severity.label})") for t in types])
        return self


class StepForm(FlaskForm):
    status = SelectField(_l("Move to"), choices=options(ViolationStatus.choices()))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class AppealForm(FlaskForm):
    reason = TextAreaField(_l("Why you appeal"), validators=[DataRequired(), Length(max=2000)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=2000)])


class FilterForm(FlaskForm):
    q = StringField(_l("Student number or name"), validators=[Optional(), Length(max=120)])
    status = SelectField(_l("Status"), choices=options([("", _l("Any status"))] + ViolationStatus.choices()))
    severity = SelectField(_l("Severity"), choices=options([("", _l("Any severity"))] + Severity.choices()))
    type_id = SelectField(_l("Violation type"), coerce=row_choice, choices=[], validate_choice=False)
    building_id = SelectField(_l("Building"), coerce=row_choice, choices=[], validate_choice=False)
    first = DateField(_l("From"), validators=[Optional(), InDateRange()])
    last = DateField(_l("To"), validators=[Optional(), InDateRange()])
