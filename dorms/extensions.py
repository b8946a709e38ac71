"""Flask extensions, created unbound and initialised in create_app()."""
from flask import request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Every constraint gets a predictable name, so Alembic can alter them
# (SQLite's batch mode recreates tables and needs the names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address)


def login_account_address_key() -> str:
    """Rate-limit key for sign-in attempts at one account from one address: failures from elsewhere (someone
    guessing) never lock the account's owner out. The username is cut to the form's length, so a huge one
    makes no huge key."""
    body = request.get_json(silent=True) if request.is_json else None  # the JSON sign-in (auth.api_sign_in)
    typed = body.get("username") if isinstance(body, dict) else request.form.get("username")
    username = (typed if isinstance(typed, str) else "").strip().lower()[:64]
    return f"account:{username}@{get_remote_address()}"


def password_change_key() -> str:
    """Rate-limit key for wrong current passwords on the password page: one signed-in account's tries
    (someone at an unlocked phone must not guess their way to a new password)."""
    return f"password-change:{current_user.get_id()}"
