#!/usr/bin/env python3
"""Seconds the final search takes against its budget: `python bench/time_search.py INSTANCE LIMIT`.

WORK_RATES in dorms/solver/search.py is calibrated with this (the search should use about its seconds)."""
import json
import sys
import time

from dorms.solver import pipeline, search
from dorms.solver.problem import Instance

with open(sys.argv[1]) as f:
    instance = Instance.from_dict(json.load(f))
limit = float(sys.argv[2])
inner = search.local_search
searches = []


class CountedSearch(search.Search):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        searches.append(self)


search.Search = CountedSearch


def timed(*args, **kwargs):
    started = time.monotonic()
    result = inner(*args, **kwargs)
    seconds = time.monotonic() - started
    work = searches[-1].work
    print(f"search: {seconds:.1f} s for a budget of {args[3]:.1f} s; {work:,} work, {work / seconds:,.0f} a second",
          flush=True)
    return result


pipeline.local_search = timed
started = time.monotonic()
solution = pipeline.solve(instance, time_limit=limit, seed=0)
print(f"objective {solution.objective} {solution.counts} total {time.monotonic() - started:.1f} s")
