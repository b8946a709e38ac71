"""Bulk import and export of rooms and students (CSV and XLSX)."""
