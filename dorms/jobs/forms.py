from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TimeField
from wtforms.validators import NumberRange, Optional


class ScheduleForm(FlaskForm):
    enabled = BooleanField(_l("On"))
    every_minutes = IntegerField(_l("Every (minutes)"), validators=[Optional(), NumberRange(min=1, max=10080)])
    time_of_day = TimeField(_l("Daily at"), validators=[Optional()])
