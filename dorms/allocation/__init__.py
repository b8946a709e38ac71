"""Room allocation for a term: a staged solver with a local search, bounded by an OR-Tools LP relaxation.

Keeps classes together, honours mutual roommate requests, "do not room
with" and preferences, and moves as few residents as possible; also runs
swap and move request rounds. The solver itself is a pure data-in,
data-out module that is tested without Flask; runs, proposals, apply and
rollback live around it. (Built by the allocation engine issue.)
"""
