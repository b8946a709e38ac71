from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..core.enums import Lifestyle, RequestKind, StudentStatus
from ..core.forms import QuickSelect, options, row_choice


class StudentSearchForm(FlaskForm):
    q = StringField(_l("Student number or name"))
    class_name = SelectField(_l("Class"), choices=[], validate_choice=False, widget=QuickSelect())
    status = SelectField(_l("Status"), choices=options([("", _l("Any status"))] + StudentStatus.choices()))
    housed = SelectField(_l("Housing"), choices=options([("", _l("Everyone")), ("yes", _l("Has a bed")),
                                                         ("no", _l("Has no bed"))]))


class RoommateRequestForm(FlaskForm):
    other_number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])
    kind = SelectField(_l("Request"), choices=options(RequestKind.choices()))


class BuildingPreferenceForm(FlaskForm):
    """Ranked buildings; choices are set by the view."""

    first = SelectField(_l("First choice"), choices=[], coerce=row_choice, validate_choice=False, widget=QuickSelect())
    second = SelectField(_l("Second choice"), choices=[], coerce=row_choice, validate_choice=False,
                         widget=QuickSelect())
    third = SelectField(_l("Third choice"), choices=[], coerce=row_choice, validate_choice=False, widget=QuickSelect())

    def with_buildings(self, buildings) -> "BuildingPreferenceForm":
        choices = options([(0, "—")] + [(b.id, f"{b.code} {b.name}") for b in buildings])
        for field in (self.first, self.second, self.third):
            field.choices = choices
        return self

    def ranked(self) -> list[int]:
        return [field.data or 0 for field in (self.first, self.second, self.third)]


class LifestyleForm(FlaskForm):
    lifestyle = SelectField(_l("Sleep schedule"), choices=options([("", _l("No answer"))] + Lifestyle.choices()))
