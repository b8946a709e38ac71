from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ..core.forms import InDateRange, options


class RoundForm(FlaskForm):
    inspected_on = DateField(_l("Date"), validators=[DataRequired(), InDateRange()])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=120)])
    buildings = SelectMultipleField(_l("Buildings"), coerce=int, validators=[DataRequired()])
    inspectors = SelectMultipleField(_l("Inspectors"), coerce=int, validators=[DataRequired()])

    def with_choices(self, buildings, staff) -> RoundForm:
        self.buildings.choices = options((b.id, f"{b.code} {b.name}") for b in buildings)
        self.inspectors.choices = options((u.id, u.display_name) for u in staff)
        return self


class BandsForm(FlaskForm):
    excellent_min = IntegerField(_l("Excellent from"), validators=[InputRequired(), NumberRange(1, 100)])
    pass_min = IntegerField(_l("Pass from"), validators=[InputRequired(), NumberRange(1, 100)])


class InspectorsForm(FlaskForm):
    inspectors = SelectMultipleField(_l("Inspectors"), coerce=int, validators=[DataRequired()])
