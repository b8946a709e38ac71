"""ZKTeco devices pushing to /iclock: registered by serial number with where they stand and their clock's zone."""
from __future__ import annotations

import ipaddress
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..campus.codes import find_building
from ..core.errors import ServiceError
from ..extensions import db
from .models import AccessDevice


def register_device(serial_number: str, building: str, networks: str, door: str = "",
                    timezone: str = "Asia/Shanghai", actor=None) -> AccessDevice:
    """Register a device, or move an existing one (same serial number). ``networks``: where it pushes from."""
    serial_number, building = serial_number.strip(), building.strip()
    if not serial_number or not building:
        raise ServiceError(_("A device needs its serial number and building."))
    # A building of the campus written in any letter case ("a1") is stored as the campus writes it.
    found = find_building(building)
    building = found.code if found is not None else building
    parts = [n.strip() for n in networks.split(",") if n.strip()]
    try:
        for part in parts:
            ipaddress.ip_network(part, strict=False)
    except ValueError as error:
        raise ServiceError(_("%(network)s is not an address or network (e.g. 10.20.0.0/16).",
                             network=str(error).split("'")[1] if "'" in str(error) else networks)) from error
    if not parts:
        raise ServiceError(_("Say which address or network the device pushes from: the serial number alone "
                             "proves nothing."))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ServiceError(_("%(zone)s is not a time zone (for example Asia/Shanghai).", zone=timezone)) from error
    device = db.session.scalar(sa.select(AccessDevice).where(AccessDevice.serial_number == serial_number))
    if device is None:
        device = AccessDevice(serial_number=serial_number)
        db.session.add(device)
    device.building, device.door, device.timezone, device.active = building, door.strip(), timezone, True
    device.networks = ", ".join(parts)
    db.session.flush()
    audit.record("access.device.register", serial_number=serial_number, building=building, door=device.door,
                 actor=actor)
    return device


def devices() -> list[AccessDevice]:
    return list(db.session.scalars(sa.select(AccessDevice).order_by(AccessDevice.serial_number)))
