"""What each person chooses: per kind, which channels; and where their email and robot messages go."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth.models import User
from ..core.errors import ServiceError
from ..extensions import db
from .channels import is_robot_url, robot_url_prefix
from .kinds import kinds_for
from .models import CHOSEN_CHANNELS, ROBOT_SERVICES, Contact, Preference
from .outbox import chosen_channels

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def contact_of(user: User) -> Contact:
    return db.session.get(Contact, user.id) or Contact(user_id=user.id)


def choices_of(user: User) -> dict[str, set[str]]:
    """Each kind of the user's role → the channels it takes besides the app."""
    saved = {p.kind: p for p in db.session.scalars(sa.select(Preference).where(Preference.user_id == user.id))}
    return {kind.name: chosen_channels(kind, saved.get(kind.name)) for kind in kinds_for(user.role)}


def save(user: User, *, email: str, robot_service: str, robot_url: str, robot_secret: str,
         chosen: set[tuple[str, str]]) -> None:
    """``chosen``: the (kind, channel) pairs ticked; every kind of the user's role is saved, ticked or not."""
    email, robot_url, robot_secret = email.strip(), robot_url.strip(), robot_secret.strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise ServiceError(_("%(address)s is not an email address.", address=email))
    if robot_url:
        if robot_service not in ROBOT_SERVICES:
            raise ServiceError(_("Say whether the robot is WeCom's or DingTalk's."))
        if not is_robot_url(robot_service, robot_url):
            raise ServiceError(_("A robot's webhook address starts with %(prefix)s followed by its key "
                                 "(letters, digits, - and _ only).", prefix=robot_url_prefix(robot_service)))
    if len(robot_secret) > 200:
        raise ServiceError(_("The signing secret is at most 200 characters."))
    contact = contact_of(user)
    contact.email = email
    contact.robot_service, contact.robot_url = (robot_service, robot_url) if robot_url else ("", "")
    contact.robot_secret = robot_secret if robot_url else ""
    db.session.add(contact)
    saved = {p.kind: p for p in db.session.scalars(sa.select(Preference).where(Preference.user_id == user.id))}
    for kind in kinds_for(user.role):
        preference = saved.get(kind.name) or Preference(user_id=user.id, kind=kind.name)
        for channel in CHOSEN_CHANNELS:
            setattr(preference, channel, (kind.name, channel) in chosen)
        db.session.add(preference)
    db.session.flush()
