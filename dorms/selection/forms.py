"""The housing office's forms for selection day (staff_views). Times are typed in campus time and stored in UTC."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..core.clock import campus_zone, utcnow
from ..core.enums import Gender
from ..core.forms import options, row_choice

CAMPUS_TIME_FORMAT = "%Y-%m-%dT%H:%M"  # what a browser's datetime-local input sends


def campus_time(field) -> datetime | None:
    """A datetime-local field's value, typed in campus time, as a UTC moment."""
    if field.data is None:
        return None
    return field.data.replace(tzinfo=campus_zone()).astimezone(UTC)


def _time_field(label):
    return DateTimeLocalField(label, format=CAMPUS_TIME_FORMAT, validators=[InputRequired()])


class EventForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    closes_at = _time_field(_l("Closes at (campus time)"))
    hold_minutes = IntegerField(_l("A hold lasts (minutes)"), default=5,
                                validators=[InputRequired(), NumberRange(min=1, max=60)])
    change_limit = IntegerField(_l("Changes allowed after confirming"), default=0,
                                validators=[InputRequired(), NumberRange(min=0, max=10)])
    roommate_names = BooleanField(_l("Students see the names of who chose a room"))

    def validate_closes_at(self, field) -> None:
        if field.data is not None and campus_time(field) <= utcnow():
            raise ValidationError(_l("Give a time still to come."))


class WindowForm(FlaskForm):
    """A cohort's window; every filter left empty takes anyone."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    starts_at = _time_field(_l("Starts at (campus time)"))
    tier = IntegerField(_l("Tier (a lower tier enters first)"), default=1,
                        validators=[InputRequired(), NumberRange(min=1, max=99)])
    college = StringField(_l("College"), validators=[Optional(), Length(max=120)])
    class_name = StringField(_l("Class"), validators=[Optional(), Length(max=120)])
    grade = IntegerField(_l("Year of entry"), validators=[Optional(), NumberRange(min=2000, max=2100)])
    gender = SelectField(_l("Gender"), choices=options([("", _l("Any gender")), *Gender.choices()]))
    batch_size = IntegerField(_l("Students per batch (0: all at once)"), default=0,
                              validators=[InputRequired(), NumberRange(min=0, max=100_000)])
    batch_minutes = IntegerField(_l("Minutes between batches"), default=0,
                                 validators=[InputRequired(), NumberRange(min=0, max=1440)])
    campus = SelectField(_l("Zone they choose in"), coerce=row_choice, choices=[], validate_choice=False)


class ParticipantsForm(FlaskForm):
    """Who takes part: the active students of a college, class or year, or a pasted list of student numbers."""

    college = StringField(_l("College"), validators=[Optional(), Length(max=120)])
    class_name = StringField(_l("Class"), validators=[Optional(), Length(max=120)])
    grade = IntegerField(_l("Year of entry"), validators=[Optional(), NumberRange(min=2000, max=2100)])
    numbers = TextAreaField(_l("Or student numbers, one a line"), validators=[Length(max=200_000)])

    def validate_numbers(self, field) -> None:
        if not (field.data or "").strip() and not (self.college.data or self.class_name.data or self.grade.data):
            raise ValidationError(_l("Give student numbers, or a college, class or year."))


class OffersForm(FlaskForm):
    """A building's beds, or a floor's, or some rooms': offered (perhaps reserved), or withdrawn."""

    building = SelectField(_l("Building"), coerce=row_choice, choices=[])
    floor = IntegerField(_l("Floor (empty: every floor)"), validators=[Optional(), NumberRange(min=-10, max=200)])
    rooms = StringField(_l("Rooms (numbers, separated by commas; empty: every room)"),
                        validators=[Optional(), Length(max=2000)])
    reserved = BooleanField(_l("Reserved for the office (nobody may choose them)"))

    @property
    def room_numbers(self) -> tuple[str, ...]:
        """The room numbers typed, each once, in the order typed (commas or spaces, Chinese ones too)."""
        typed = re.split(r"[\s,，、;；]+", self.rooms.data or "")
        return tuple(dict.fromkeys(number for number in typed if number))


class AreaForm(FlaskForm):
    """A college's area: a building, or one floor of it."""

    college = StringField(_l("College"), validators=[DataRequired(), Length(max=120)])
    building = SelectField(_l("Building"), coerce=row_choice, choices=[], validate_choice=False)
    floor = IntegerField(_l("Floor (empty: the whole building)"),
                         validators=[Optional(), NumberRange(min=-10, max=200)])


class NamesForm(FlaskForm):
    roommate_names = BooleanField(_l("Students see the names of who chose a room"))


class RehearsalForm(FlaskForm):
    starts_at = _time_field(_l("Rehearsal starts at (campus time)"))
    closes_at = _time_field(_l("Rehearsal closes at (campus time)"))

    def validate_closes_at(self, field) -> None:
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The rehearsal must close after it starts."))
