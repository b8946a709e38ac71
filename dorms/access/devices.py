"""ZKTeco devices pushing to /iclock: registered by serial number with where they stand and their clock's zone."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit import service as audit
from ..core.errors import ServiceError
from ..extensions import db
from .models import AccessDevice


def register_device(serial_number: str, building: str, door: str = "", timezone: str = "Asia/Shanghai",
                    actor=None) -> AccessDevice:
    """Register a device, or move an existing one (same serial number)."""
    serial_number, building = serial_number.strip(), building.strip()
    if not serial_number or not building:
        raise ServiceError(_("A device needs its serial number and building."))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ServiceError(_("%(zone)s is not a time zone (for example Asia/Shanghai).", zone=timezone)) from error
    device = db.session.scalar(sa.select(AccessDevice).where(AccessDevice.serial_number == serial_number))
    if device is None:
        device = AccessDevice(serial_number=serial_number)
        db.session.add(device)
    device.building, device.door, device.timezone, device.active = building, door.strip(), timezone, True
    db.session.flush()
    audit.record("access.device.register", serial_number=serial_number, building=building, door=device.door,
                 actor=actor)
    return device


def devices() -> list[AccessDevice]:
    return list(db.session.scalars(sa.select(AccessDevice).order_by(AccessDevice.serial_number)))
