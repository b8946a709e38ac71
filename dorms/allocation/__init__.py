"""Allocation runs for a term: a run is queued, solved in its own process, proposed, applied and rolled back.

The solver itself is the pure package dorms.solver; this package reads the
campus into its Instance, stores the proposal and its moves, and words the
solver's findings for staff (describe.py). Swap and move request rounds run
here too, on roomchange's requests round. See docs/allocation.md.
"""
