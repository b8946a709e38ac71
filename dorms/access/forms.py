from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Optional

from ..core.enums import Gender
from ..core.forms import InDateRange, options
from .models import PermissionKind
from .tokens import SCOPE_LABELS


class PermissionRequestForm(FlaskForm):
    kind = SelectField(_l("I ask for"), choices=options(PermissionKind.choices()))
    first_night = DateField(_l("Night (the evening's date)"), validators=[DataRequired(), InDateRange()])
    last_night = DateField(_l("Last night away (overnight only)"), validators=[Optional(), InDateRange()])
    expected_return = TimeField(_l("Back by (late return only)"), validators=[Optional()])
    destination = StringField(_l("Where you will be (overnight only)"), validators=[Optional(), Length(max=200)])
    emergency_contact = StringField(_l("Emergency contact: name and phone (overnight only)"),
                                    validators=[Optional(), Length(max=120)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class DecisionForm(FlaskForm):
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=500)])


class CurfewRuleForm(FlaskForm):
    nights = SelectField(_l("Nights"), choices=options([("weeknight", _l("Sunday to Thursday nights")),
                                                        ("weekend", _l("Friday and Saturday nights"))]))
    building = SelectField(_l("Building"), choices=[], validate_choice=False)
    gender = SelectField(_l("Gender"), choices=options([("", _l("Everyone"))] + Gender.choices()))
    curfew = TimeField(_l("Curfew"), validators=[DataRequired()])


class HolidayForm(FlaskForm):
    night = DateField(_l("Night"), validators=[DataRequired(), InDateRange()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])


class TermForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    starts_on = DateField(_l("First day"), validators=[DataRequired(), InDateRange()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired(), InDateRange()])


class TokenForm(FlaskForm):
    name = StringField(_l("Integration"), validators=[DataRequired(), Length(max=120)])
    scope = SelectField(_l("May"), choices=options(SCOPE_LABELS.items()))


class DeviceForm(FlaskForm):
    serial_number = StringField(_l("Serial number"), validators=[DataRequired(), Length(max=64)])
    building = SelectField(_l("Building"), choices=[], validate_choice=False)
    door = StringField(_l("Door"), validators=[Optional(), Length(max=64)])
    networks = StringField(_l("Pushes from (address or network)"), validators=[DataRequired(), Length(max=200)])
    timezone = StringField(_l("Time zone of its clock"), default="Asia/Shanghai",
                           validators=[DataRequired(), Length(max=64)])
