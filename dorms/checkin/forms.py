"""The check-in forms. Rows of keys, items and damages are read from the posted fields by name
(``key_kind``/``key_label``, ``item-<id>-condition``, ``damage_*``), and refused with the row named."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.errors import ServiceError
from ..core.forms import options, row_id
from ..facilities.models import Condition
from .models import KeyKind, LeavingPolicy
from .services import (
    DamageInput,
    Inspection,
    ItemState,
    KeyInput,
    KeyReturn,
    parse_yuan,
)

# Empty key rows the desk form offers beside the suggested ones.
SPARE_KEY_ROWS = 2
DAMAGE_ROWS = 3


class SettingsForm(FlaskForm):
    leaving = SelectField(_l("A checked-in student's bed changes elsewhere than at the desk"),
                          choices=options(LeavingPolicy.choices()),
                          description=_l("The student page's move and vacate, applying an allocation run or a "
                                         "requests round, a student import."))


class DeskSearchForm(FlaskForm):
    q = StringField(_l("Student number or card"), validators=[Optional(), Length(max=64)])


class CheckInForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class KeysForm(FlaskForm):
    pass


class AnswerForm(FlaskForm):
    pass


class DisputeForm(FlaskForm):
    note = TextAreaField(_l("What is wrong"), validators=[DataRequired(), Length(max=500)])


class ResolveForm(FlaskForm):
    condition = SelectField(_l("Condition at check-in"), choices=options(Condition.choices()))
    note = StringField(_l("Answer"), validators=[DataRequired(), Length(max=500)])


class CheckOutForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class RoomChangeForm(CheckOutForm):
    bed = StringField(_l("New bed"), validators=[DataRequired(), Length(max=64)])


def _condition(value: str | None, what: str) -> Condition:
    try:
        return Condition(value)
    except ValueError:
        raise ServiceError(_("%(what)s: choose good, worn or broken.", what=what)) from None


def keys_from(form) -> list[KeyInput]:
    """The key rows with a label; a row with a label but no known kind is refused."""
    kinds, labels = form.getlist("key_kind"), form.getlist("key_label")
    keys = []
    for number, (kind, label) in enumerate(zip(kinds, labels), start=1):
        if not label.strip():
            continue
        try:
            keys.append(KeyInput(KeyKind(kind), label.strip(), number))
        except ValueError:
            raise ServiceError(_("Key row %(row)d: choose what kind of key it is.", row=number)) from None
    return keys


def item_states_from(form, item_names: dict[int, str]) -> dict[int, ItemState]:
    """``item-<id>-condition`` and ``-note`` for each of the given items that was posted."""
    states = {}
    for item_id, name in item_names.items():
        value = form.get(f"item-{item_id}-condition")
        if value is None:
            continue
        states[item_id] = ItemState(_condition(value, name), form.get(f"item-{item_id}-note", "")[:500])
    return states


def key_returns_from(form, keys) -> dict:
    """Each key's answer (``key-<id>``: returned or missing, ``key-<id>-charge``), by key id; unanswered left out."""
    answers = {}
    for key in keys:
        answer = form.get(f"key-{key.id}")
        if answer is None:
            continue
        if answer not in ("returned", "missing"):
            raise ServiceError(_("%(key)s: say whether it was returned or is missing.", key=key.name))
        charge = parse_yuan(form.get(f"key-{key.id}-charge"), what=key.name)
        answers[key.id] = KeyReturn(returned=answer == "returned", charge_cents=charge or None)
    return answers


def inspection_from(form, record, photos=None) -> Inspection:
    """What the check-out form says about the report's items, the keys handed out, and damages."""
    items = item_states_from(form, {item.id: item.name for item in record.items})
    keys = key_returns_from(form, record.keys)
    damages = []
    rows = zip(form.getlist("damage_item"), form.getlist("damage_description"), form.getlist("damage_amount"))
    for number, (item, description, amount) in enumerate(rows, start=1):
        if not description.strip() and not amount.strip():
            continue
        what = _("Damage row %(row)d", row=number)
        cents = parse_yuan(amount, what=what)
        if cents is None:
            raise ServiceError(_("%(what)s: give the charge in yuan.", what=what))
        item_id = row_id(item)
        damages.append(DamageInput(description=description, amount_cents=cents, report_item_id=item_id))
    return Inspection(items=items, keys=keys, damages=damages, note=form.get("note", ""), photos=photos)
