#!/usr/bin/env python3
"""Allocation benchmark: our solver and the greedy baseline on the same gen.py instances, in one run.

Both are scored by the benchmark's own check.py. Prints objective, avoidable
objective (reallocation), each term, time and peak memory, and the ratio to greedy.

    .venv/bin/python bench/allocation.py                 # S, M and L, both modes
    .venv/bin/python bench/allocation.py --sizes S       # quick

Each size first calibrates the solver's work rate on this machine (`dorms allocation calibrate`, on
an instance of another seed), so that the solver uses its time limit here; `--no-calibrate` keeps the
built-in conservative rates.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DORMS_SHARED", ROOT.parent / "shared")) / "allocation"
SIZES = {"S": (2_000, 10), "M": (20_000, 60), "L": (50_000, 180)}  # students, solver seconds
GOALS = {("S", "intake"): 0.35, ("M", "intake"): 0.40, ("M", "reallocation"): 0.85}


def run(command: list[str], stdout=None) -> tuple[float, float]:
    """Run a command; returns (wall seconds, peak resident memory in MiB) of that process."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=stdout)
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def check(instance: Path, result: Path) -> dict:
    output = subprocess.run([sys.executable, str(SHARED / "check.py"), str(instance), str(result), "--json"],
                            check=False, capture_output=True, text=True)
    return json.loads(output.stdout)


def generate(out: Path, size: str, mode: str, seed: int) -> Path:
    instance = out / f"{size}-{mode}-s{seed}.json"
    if not instance.exists():
        with open(instance, "w") as f:
            run([sys.executable, str(SHARED / "gen.py"), "--students", str(SIZES[size][0]), "--mode", mode,
                 "--seed", str(seed)], stdout=f)
    return instance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--modes", default="intake,reallocation")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--no-calibrate", dest="calibrate", action="store_false")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"{'instance':<22} {'who':<7} {'valid':<5} {'objective':>9} {'avoidable':>9} {'ratio':>6} "
              f"{'goal':>5} {'unassigned':>10} {'moves':>6} {'pairs':>6} {'cls/room':>8} {'cls/bldg':>8} "
              f"{'pref':>6} {'life':>5} {'time s':>7} {'peak MiB':>8}")
    print(header)
    for size in args.sizes.split(","):
        limit = SIZES[size][1]
        rate = []
        if args.calibrate:
            sample = generate(args.out, size, "intake", args.seed + 1000)
            rate = subprocess.run([sys.executable, "-m", "dorms.allocation", "calibrate", str(sample),
                                   "--time-limit", str(limit)], capture_output=True, text=True, check=True).stdout
            print(f"# {size}: work rate {int(rate):,} a second (calibrated on {sample.name})", flush=True)
            rate = ["--work-rate", rate.strip()]
        for mode in args.modes.split(","):
            name = f"{size}-{mode}"
            instance = generate(args.out, size, mode, args.seed)
            rows = {}
            greedy_result = args.out / f"{name}.greedy.json"
            with open(greedy_result, "w") as f:
                rows["greedy"] = run([sys.executable, str(SHARED / "greedy.py"), str(instance)], stdout=f)
            ours = args.out / f"{name}.dorms.json"
            rows["dorms"] = run([sys.executable, "-m", "dorms.allocation", "solve", str(instance), "-o", str(ours),
                                 "--time-limit", str(limit), "--seed", "0", "--quiet", *rate])
            scores = {"greedy": check(instance, greedy_result), "dorms": check(instance, ours)}
            key = "avoidable" if mode == "reallocation" else "objective"
            for who in ("greedy", "dorms"):
                s, (seconds, peak) = scores[who], rows[who]
                c = s["counts"]
                ratio = s[key] / scores["greedy"][key]
                goal = GOALS.get((size, mode))
                print(f"{name:<22} {who:<7} {s['valid']!s:<5} {s['objective']:>9} {s['avoidable']:>9} "
                      f"{ratio:>6.3f} {goal if goal and who == 'dorms' else '':>5} {c['unassigned']:>10} "
                      f"{c['moves']:>6} {c['broken_pairs']:>6} {c['class_room']:>8} {c['class_building']:>8} "
                      f"{c['preference']:>6} {c['lifestyle']:>5} {seconds:>7.1f} {peak:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
