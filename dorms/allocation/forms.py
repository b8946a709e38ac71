from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from ..core.forms import ascii_digits, options, words
from ..solver.problem import DEFAULT_WEIGHTS
from .models import RunMode


class RunForm(FlaskForm):
    mode = SelectField(_l("Kind of run"), choices=options(RunMode.choices()))
    buildings = SelectMultipleField(_l("Buildings (none chosen: all)"), choices=[], coerce=int)
    time_limit = IntegerField(_l("Time limit (seconds)"), default=30,
                              validators=[InputRequired(), NumberRange(min=2, max=600)])
    locked = TextAreaField(_l("Keep these students in their bed (student numbers)"))
    scope_grades = StringField(_l("Only students who entered in (years; empty: all)"))
    scope_colleges = StringField(_l("Only these colleges (empty: all)"))
    scope_classes = StringField(_l("Only these classes (empty: all)"))
    weight_move = IntegerField(_l("Weight: a resident moved"), default=DEFAULT_WEIGHTS["move"],
                               validators=[Optional(), NumberRange(min=0, max=10_000)])
    weight_pair = IntegerField(_l("Weight: a mutual request not met"), default=DEFAULT_WEIGHTS["pair"],
                               validators=[Optional(), NumberRange(min=0, max=10_000)])
    weight_class_room = IntegerField(_l("Weight: a class in one more room"), default=DEFAULT_WEIGHTS["class_room"],
                                     validators=[Optional(), NumberRange(min=0, max=10_000)])
    weight_class_building = IntegerField(_l("Weight: a class in one more building"),
                                         default=DEFAULT_WEIGHTS["class_building"],
                                         validators=[Optional(), NumberRange(min=0, max=10_000)])
    weight_preference = IntegerField(_l("Weight: a building preference rank"), default=DEFAULT_WEIGHTS["preference"],
                                     validators=[Optional(), NumberRange(min=0, max=10_000)])
    weight_lifestyle = IntegerField(_l("Weight: mixed sleep schedules in a room"), default=DEFAULT_WEIGHTS["lifestyle"],
                                    validators=[Optional(), NumberRange(min=0, max=10_000)])

    def weights(self) -> dict[str, int]:
        """Only the weights changed from the defaults (a field left empty keeps its default)."""
        given = {name: self[f"weight_{name}"].data for name in DEFAULT_WEIGHTS}
        return {name: value for name, value in given.items() if value is not None and value != DEFAULT_WEIGHTS[name]}

    def locked_numbers(self) -> list[str]:
        return words(self.locked.data)

    def validate_scope_grades(self, field) -> None:
        if not all(ascii_digits(word) and len(word) == 4 for word in words(field.data)):
            raise ValidationError(_l("Write years such as 2026, separated by spaces."))

    def student_scope(self) -> dict[str, list]:
        return {"grades": [int(w) for w in words(self.scope_grades.data)],
                "colleges": words(self.scope_colleges.data), "classes": words(self.scope_classes.data)}

