from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..campus import services as campus
from ..core.forms import QuickSelect, options
from .models import ChangeKind, ChangeStatus
from .services import MAX_CHOICES, Choice


class ChoiceForm(Form):
    """One ranked row: a building or room type from the list, or a room typed in."""

    target = SelectField(_l("Where"), choices=[], validate_choice=False, widget=QuickSelect())
    room = StringField(_l("Room"), validators=[Optional(), Length(max=40)])


def target_choices() -> list:
    """Every building and room type, labelled in the reader's language: each wording translated once (the form
    shows the list on every row)."""
    building, room_type = _("Building %(building)s"), _("Room type %(type)s")
    return options([("", "—"), ("room", _("The room written beside"))]
                   + [(f"building:{b.id}", building % {"building": f"{b.code} {b.name}"})
                      for b in campus.building_names()]
                   + [(f"type:{t}", room_type % {"type": t}) for t in campus.room_types()])


class MoveRequestForm(FlaskForm):
    choices = FieldList(FormField(ChoiceForm), min_entries=MAX_CHOICES, max_entries=MAX_CHOICES)
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])

    def fill_targets(self) -> "MoveRequestForm":
        targets = target_choices()
        for entry in self.choices:
            entry.form.target.choices = targets
        return self

    def ranked(self) -> list[Choice]:
        """The rows filled in, best first; a row naming a room reads the room box."""
        ranked = []
        for entry in self.choices:
            target = entry.form.target.data or ""
            if target == "room":
                ranked.append(Choice("room", (entry.form.room.data or "").strip()))
            elif ":" in target:
                kind, _sep, value = target.partition(":")
                ranked.append(Choice(kind, value))
            elif (entry.form.room.data or "").strip():  # a room typed without choosing "room"
                ranked.append(Choice("room", entry.form.room.data.strip()))
        return ranked


class SwapRequestForm(FlaskForm):
    partner_number = StringField(_l("Student number of the student to swap with"),
                                 validators=[DataRequired(), Length(max=32)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class RequestFilterForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options([("", _l("Any status"))] + ChangeStatus.choices()))
    kind = SelectField(_l("Kind"), choices=options([("", _l("Both kinds"))] + ChangeKind.choices()))
