from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..core.enums import Role
from ..core.forms import options


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me signed in"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    repeat_password = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))])


class AccountForm(FlaskForm):
    """A new account (the office). Buildings, classes and colleges come as lists (see account_views)."""
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Full name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=options(Role.choices()))
    student_number = StringField(_l("Student number"), validators=[Optional(), Length(max=32)])
    classes = StringField(_l("Classes (counselor), separated by commas"), validators=[Optional(), Length(max=1000)])
    colleges = StringField(_l("Colleges (counselor), separated by commas"), validators=[Optional(), Length(max=1000)])
    password = PasswordField(_l("One-time password (leave empty to generate one)"),
                             validators=[Optional(), Length(max=256)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=options(Role.choices()))
    classes = StringField(_l("Classes (counselor), separated by commas"), validators=[Optional(), Length(max=1000)])
    colleges = StringField(_l("Colleges (counselor), separated by commas"), validators=[Optional(), Length(max=1000)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("One-time password (leave empty to generate one)"),
                             validators=[Optional(), Length(max=256)])


class AccountSearchForm(FlaskForm):
    q = StringField(_l("Username or name"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("Role"), choices=options([("", _l("Any role"))] + Role.choices()))
    active = SelectField(_l("State"), choices=options([("", _l("Any")), ("yes", _l("Enabled")),
                                                        ("no", _l("Deactivated"))]))
