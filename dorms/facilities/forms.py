from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import QuickSelect, options
from .models import Condition, ItemKind, RepairStatus


class ItemForm(FlaskForm):
    kind = SelectField(_l("Item"), choices=options(ItemKind.choices()), widget=QuickSelect())
    asset_label = StringField(_l("Asset label"), validators=[Optional(), Length(max=64)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    condition = SelectField(_l("Condition"), choices=options(Condition.choices()), widget=QuickSelect())


class ConditionForm(FlaskForm):
    condition = SelectField(_l("Condition"), choices=options(Condition.choices()))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class ReportFaultForm(FlaskForm):
    # Choices are the room's items, filled in by the view; "" is "something else".
    item = SelectField(_l("What is broken"), choices=[], validate_choice=False, widget=QuickSelect())
    description = TextAreaField(_l("Describe the fault"), validators=[DataRequired(), Length(min=4, max=1000)])
    photos = MultipleFileField(_l("Photos"))


class RepairStepForm(FlaskForm):
    status = SelectField(_l("Next step"), choices=options(RepairStatus.choices()))
    assignee = StringField(_l("Assigned to"), validators=[Optional(), Length(max=100)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class TicketFilterForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options(
        [("open", _l("Still open")), ("all", _l("All"))] + list(RepairStatus.choices())))
    # The building (?building=, a select of every building) and room number (?room=) are drawn by the page from
    # a kept list of options: WTForms took longer to draw a hundred buildings than the rest of the page.


def report_fault_form(items) -> ReportFaultForm:
    """The report form offering the room's ``items`` (or "something else")."""
    form = ReportFaultForm()
    form.item.choices = options([("", _l("Something else"))] + [
        (str(item.id), " ".join(filter(None, [str(item.kind.label), item.asset_label, item.description])))
        for item in items])
    return form
