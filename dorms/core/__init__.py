"""Shared building blocks: column types, enumerations, errors, access checks."""
