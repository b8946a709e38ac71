from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.database import enum_column_type
from ..core.enums import BedType, Gender, GenderPolicy, RoomStatus
from ..extensions import db


class Campus(db.Model):
    """A campus or zone (校区/园区) grouping buildings."""

    __tablename__ = "campuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))

    buildings: Mapped[list[Building]] = relationship(back_populates="campus", order_by="Building.code")


class Building(db.Model):
    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    gender_policy: Mapped[GenderPolicy] = mapped_column(
        enum_column_type(GenderPolicy, "gender_policy"), default=GenderPolicy.MIXED
    )

    campus: Mapped[Campus] = relationship(back_populates="buildings")
    floors: Mapped[list[Floor]] = relationship(back_populates="building", order_by="Floor.number")
    rooms: Mapped[list[Room]] = relationship(back_populates="building", viewonly=True, order_by="Room.number")


class ManagedBuilding(db.Model):
    """A building manager's (楼长/宿管员) building: they see and run only the buildings listed here.

    The row carries the account's role and points at (users.id, users.role), so the database itself keeps
    these rows to building-manager accounts: a role change away leaves none behind (the service clears them)."""

    __tablename__ = "managed_buildings"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "role"], ["users.id", "users.role"], ondelete="CASCADE",
                                name="fk_managed_buildings_user_role"),
        sa.CheckConstraint("role = 'building_manager'", name="building_manager"),
    )

    user_id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    role: Mapped[str] = mapped_column(sa.String(16), default="building_manager")

    building: Mapped[Building] = relationship()


class Floor(db.Model):
    __tablename__ = "floors"
    __table_args__ = (
        sa.UniqueConstraint("building_id", "number"),
        # Target of rooms' composite key, so a room's floor is in the room's building.
        sa.UniqueConstraint("id", "building_id", name="uq_floors_id_building_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("buildings.id"))
    number: Mapped[int]

    building: Mapped[Building] = relationship(back_populates="floors")
    rooms: Mapped[list[Room]] = relationship(back_populates="floor", order_by="Room.number")


class Room(db.Model):
    __tablename__ = "rooms"
    __table_args__ = (
        sa.UniqueConstraint("building_id", "number"),
        sa.ForeignKeyConstraint(
            ["floor_id", "building_id"],
            ["floors.id", "floors.building_id"],
            name="fk_rooms_floor_id_building_id_floors",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("buildings.id"))
    floor_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[str] = mapped_column(sa.String(16))
    room_type: Mapped[str] = mapped_column(sa.String(32), default="standard")
    # None: any gender, but the occupants of one room always share one.
    gender: Mapped[Gender | None] = mapped_column(enum_column_type(Gender, "gender"))
    accessible: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RoomStatus] = mapped_column(
        enum_column_type(RoomStatus, "room_status"), default=RoomStatus.OPEN
    )
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    building: Mapped[Building] = relationship(back_populates="rooms", overlaps="floor,rooms")
    floor: Mapped[Floor] = relationship(back_populates="rooms", overlaps="building,rooms")
    beds: Mapped[list[Bed]] = relationship(
        back_populates="room", order_by="Bed.label", cascade="all, delete-orphan"
    )

    @property
    def code(self) -> str:
        return f"{self.building.code}-{self.number}"

    @property
    def active_beds(self) -> list[Bed]:
        return [bed for bed in self.beds if bed.active]

    @property
    def capacity(self) -> int:
        return len(self.active_beds)

    @property
    def declared_gender(self) -> Gender | None:
        """The gender the room or its building is set aside for, if any."""
        if self.gender is not None:
            return self.gender
        if self.building.gender_policy != GenderPolicy.MIXED:
            return Gender(self.building.gender_policy.value)
        return None

    @property
    def is_open(self) -> bool:
        return self.status == RoomStatus.OPEN


class Bed(db.Model):
    __tablename__ = "beds"
    __table_args__ = (sa.UniqueConstraint("room_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"))
    label: Mapped[str] = mapped_column(sa.String(8))
    bed_type: Mapped[BedType | None] = mapped_column(enum_column_type(BedType, "bed_type"))
    # Beds taken out of use keep their history instead of being deleted.
    active: Mapped[bool] = mapped_column(default=True)

    room: Mapped[Room] = relationship(back_populates="beds")

    @property
    def code(self) -> str:
        return f"{self.room.code}-{self.label}"
