"""Hygiene inspections (卫生检查): rounds, a checklist scored per room, bands, rankings and trends."""
