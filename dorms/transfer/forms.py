from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField

from ..core.forms import options


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file holds"), choices=options([("rooms", _l("Buildings, rooms and beds")),
                                                                  ("students", _l("Students"))]))
    file = FileField(_l("File (.csv or .xlsx)"), validators=[
        FileRequired(), FileAllowed(["csv", "xlsx", "txt"], _l("Upload a .csv or .xlsx file."))])
    dry_run = BooleanField(_l("Only check, write nothing"))
    # The token of a previewed file and its moves of residents, which are confirmed (importing.content_token).
    confirm = HiddenField()
