from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..core.enums import RoomStatus
from ..core.forms import QuickSelect, options


class RoomSearchForm(FlaskForm):
    building = SelectField(_l("Building"), choices=[], validate_choice=False)
    gender = SelectField(_l("Gender"), choices=options([("", _l("Any")), ("M", _l("Male")), ("F", _l("Female"))]))
    room_type = SelectField(_l("Room type"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=options([("", _l("Any status"))] + RoomStatus.choices()))
    number = StringField(_l("Room number"))
    free = BooleanField(_l("Free beds only"))
    accessible = BooleanField(_l("Accessible only"))


class RoomStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options(RoomStatus.choices()), widget=QuickSelect())
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
