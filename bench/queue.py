#!/usr/bin/env python3
"""Job queue benchmark: jobs a second through Redis (enqueue → worker → succeeded row) beside baselines, in one run.

Each row runs N no-op jobs:

- the no-op called in-process: what the work itself costs;
- enqueue, commit and perform in-process, no queue: our bookkeeping alone (a row written, claimed, marked);
- bare RQ: `rq worker` processes (SimpleWorker) running a stdlib no-op, no database: the queue alone;
- dorms on RQ: `dorms worker` processes, each job a row from enqueue to "succeeded";
- dorms without Redis: local workers polling the jobs table (the embedded default).

Workers are started and ready before the clock starts; the producer commits one job at a time, as requests do.

    .venv/bin/python bench/queue.py                                    # 1,000 jobs, 2 workers, PostgreSQL
    .venv/bin/python bench/queue.py --jobs 300 --workers 1 --database sqlite
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on the path, and this file would shadow the standard `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from rq import Queue  # noqa: E402

from dorms import create_app, jobs  # noqa: E402
from dorms.extensions import db  # noqa: E402
from dorms.jobs.models import Job, JobStatus  # noqa: E402

POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/dorms_bench_queue"
REDIS = os.environ.get("DORMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
NOOP = "bench.noop"
# A worker process with the benchmark's no-op task registered, then `dorms worker`.
WORKER = ("from dorms import jobs; jobs.task('bench.noop')(lambda context: None); "
          "from dorms.cli import main; main()")


def noop(context) -> None:
    return None


jobs.task(NOOP)(noop)


def _database(choice: str, folder: Path) -> str:
    if choice == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    url = sa.engine.make_url(POSTGRESQL)
    admin = sa.create_engine(url.set(database="postgres", drivername="postgresql+psycopg"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return POSTGRESQL


def _start_workers(count: int, command: list[str], environment: dict) -> list[subprocess.Popen]:
    return [subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(count)]


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


def _wait_until(ready, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.01)


def _rq_workers_ready(connection, name: str, count: int):
    from rq import Worker

    return lambda: Worker.count(connection=connection, queue=Queue(name, connection=connection)) >= count


def _succeeded() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(Job.id)).where(Job.status == JobStatus.SUCCEEDED))


def _produce_and_wait(count: int) -> float:
    """Enqueue ``count`` no-op jobs, one commit each; seconds until every one has succeeded."""
    db.session.execute(sa.delete(Job))
    db.session.commit()
    started = time.perf_counter()
    for _ in range(count):
        jobs.enqueue(NOOP)
        db.session.commit()
    _wait_until(lambda: _succeeded() >= count, f"{count} jobs to succeed", seconds=600)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    options = parser.parse_args()
    count, workers = options.jobs, options.workers
    folder = Path(tempfile.mkdtemp(prefix="dorms-bench-queue-"))
    url = _database(options.database, folder)
    name = f"dorms-bench-{uuid.uuid4().hex[:8]}"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "DORMS_DATABASE_URL": url, "DORMS_SECRET_KEY": "bench",
                   "DORMS_INSTANCE_PATH": str(folder), "DORMS_JOBS_QUEUE": name}
    connection = redis.Redis.from_url(REDIS)
    rows = []

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "JOBS_QUEUE": name},
                     instance_path=str(folder))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()

        started = time.perf_counter()
        for _ in range(count):
            noop(None)
        rows.append(("the no-op called in-process", time.perf_counter() - started))

        db.session.execute(sa.delete(Job))
        db.session.commit()
        started = time.perf_counter()
        for _ in range(count):
            job = jobs.enqueue(NOOP)
            db.session.commit()
            jobs.perform(job.id)
        rows.append(("enqueue + commit + perform in-process (no queue)", time.perf_counter() - started))

        bare = Queue(f"{name}-bare", connection=connection)
        rq_workers = _start_workers(workers, [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.SimpleWorker",
                                              "--url", REDIS, bare.name], environment)
        try:
            _wait_until(_rq_workers_ready(connection, bare.name, workers), "the rq workers")
            started = time.perf_counter()
            for _ in range(count):
                bare.enqueue("operator.truth", 1, result_ttl=60)
            _wait_until(lambda: bare.finished_job_registry.count >= count, "bare RQ", seconds=600)
            rows.append((f"bare RQ: enqueue → `rq worker` ×{workers} (no database)", time.perf_counter() - started))
        finally:
            _stop(rq_workers)

        app.config["REDIS_URL"] = REDIS
        dorms_workers = _start_workers(workers, [sys.executable, "-c", WORKER, "worker"],
                                       {**environment, "DORMS_REDIS_URL": REDIS})
        try:
            _wait_until(_rq_workers_ready(connection, name, workers), "the dorms workers")
            rows.append((f"dorms on RQ: enqueue → `dorms worker` ×{workers} → succeeded row",
                         _produce_and_wait(count)))
        finally:
            _stop(dorms_workers)

        app.config["REDIS_URL"] = None
        local_workers = _start_workers(workers, [sys.executable, "-c", WORKER, "worker"], environment)
        try:
            time.sleep(5)  # nothing to wait on: they start and poll the table
            rows.append((f"dorms without Redis: local workers ×{workers} polling the table",
                         _produce_and_wait(count)))
        finally:
            _stop(local_workers)
        db.engine.dispose()

    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)
    print(f"{count} jobs, {workers} workers, {options.database}")
    print(f"| {'what':<70} | {'seconds':>8} | {'jobs a second':>13} |")
    print(f"| {'-' * 70} | {'-' * 7}: | {'-' * 12}: |")
    for what, seconds in rows:
        print(f"| {what:<70} | {seconds:8.2f} | {count / seconds:13,.0f} |")


if __name__ == "__main__":
    main()
