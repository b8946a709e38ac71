"""Form helpers shared by the features."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import abort, flash
from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..extensions import db
from .again import mark_refused
from .clock import campus_today
from .errors import ServiceError


def confirmed(form, sentence: str) -> bool:
    """Whether a change that touches many records was confirmed (the confirm_box macro's box ticked);
    if not, says what would happen, for the page to ask again."""
    if form.get("confirm") == "yes":
        return True
    flash(_("Nothing was changed: tick the box to confirm. %(what)s", what=sentence), "warning")
    return False


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices; labels may be lazy strings."""
    return [SelectChoice(value, label) for value, label in pairs]


class QuickSelect(widgets.Select):
    """WTForms' select of a SelectField whose choices come from ``options``, its options written in one pass: the
    same HTML, at a fraction of the cost for a long list (hundreds of classes, every building on a form's rows)."""

    def __call__(self, field, **kwargs):
        choices = field.choices
        if self.multiple or not isinstance(choices, list) or not all(
                isinstance(choice, SelectChoice) and not choice.render_kw and choice.optgroup is None
                for choice in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in dir(flags):
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = getattr(flags, name)
        html = [f"<select {widgets.html_params(name=field.name, **kwargs)}>"]
        coerce, data = field.coerce, field.data
        for choice in choices:
            value = str(choice.value) if isinstance(choice.value, bool) else choice.value
            label = "" if choice.label is None else str(choice.label)  # a lazy label translated once
            selected = " selected" if coerce(choice.value) == data else ""
            html.append(f'<option{selected} value="{escape(value)}">{escape(label or value)}</option>')
        html.append("</select>")
        return Markup("".join(html))


def option_tags(pairs: Iterable[tuple], selected=None) -> Markup:
    """``<option>`` tags for (value, label) pairs, the one whose value is ``selected`` marked: a select of a
    hundred buildings drawn in Python, where a template loop or WTForms took a millisecond or more."""
    return Markup("".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in pairs))


MAX_PAGE = 10_000


def number_arg(args, name: str, default: int, highest: int) -> int:
    """The ?name= whole number from 1 to ``highest``: ASCII digits (see ``ascii_digits``), else ``default``;
    a larger one is ``highest``."""
    text = args.get(name, "")
    if not ascii_digits(text):
        return default
    return max(min(int(text) if len(text) <= len(str(highest)) else highest, highest), 1)


def page_number(args) -> int:
    """The ?page= argument, kept within sane bounds."""
    return number_arg(args, "page", 1, MAX_PAGE)


def known_choice(field) -> str | None:
    """A select field's submitted value if it is one of its choices, else None (a hand-edited URL)."""
    values = {choice.value for choice in field.choices}
    return field.data if field.data and field.data in values else None



def error_text(form) -> str:
    """A form's errors as one line to flash: "Field: problem, problem" (nested forms' errors left out)."""
    return " ".join(f"{form[name].label.text}: {', '.join(map(str, errors))}"
                    for name, errors in form.errors.items()
                    if name in form and not any(isinstance(e, (dict, list)) for e in errors))


def words(text: str | None) -> list[str]:
    """Values typed into one box, separated by spaces or commas (Chinese ones too)."""
    return (text or "").replace(",", " ").replace("，", " ").replace("、", " ").split()


def ascii_digits(text: str | None) -> bool:
    """True for a non-empty run of 0-9 only. ``str.isdigit`` also takes "²" (which ``int`` refuses),
    Arabic-Indic "٣" and full-width "１": no id or number a person types into our forms."""
    return isinstance(text, str) and text.isascii() and text.isdecimal()


MAX_ID = 2**31 - 1  # a hand-edited id beyond this is no row of ours (and would overflow the column)


def row_id(text: str | None) -> int | None:
    """A submitted id (a form field, a query argument) as a number that can name a row, else None.

    ASCII digits only, and within the columns' range: a hand-edited huge number names no row rather than
    failing the query (PostgreSQL refuses it). Route arguments get the same bound from the URL converter.
    At most MAX_ID's ten digits are read: ``int`` refuses more than 4,300 with an error.
    """
    return int(text) if ascii_digits(text) and len(text) <= 10 and int(text) <= MAX_ID else None


def row_choice(value) -> int:
    """``coerce`` for a select of rows that takes values outside its choices (0 being "none"): an id as
    ``row_id`` reads it, anything else 0, so a hand-edited value names no row (never a number PostgreSQL
    would refuse, never "٣" read as 3) and the service says what is missing."""
    if isinstance(value, int):
        return value
    return row_id(value) or 0


def refuse(message: str) -> None:
    """Say why a form was refused. A view that then redirects to the form's page shows that page again,
    with what was typed (core.again), instead of an empty form."""
    flash(message, "danger")
    mark_refused()


@dataclass
class Submitted:
    """What ``submit`` did: true when it saved, with what the action returned."""

    saved: bool
    result: Any = None

    def __bool__(self) -> bool:
        return self.saved


def submit(form, action, message=None) -> Submitted:
    """Validate ``form``, run ``action`` (a service call) and commit, flashing what happened.

    One request, one transaction: a refused form or a ServiceError changes nothing. True when saved;
    ``.result`` is what the action returned (e.g. the row it created, to redirect to).
    ``form`` may be None for pages whose inputs are not a WTForms form (CSRF is still checked app-wide).
    ``message`` is what to say on success, as text or as a function of the action's result: None says
    "Saved.", an empty text nothing (the next page shows it), a (text, category) pair flashes in that
    category (e.g. "warning" for a success that is not quite what was asked).
    A refused form whose view then redirects shows that page again with what was typed (core.again)."""
    if form is not None and not form.validate_on_submit():
        refuse(error_text(form) or _("Check the form."))
        return Submitted(False)
    try:
        result = action()
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        refuse(error.markup or str(error))
        return Submitted(False)
    said = message(result) if callable(message) else message
    said, category = said if isinstance(said, tuple) else (_("Saved.") if said is None else said, "success")
    if said:
        flash(said, category)
    return Submitted(True, result)


EARLIEST_DATE = date(2000, 1, 1)  # before any record of ours: an older date is a typo


def date_range() -> tuple[date, date]:
    """The dates a report, filter or form may name: 2000-01-01 to a year after today on campus.

    Nothing lies outside it, and date arithmetic near the years 1 and 9999 overflows."""
    return EARLIEST_DATE, campus_today() + timedelta(days=366)


def in_date_range(day: date) -> bool:
    first, last = date_range()
    return first <= day <= last


def date_range_message() -> str:
    first, last = date_range()
    return _("Give a date from %(first)s to %(last)s.", first=first.isoformat(), last=last.isoformat())


def date_arg(args, name: str) -> date | None:
    """The ?name= date of a report or filter; None when absent or unreadable (the page's default).

    A date outside ``date_range()`` answers 400 with a message saying the range."""
    try:
        day = date.fromisoformat(args.get(name, ""))
    except ValueError:
        return None
    if not in_date_range(day):
        abort(400, description=date_range_message())
    return day


class InDateRange:
    """A DateField validator: the date lies within ``date_range()`` (the form names the field)."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not in_date_range(field.data):
            raise ValidationError(date_range_message())


def date_period(args, default_first, *, longest_days: int = 366) -> tuple[date, date] | None:
    """The ?first=&last= dates of a report (campus dates), or None when they make no period.

    ``last`` defaults to today on campus and ``first`` to ``default_first(last)``;
    a period backwards or longer than ``longest_days`` is None (the view answers 400),
    a date out of ``date_range()`` a 400 saying so.
    """
    last = date_arg(args, "last") or campus_today()
    first = date_arg(args, "first") or default_first(last)
    if first > last or (last - first).days > longest_days:
        return None
    return first, last
