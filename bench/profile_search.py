#!/usr/bin/env python3
"""Profile the solver on one instance file: `python bench/profile_search.py bench/out/S-intake-s7.json [limit]`."""
import cProfile
import json
import pstats
import sys
import time

from dorms.solver.pipeline import solve
from dorms.solver.problem import Instance

with open(sys.argv[1]) as f:
    instance = Instance.from_dict(json.load(f))
limit = float(sys.argv[2]) if len(sys.argv) > 2 else 10
profiler = cProfile.Profile()
started = time.monotonic()
profiler.enable()
solution = solve(instance, time_limit=limit, seed=0)
profiler.disable()
print(solution.objective, solution.counts, f"{time.monotonic() - started:.1f}s")
pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
