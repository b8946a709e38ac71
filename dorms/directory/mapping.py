"""Which directory attributes fill which student fields, and how their values translate.

A map is a JSON file (DORMS_LDAP_ATTRIBUTE_MAP); docs/directory/ holds a worked example for a
Chinese campus directory. Without one, inetOrgPerson + eduPerson + SCHAC defaults apply
(default-map.json, next to this module).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l

from ..access import cards as card_numbers
from ..core.enums import Gender, StudentStatus

# Student fields a map may fill, with the longest value each column takes.
FIELDS = {"student_number": 32, "directory_id": 128, "name": 120, "gender": None, "college": 120, "major": 120,
          "class_name": 120, "grade": None, "status": None, "phone": 32}
REQUIRED = ("student_number", "name", "gender")
KEYS = ("student_number", "directory_id")

# inetOrgPerson + eduPerson + SCHAC: the student number in employeeNumber, gender as ISO/IEC 5218 in
# schacGender, eduPersonAffiliation for the status. Students are keyed on a stable identifier (the
# student number here): a DN or an eduPersonPrincipalName changes when someone is renamed or moves.
DEFAULT_MAP_FILE = Path(__file__).with_name("default-map.json")


class MapError(ValueError):
    """The attribute map file is unusable (says where)."""


@dataclass
class DirectoryStudent:
    """One directory entry as student fields."""

    dn: str
    key: str
    student_number: str
    name: str
    gender: Gender
    directory_id: str | None = None
    college: str = ""
    major: str = ""
    class_name: str = ""
    grade: int | None = None
    status: StudentStatus = StudentStatus.ACTIVE
    phone: str = ""
    fields: dict = field(default_factory=dict)  # the mapped fields this entry carries, for updates
    cards: list[str] | None = None  # normalised card numbers, when the map names a card attribute
    pins: list[str] | None = None  # door PINs (face, fingerprint, password entries), when it names a PIN one


# Why an entry was skipped: stored as a code with its facts, and worded in the reader's language.
REASONS = {
    "missing_key": _l("missing key: no %(attributes)s"),
    "missing_field": _l("%(field)s: no %(attributes)s"),
    "too_long": _l("%(field)s: longer than %(limit)d characters"),
    "bad_gender": _l("gender: %(value)s is not a known value (%(known)s)"),
    "bad_grade": _l("grade: %(value)s is not a year"),
    "bad_status": _l("status: %(value)s is not a known value"),
    "not_utf8": _l("not UTF-8: %(attributes)s"),
    "bad_card": _l("card: %(value)s is not a card number"),
    "bad_pin": _l("PIN: %(value)s is not a door PIN"),
    "duplicate_key": _l("duplicate key: %(count)d entries have %(key)s"),
    "duplicate_number": _l("duplicate student number %(number)s"),
    "number_taken": _l("student number %(number)s belongs to another student"),
}


@dataclass
class Skipped:
    dn: str
    key: str | None
    code: str  # a key of REASONS
    params: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return describe(self.code, self.params)

    def as_dict(self) -> dict:
        return {"dn": self.dn, "key": self.key, "code": self.code, "params": self.params}


def describe(code: str, params: dict) -> str:
    return str(REASONS[code]) % params


@dataclass
class AttributeMap:
    key: str
    fields: dict[str, list[str]]
    values: dict[str, dict[str, str]]
    counselors: dict[str, list[str]]
    username: str
    cards: list[str] = field(default_factory=list)  # attributes holding the student's door cards
    pins: list[str] = field(default_factory=list)  # attributes holding their door PINs

    @classmethod
    def default(cls) -> AttributeMap:
        return cls.load(DEFAULT_MAP_FILE)

    @classmethod
    def load(cls, path: Path) -> AttributeMap:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise MapError(f"{path}: {error}") from error
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "attribute map") -> AttributeMap:
        if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
            raise MapError(f"{source}: needs a \"fields\" object mapping student fields to attributes")
        unknown = sorted(set(data["fields"]) - set(FIELDS))
        if unknown:
            raise MapError(f"{source}: unknown student fields {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        key = data.get("key", "student_number")
        if key not in KEYS:
            raise MapError(f"{source}: \"key\" must be one of {', '.join(KEYS)}")
        fields = {name: _attribute_list(source, name, attrs) for name, attrs in data["fields"].items()}
        for name in (*REQUIRED, key):
            if name not in fields:
                raise MapError(f"{source}: the field {name} needs an attribute")
        values = {name: {str(k).strip().lower(): str(v) for k, v in table.items()}
                  for name, table in (data.get("values") or {}).items()}
        for raw, target in values.get("gender", {}).items():
            if target not in {g.value for g in Gender}:
                raise MapError(f"{source}: gender value {raw!r} translates to {target!r}, not M or F")
        for raw, target in values.get("status", {}).items():
            if target not in {s.value for s in StudentStatus}:
                raise MapError(f"{source}: status value {raw!r} translates to {target!r}, "
                               f"not one of {', '.join(s.value for s in StudentStatus)}")
        counselors = {name: _attribute_list(source, f"counselors.{name}", attrs)
                      for name, attrs in (data.get("counselors") or {}).items()}
        cards = _attribute_list(source, "cards", data["cards"]) if data.get("cards") else []
        pins = _attribute_list(source, "pins", data["pins"]) if data.get("pins") else []
        return cls(key=key, fields=fields, values=values, counselors=counselors,
                   username=data.get("username", "uid"), cards=cards, pins=pins)

    def attributes(self) -> list[str]:
        """Every attribute to ask the directory for, with the change time incremental syncs need."""
        names = {a for attrs in self.fields.values() for a in attrs} | set(self.cards) | set(self.pins)
        return sorted(names | {"modifyTimestamp"})

    def counselor_attributes(self) -> list[str]:
        return sorted({a for attrs in self.counselors.values() for a in attrs})

    def read(self, dn: str, attributes: dict) -> DirectoryStudent | Skipped:
        """The entry as a student, or why it cannot be one."""
        raw = {name: _first(attributes, attrs) for name, attrs in self.fields.items()}
        key = raw.get(self.key)
        if not key:
            return Skipped(dn, None, "missing_key", {"attributes": " / ".join(self.fields[self.key])})
        for name in REQUIRED:
            if not raw.get(name):
                return Skipped(dn, key, "missing_field", {"field": name, "attributes": " / ".join(self.fields[name])})
        for name, value in raw.items():
            limit = FIELDS[name]
            if limit and value and len(value) > limit:
                return Skipped(dn, key, "too_long", {"field": name, "limit": limit})
        gender = self._translate("gender", raw["gender"])
        if gender is None:
            return Skipped(dn, key, "bad_gender", {"value": repr(raw["gender"]),
                                                   "known": ", ".join(self.values.get("gender", {})) or "M, F"})
        grade = None
        if raw.get("grade"):
            match = re.match(r"\s*(\d{4})", raw["grade"])
            if not match or not 1900 <= int(match.group(1)) <= 2200:
                return Skipped(dn, key, "bad_grade", {"value": repr(raw["grade"])})
            grade = int(match.group(1))
        status = StudentStatus.ACTIVE
        if "status" in self.fields:
            status_values = _all(attributes, self.fields["status"])
            if status_values:
                chosen = self._first_translation("status", status_values)
                if chosen is None:
                    return Skipped(dn, key, "bad_status", {"value": ", ".join(map(repr, status_values))})
                status = StudentStatus(chosen)
        record = DirectoryStudent(
            dn=dn, key=key, student_number=raw["student_number"], name=raw["name"], gender=Gender(gender),
            directory_id=raw.get("directory_id") or None, college=raw.get("college") or "",
            major=raw.get("major") or "", class_name=raw.get("class_name") or "", grade=grade, status=status,
            phone=raw.get("phone") or "")
        record.fields = {name: getattr(record, name) for name in self.fields if name != "directory_id"}
        for kind, attribute_names in (("cards", self.cards), ("pins", self.pins)):
            if not attribute_names:
                continue
            identifiers = []
            for value in _all(attributes, attribute_names):
                try:
                    identifiers.append(card_numbers.normalise(value))
                except ValueError:
                    return Skipped(dn, key, "bad_card" if kind == "cards" else "bad_pin", {"value": repr(value)})
            setattr(record, kind, identifiers)
        return record

    def _translate(self, name: str, value: str) -> str | None:
        table = self.values.get(name)
        if not table:  # no translations: the value must already be ours
            return value if name != "gender" or value in ("M", "F") else None
        return table.get(value.strip().lower())

    def _first_translation(self, name: str, values: list[str]) -> str | None:
        table = self.values.get(name)
        if not table:
            allowed = {s.value for s in StudentStatus}
            return next((v for v in values if v in allowed), None)
        present = {v.strip().lower() for v in values}
        return next((target for raw, target in table.items() if raw in present), None)


def _attribute_list(source: str, name: str, attrs) -> list[str]:
    attrs = [attrs] if isinstance(attrs, str) else attrs
    if not attrs or not all(isinstance(a, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", a) for a in attrs):
        raise MapError(f"{source}: {name} must name an attribute or a list of attributes")
    return list(attrs)


def _all(attributes: dict, names: list[str]) -> list[str]:
    """The values of the first of ``names`` the entry has (``attributes`` is keyed by lower-case name)."""
    for name in names:
        values = attributes.get(name.lower())
        if values:
            return [str(v).strip() for v in (values if isinstance(values, list) else [values]) if str(v).strip()]
    return []


def _first(attributes: dict, names: list[str]) -> str | None:
    values = _all(attributes, names)
    return values[0] if values else None
