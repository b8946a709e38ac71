from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from ..core.forms import options
from .models import Condition, ItemKind


class ItemForm(FlaskForm):
    kind = SelectField(_l("Item"), choices=options(ItemKind.choices()))
    asset_label = StringField(_l("Asset label"), validators=[Optional(), Length(max=64)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    condition = SelectField(_l("Condition"), choices=options(Condition.choices()))


class ConditionForm(FlaskForm):
    condition = SelectField(_l("Condition"), choices=options(Condition.choices()))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
