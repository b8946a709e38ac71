from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, NumberRange

from ..core.forms import options
from .models import RunMode


class RunForm(FlaskForm):
    mode = SelectField(_l("Kind of run"), choices=options(RunMode.choices()))
    buildings = SelectMultipleField(_l("Buildings (none chosen: all)"), choices=[], coerce=int)
    time_limit = IntegerField(_l("Time limit (seconds)"), default=30,
                              validators=[InputRequired(), NumberRange(min=2, max=600)])
