"""A run's findings (explain.py's codes) in the reader's language, with names and room codes."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..campus.models import Room
from ..core.enums import Gender
from ..extensions import db
from ..students.models import Student

MESSAGES = {
    "short_beds": _l("%(students)d %(gender)s students but only %(beds)d beds that can take them: "
                     "%(missing)d cannot be placed."),
    "short_accessible": _l("%(students)d %(gender)s students need an accessible room but only %(beds)d "
                           "accessible beds can take them."),
    "locked_no_room": _l("%(student)s is kept in place but has no bed in the run's buildings."),
    "locked_closed": _l("%(student)s is kept in room %(room)s, which is closed."),
    "locked_gender": _l("%(student)s is kept in room %(room)s, which is now for %(gender)s students."),
    "locked_over": _l("%(students)d students are kept in room %(room)s, which has %(beds)d beds."),
    "locked_mixed": _l("Students of both genders are kept in room %(room)s."),
    "locked_avoid": _l("%(student)s and %(other)s are both kept in room %(room)s, but one asked never to room "
                       "with the other."),
}


def describe_findings(findings: list) -> list[str]:
    """Stored findings as sentences; students and rooms are looked up once for all of them."""
    coded = [f for f in findings if isinstance(f, dict) and f.get("code") in MESSAGES]
    student_ids = {int(f["params"][k]) for f in coded for k in ("student", "other") if k in f["params"]}
    room_ids = {int(f["params"]["room"]) for f in coded if "room" in f["params"]}
    students = {str(s.id): s.display for s in db.session.scalars(sa.select(Student).where(Student.id.in_(student_ids)))}
    rooms = {str(r.id): r.code for r in db.session.scalars(sa.select(Room).where(Room.id.in_(room_ids)))}
    sentences = []
    for finding in findings:
        if not isinstance(finding, dict) or finding.get("code") not in MESSAGES:
            sentences.append(str(finding))  # a run stored before findings had codes
            continue
        params = dict(finding["params"])
        for key in ("student", "other"):
            if key in params:
                params[key] = students.get(str(params[key]), params[key])
        if "room" in params:
            params["room"] = rooms.get(str(params["room"]), params["room"])
        if "gender" in params:
            params["gender"] = Gender(params["gender"]).label.lower()
        sentences.append(str(MESSAGES[finding["code"]]) % params)
    return sentences
