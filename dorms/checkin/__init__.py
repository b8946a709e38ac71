"""Check-in and check-out.

A student with an assignment checks in (bed confirmed, keys and cards
handed out, a room condition report the student acknowledges); check-out
inspects against it, records damages, takes keys back and closes the
assignment. A room change is a check-out and a check-in in one
transaction. (Built by the residence records issue.)
"""
