#!/usr/bin/env python3
"""Requests round: top trading cycles (our exchange) beside a pairs-only method, on the same synthetic rounds.

Students hold beds; some ask to move, each naming a few acceptable beds, some
beds far more wanted than others (a popular building). Prints, per size, how
many students each method moves, the longest trade, and the time taken.

    .venv/bin/python bench/requests_round.py
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dorms.solver.exchange import Applicant, exchange, pairs_only

SIZES = [(1_000, 100), (5_000, 500), (20_000, 2_000), (50_000, 5_000)]  # beds, students asking


def make_round(beds: int, asking: int, rnd: random.Random) -> tuple[list[Applicant], list[str]]:
    """10% of beds free; each asker names 1-5 beds, a third of all picks going to the 10% most wanted beds."""
    bed_ids = [f"b{n}" for n in range(beds)]
    free = set(rnd.sample(bed_ids, beds // 10))
    held = [b for b in bed_ids if b not in free]
    popular = bed_ids[: beds // 10]
    applicants = []
    for n, bed in enumerate(rnd.sample(held, asking)):
        wants: list[str] = []
        for _ in range(rnd.randint(1, 5)):
            choice = rnd.choice(popular) if rnd.random() < 1 / 3 else rnd.choice(bed_ids)
            if choice != bed and choice not in wants:
                wants.append(choice)
        applicants.append(Applicant(f"s{n}", bed, wants))
    return applicants, sorted(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{'beds':>7} {'asking':>7} {'method':<11} {'moved':>6} {'share':>6} {'longest':>7} {'time ms':>8}")
    for beds, asking in SIZES:
        applicants, free = make_round(beds, asking, random.Random(args.seed))
        started = time.perf_counter()
        outcome = exchange(applicants, free)
        ttc_ms = (time.perf_counter() - started) * 1000
        moved = len(outcome.moved(applicants))
        longest = max((len(c) for c in outcome.cycles), default=0)
        started = time.perf_counter()
        pairs = pairs_only(applicants, free)
        pairs_ms = (time.perf_counter() - started) * 1000
        for method, count, length, ms in (("pairs-only", pairs, 2, pairs_ms), ("exchange", moved, longest, ttc_ms)):
            print(f"{beds:>7} {asking:>7} {method:<11} {count:>6} {count / asking:>6.1%} {length:>7} {ms:>8.1f}")


if __name__ == "__main__":
    main()
