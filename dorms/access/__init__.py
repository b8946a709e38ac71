"""Door access: events from the access-control system, cards, late-return and overnight permissions, curfew reports."""
