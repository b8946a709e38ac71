from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ..core.enums import StudentStatus
from ..core.forms import options


class StudentSearchForm(FlaskForm):
    q = StringField(_l("Student number or name"))
    class_name = SelectField(_l("Class"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=options([("", _l("Any status"))] + StudentStatus.choices()))
    housed = SelectField(_l("Housing"), choices=options([("", _l("Everyone")), ("yes", _l("Has a bed")),
                                                         ("no", _l("Has no bed"))]))
