"""`dorms worker`, `dorms scheduler`, `dorms jobs run-now`, and `dorms run` with a local worker beside it."""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys

import click
from flask.cli import ScriptInfo
from flask.cli import run_command as flask_run_command
from flask.cli import with_appcontext

from ..extensions import db
from . import queue, registry, runner, workers
from .models import JobStatus


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--with-scheduler", is_flag=True, help="Without Redis: also run the schedules (as `dorms run` does).")
@click.option("--parent", type=int, hidden=True, help="Stop when this process is gone (`dorms run`'s worker).")
@with_appcontext
def worker_command(burst, with_scheduler, parent):
    """Run jobs: from Redis when DORMS_REDIS_URL is set (start as many as you like, on any machines),
    otherwise from the jobs table."""
    if queue.uses_redis():
        workers.work_with_rq(burst=burst)
    else:
        workers.work_locally(burst=burst, with_scheduler=with_scheduler, parent=parent,
                             stopping=workers.stop_on_signals())


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Queue what is due now, then stop.")
@with_appcontext
def scheduler_command(once):
    """Queue scheduled jobs as their time comes (each slot once, however many schedulers run)."""
    workers.run_scheduler(once=once, stopping=workers.stop_on_signals())


@click.group("jobs", help="Background jobs.")
def jobs_cli():
    pass


def _argument(text: str) -> tuple[str, object]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise click.BadParameter(f"{text!r}: write NAME=VALUE")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value  # a plain word


@jobs_cli.command("run-now")
@click.argument("kind")
@click.option("-a", "--argument", "arguments", multiple=True, help="NAME=VALUE (VALUE in JSON, or a word).")
@with_appcontext
def run_now_command(kind, arguments):
    """Run a job of KIND here and now, recorded like any other (e.g. `dorms jobs run-now access.rollup`)."""
    if registry.find(kind) is None:
        raise click.ClickException(f"no task {kind}; known: {', '.join(sorted(registry.TASKS))}")
    job = queue.enqueue(kind, dict(_argument(a) for a in arguments), hand_over=False)
    db.session.commit()
    status = runner.perform(job.id)
    db.session.refresh(job)
    if status is None:  # a local worker took it first: it runs there
        click.echo(f"job {job.id} ({kind}): taken by a worker, see /jobs/{job.id}")
        return
    click.echo(f"job {job.id} ({kind}): {job.status.value}" + (f"; {json.dumps(job.result)}" if job.result else ""))
    if status != JobStatus.SUCCEEDED:
        raise click.ClickException(job.error or job.status.value)


def _start_local_worker() -> None:
    """Without Redis, `dorms run` starts a worker (with the schedules) beside the server, stopped with it.
    Only in the outer process: the reloader's child serves, the parent watches files."""
    if queue.uses_redis() or os.environ.get("WERKZEUG_RUN_MAIN") or os.environ.get("DORMS_LOCAL_WORKER") == "0":
        return
    worker = subprocess.Popen([sys.executable, "-c", "from dorms.cli import main; main()", "worker",
                               "--with-scheduler", "--parent", str(os.getpid())])
    atexit.register(worker.terminate)


@click.command("run", params=flask_run_command.params, help=f"{flask_run_command.help} Without DORMS_REDIS_URL "
               "a local job worker (with the schedules) starts beside it; DORMS_LOCAL_WORKER=0: none.")
@click.pass_context
def run_command(context, **options):
    with context.find_object(ScriptInfo).load_app().app_context():
        _start_local_worker()
    context.invoke(flask_run_command, **options)
