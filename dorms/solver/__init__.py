"""The room-allocation solver and the requests exchange: pure data in, data out.

No Flask, no database and no other dorms package: an Instance (problem.py)
goes in, a Solution (pipeline.solve) or an exchange Outcome (exchange.py)
comes out, and the allocation runs and the requests round (allocation/,
roomchange/) read the campus, call it and word its findings. What it
optimises and why is told in docs/allocation.md.

- problem.py: the instance, its benchmark file format and the objective (score)
- greedy.py: first fit, the baseline and safety net
- pipeline.py: solve, the staged solver (who stays, units, buildings, beds, search)
- search.py: the local search on the exact objective, budgeted in work units
- bound.py: the linear relaxation that bounds the objective from below
- explain.py: why some students cannot be placed, as codes and figures
- exchange.py: top trading cycles, for swap and move requests
"""
