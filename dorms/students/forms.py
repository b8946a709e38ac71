from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..core.enums import Lifestyle, RequestKind, StudentStatus
from ..core.forms import options


class StudentSearchForm(FlaskForm):
    q = StringField(_l("Student number or name"))
    class_name = SelectField(_l("Class"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=options([("", _l("Any status"))] + StudentStatus.choices()))
    housed = SelectField(_l("Housing"), choices=options([("", _l("Everyone")), ("yes", _l("Has a bed")),
                                                         ("no", _l("Has no bed"))]))


class RoommateRequestForm(FlaskForm):
    other_number = StringField(_l("Student number"), validators=[DataRequired(), Length(max=32)])
    kind = SelectField(_l("Request"), choices=options(RequestKind.choices()))


class LifestyleForm(FlaskForm):
    lifestyle = SelectField(_l("Sleep schedule"), choices=options([("", _l("No answer"))] + Lifestyle.choices()))
