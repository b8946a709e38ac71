from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from ..core.forms import options
from .models import SyncKind


class SyncForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=options(SyncKind.choices()), default=SyncKind.INCREMENTAL.value)
    dry_run = BooleanField(_l("Dry run: report what would change, write nothing"))
    force = BooleanField(_l("Go ahead even if many students would become inactive"))
