"""Curfew rules and the calendar they follow: curfew times, holidays, term dates (housing office only)."""
from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..campus.models import Building
from ..core.enums import Gender
from ..core.errors import ServiceError
from ..extensions import db
from ..students.models import Term
from . import rollup
from .models import CurfewRule, NoCurfewNight


def set_rule(curfew: time, *, weekend: bool, building: Building | None = None, gender: Gender | None = None,
             actor=None) -> CurfewRule:
    """Set the curfew for weeknights or weekend nights, campus-wide or for a building and/or gender."""
    if time(6) < curfew < time(18):
        raise ServiceError(_("A curfew is in the evening or after midnight, not at %(time)s.",
                             time=curfew.strftime("%H:%M")))
    rule = db.session.scalar(sa.select(CurfewRule).where(
        CurfewRule.building_id.is_(None) if building is None else CurfewRule.building_id == building.id,
        CurfewRule.gender.is_(None) if gender is None else CurfewRule.gender == gender,
        CurfewRule.weekend.is_(weekend)))
    if rule is None:
        rule = CurfewRule(building_id=building.id if building else None, gender=gender, weekend=weekend,
                          curfew=curfew)
        db.session.add(rule)
    rule.curfew = curfew
    db.session.flush()
    rollup.invalidate()
    audit.record("curfew.rule.set", building=building.code if building else None,
                 gender=gender.value if gender else None, weekend=weekend, curfew=curfew.strftime("%H:%M"),
                 actor=actor)
    return rule


def delete_rule(rule: CurfewRule, actor=None) -> None:
    audit.record("curfew.rule.delete", rule=rule.id, curfew=rule.curfew.strftime("%H:%M"), actor=actor)
    db.session.delete(rule)
    rollup.invalidate()


def rules() -> list[CurfewRule]:
    return list(db.session.scalars(sa.select(CurfewRule).order_by(
        CurfewRule.building_id.is_not(None), CurfewRule.building_id, CurfewRule.gender.is_not(None),
        CurfewRule.weekend)))


def add_holiday(night: date, name: str, actor=None) -> NoCurfewNight:
    if db.session.get(NoCurfewNight, night) is not None:
        raise ServiceError(_("%(night)s is already a night without curfew.", night=night.isoformat()))
    holiday = NoCurfewNight(night=night, name=name.strip()[:120])
    db.session.add(holiday)
    audit.record("curfew.holiday.add", night=night.isoformat(), name=holiday.name, actor=actor)
    rollup.invalidate(night, night)
    return holiday


def remove_holiday(holiday: NoCurfewNight, actor=None) -> None:
    audit.record("curfew.holiday.remove", night=holiday.night.isoformat(), actor=actor)
    rollup.invalidate(holiday.night, holiday.night)
    db.session.delete(holiday)


def holidays() -> list[NoCurfewNight]:
    return list(db.session.scalars(sa.select(NoCurfewNight).order_by(NoCurfewNight.night)))


def add_term(code: str, name: str, starts_on: date, ends_on: date, actor=None) -> Term:
    code = code.strip()
    if not code or ends_on <= starts_on:
        raise ServiceError(_("A term needs a code and an end after its start."))
    if db.session.scalar(sa.select(Term.id).where(Term.code == code)):
        raise ServiceError(_("The term %(code)s exists already.", code=code))
    overlap = db.session.scalar(sa.select(Term).where(Term.starts_on <= ends_on, Term.ends_on >= starts_on))
    if overlap is not None:
        raise ServiceError(_("It overlaps the term %(code)s (%(start)s – %(end)s).", code=overlap.code,
                             start=overlap.starts_on.isoformat(), end=overlap.ends_on.isoformat()))
    term = Term(code=code, name=name.strip() or code, starts_on=starts_on, ends_on=ends_on)
    db.session.add(term)
    rollup.invalidate(starts_on, ends_on)
    audit.record("term.add", code=code, starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat(), actor=actor)
    return term


def terms() -> list[Term]:
    return list(db.session.scalars(sa.select(Term).order_by(Term.starts_on.desc())))
