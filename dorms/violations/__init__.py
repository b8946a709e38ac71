"""Violations (违纪): a catalogue of types, records naming students and/or a room, and their workflow."""
