"""Check-in and check-out (入住/退宿), on top of residence assignments.

A student with a current assignment checks in to its bed, at the desk (staff, ``/checkin/desk``: search
by student number or scanned card) or from their phone (``/checkin/me``, when CHECKIN_SELF_SERVICE is on,
the default). A check-in records the keys and cards handed out and a room condition report: each of the
room's inventory items as found (condition and note), with optional photos. The student acknowledges the
report or disputes items within CHECKIN_ACK_HOURS (default 72); unanswered after that it is deemed
acknowledged. Staff answer disputes, and may correct the check-in condition. One check-in per assignment
(a unique constraint).

Check-out (staff) is only for a checked-in student: the items are inspected against the report (the
inventory follows what was found), damages are charged in integer cents, every key is returned or
missing (a missing one may be charged), then ``residence.vacate`` closes the assignment ("check-out").
A room change is a check-out and ``residence.move`` and a new check-in, as one transaction.

A bed that changes anywhere else (the student page, an allocation run or requests round, an import) goes
through the leaving rule of leaving.py, installed into ``residence.services`` by init_app: refused for a
checked-in student, or checked out in the same transaction, as the office chooses in the check-in settings.

models.py holds the tables, services.py the rules (services flush; views commit once), exports.py the
CSV/XLSX downloads, charts.py the desk's progress chart, demo.py the demo data.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Every change of bed in residence.services obeys the check-in rule (see leaving.py)."""
    from . import leaving  # not on every import of the package: the services pull in half the app

    leaving.install()

