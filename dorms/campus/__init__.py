"""The campus: zones, buildings, floors, rooms and beds."""
