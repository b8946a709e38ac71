"""Enumerations stored as short strings, with translated labels."""
from __future__ import annotations

import enum

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l


# Labels as translated, by enumeration and language: a page of badges reads the same few labels over and over.
_TRANSLATED: dict[tuple[type, str], dict] = {}


class LabelledEnum(str, enum.Enum):
    @property
    def label(self) -> str:
        key = (type(self), str(get_locale()))
        labels = _TRANSLATED.get(key)
        if labels is None:
            labels = _TRANSLATED[key] = {member: str(label) for member, label in self._labels().items()}
        return labels[self]

    @property
    def lazy_label(self):
        """The label untranslated until read: a notification keeps it and speaks its reader's language."""
        return self._labels()[self]

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, lazy label) pairs for select fields; safe at import time."""
        labels = cls._labels()
        return [(member.value, labels[member]) for member in cls]


class Gender(LabelledEnum):
    MALE = "M"
    FEMALE = "F"

    @classmethod
    def _labels(cls):
        return {cls.MALE: _l("Male"), cls.FEMALE: _l("Female")}


class GenderPolicy(LabelledEnum):
    """Who a building houses; a mixed building still has single-gender rooms."""

    MALE = "M"
    FEMALE = "F"
    MIXED = "mixed"

    @classmethod
    def _labels(cls):
        return {cls.MALE: _l("Male"), cls.FEMALE: _l("Female"), cls.MIXED: _l("Mixed")}


class RoomStatus(LabelledEnum):
    OPEN = "open"
    CLOSED = "closed"

    @classmethod
    def _labels(cls):
        return {cls.OPEN: _l("Open"), cls.CLOSED: _l("Closed")}


class BedType(LabelledEnum):
    BUNK_UPPER = "bunk_upper"
    BUNK_LOWER = "bunk_lower"
    LOFT = "loft"  # 上床下桌: bed above, desk below
    SINGLE = "single"

    @classmethod
    def _labels(cls):
        return {
            cls.BUNK_UPPER: _l("Upper bunk"),
            cls.BUNK_LOWER: _l("Lower bunk"),
            cls.LOFT: _l("Loft bed with desk"),
            cls.SINGLE: _l("Single bed"),
        }


class StudentStatus(LabelledEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    GRADUATED = "graduated"
    WITHDRAWN = "withdrawn"
    LEFT = "left"  # no longer in the campus directory (a full sync found them gone)

    @classmethod
    def _labels(cls):
        return {
            cls.ACTIVE: _l("Active"),
            cls.SUSPENDED: _l("Suspended"),
            cls.GRADUATED: _l("Graduated"),
            cls.WITHDRAWN: _l("Withdrawn"),
            cls.LEFT: _l("Gone from the directory"),
        }


class Role(LabelledEnum):
    STAFF = "staff"
    COUNSELOR = "counselor"
    STUDENT = "student"
    BUILDING_MANAGER = "building_manager"  # 楼长/宿管员: their own buildings only
    INSPECTOR = "inspector"  # hygiene rounds and floor sheets; reads rooms
    REPAIR_WORKER = "repair_worker"  # the repair tickets assigned to them
    AUDITOR = "auditor"  # reads what staff read, changes nothing

    @classmethod
    def _labels(cls):
        return {
            cls.STAFF: _l("Housing office"),
            cls.COUNSELOR: _l("Counselor"),
            cls.STUDENT: _l("Student"),
            cls.BUILDING_MANAGER: _l("Building manager"),
            cls.INSPECTOR: _l("Hygiene inspector"),
            cls.REPAIR_WORKER: _l("Repair worker"),
            cls.AUDITOR: _l("Auditor (read only)"),
        }


class Lifestyle(LabelledEnum):
    """A roommate questionnaire's answer: rooms whose occupants share one are better."""

    EARLY = "early"
    LATE = "late"

    @classmethod
    def _labels(cls):
        return {cls.EARLY: _l("Early sleeper"), cls.LATE: _l("Late sleeper")}


class RequestKind(LabelledEnum):
    WANT = "want"  # would like to room with (counts when mutual)
    AVOID = "avoid"  # must not room with (binding)

    @classmethod
    def _labels(cls):
        return {cls.WANT: _l("Wants to room with"), cls.AVOID: _l("Must not room with")}
