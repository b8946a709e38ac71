from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class PlaceForm(FlaskForm):
    """Put a student (by number) into a bed: assigns, or moves them if housed."""

    student_number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class VacateForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
