"""`dorms allocation`: runs on the campus from the command line, and the solver on benchmark files
(their format: docs/allocation.md)."""
import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..campus.models import Building
from ..core.errors import ServiceError
from ..extensions import db
from ..solver.pipeline import calibrate, solve
from ..solver.problem import Instance
from .models import AllocationRun, RunMode, RunStatus
from .services import apply_run, bed_changes, create_run, execute_run, rollback_run


@click.group("allocation", help="Room allocation.")
def allocation_cli():
    pass


@allocation_cli.command("run")
@click.argument("run_id", type=int)
@with_appcontext
def run_command(run_id):
    """Execute a queued allocation run (the web app starts this in its own process)."""
    run = execute_run(run_id)
    click.echo(f"run {run.id}: {run.status.value}, objective {run.objective}", err=True)


@allocation_cli.command("start")
@click.argument("mode", type=click.Choice(["intake", "reallocation", "requests"]))
@click.option("--building", "buildings", multiple=True, help="Building code; repeat for several (none: all).")
@click.option("--time-limit", type=int, default=60, show_default=True, help="Seconds.")
@click.option("--lock", "locked", multiple=True, help="Student number to keep in their bed; repeat for several.")
@click.option("--grade", "grades", multiple=True, type=int, help="Only students who entered in this year.")
@click.option("--college", "colleges", multiple=True, help="Only students of this college.")
@click.option("--class", "classes", multiple=True, help="Only students of this class.")
@with_appcontext
def start_command(mode, buildings, time_limit, locked, grades, colleges, classes):
    """Create a run and solve it here; the proposal waits for `dorms allocation apply RUN_ID` (or the page)."""
    # Codes as typed, in any letter case (a1 is A1).
    ids = dict(db.session.execute(sa.select(sa.func.upper(Building.code), Building.id)
                                  .where(sa.func.upper(Building.code).in_([c.upper() for c in buildings]))).all())
    unknown = [code for code in buildings if code.upper() not in ids]
    if unknown:
        raise click.ClickException(f"no building {', '.join(unknown)}")
    try:
        run = create_run(mode=RunMode(mode), building_ids=list(ids.values()), time_limit=time_limit,
                         locked_numbers=list(locked),
                         student_scope={"grades": list(grades), "colleges": list(colleges), "classes": list(classes)})
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    run = execute_run(run.id)
    click.echo(f"run {run.id}: {run.status.value}; {len(run.moves)} lines in the proposal "
               f"(/allocation/runs/{run.id})")
    for name, value in (run.terms or {}).items():
        click.echo(f"  {name}: {value}")
    if run.status != RunStatus.DONE:
        raise click.ClickException(run.error or run.status.value)


def _act_on_run(run_id: int, action, done: str, question: str, yes: bool) -> None:
    run = db.session.get(AllocationRun, run_id)
    if run is None:
        raise click.ClickException(f"no run {run_id}")
    if not yes:  # many students change bed at once: say how many first
        click.confirm(question.format(run=run_id, count=bed_changes(run)), abort=True)
    try:
        count = action(run)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    click.echo(done.format(run=run_id, count=count))


@allocation_cli.command("apply")
@click.argument("run_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def apply_command(run_id, yes):
    """Apply a finished proposal, all of it or nothing."""
    _act_on_run(run_id, apply_run, "run {run}: applied, {count} students changed bed",
                "Apply run {run}: {count} students change bed?", yes)


@allocation_cli.command("rollback")
@click.argument("run_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def rollback_command(run_id, yes):
    """Put everyone an applied run moved back where it found them."""
    _act_on_run(run_id, rollback_run, "run {run}: rolled back, {count} students are back where they were",
                "Roll back run {run}: {count} students go back to their earlier beds?", yes)


WORK_RATE_HELP = ("This machine's search speed, from `dorms allocation calibrate` (default: the conservative "
                  "built-in rates). The same input, seed and rate give the same result.")


def _read_instance(instance_file: Path) -> Instance:
    try:
        return Instance.from_dict(json.loads(instance_file.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"{instance_file}: not an instance file ({error})") from error


@allocation_cli.command("solve")
@click.argument("instance_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the plan (format: docs/allocation.md).")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--work-rate", type=click.IntRange(min=1), envvar="DORMS_ALLOCATION_WORK_RATE", help=WORK_RATE_HELP)
@click.option("--quiet", is_flag=True, help="No progress lines.")
def solve_command(instance_file, output, time_limit, seed, work_rate, quiet):
    """Solve INSTANCE_FILE and write the assignment; a summary goes to standard error."""
    instance = _read_instance(instance_file)

    def progress(stage: str, fraction: float) -> None:
        if not quiet:
            click.echo(f"{fraction:4.0%} {stage}", err=True)

    solution = solve(instance, time_limit=time_limit, seed=seed, progress=progress, work_rate=work_rate)
    output.write_text(json.dumps(solution.as_result(), ensure_ascii=False), encoding="utf-8")
    for reason in solution.explanations:
        click.echo(f"cannot be met: {reason}", err=True)
    terms = ", ".join(f"{k} {v}" for k, v in solution.terms.items())
    click.echo(f"{instance.name or instance_file.name}: objective {solution.objective} ({terms}); "
               f"greedy {solution.greedy_objective}; bound {solution.bound}, gap {solution.gap:.1%}; "
               f"{solution.method}, {solution.seconds:.1f} s", err=True)
    sys.stderr.flush()


@allocation_cli.command("calibrate")
@click.argument("instance_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--time-limit", type=float, default=60.0, show_default=True,
              help="Seconds; the limit the solver will be given.")
def calibrate_command(instance_file, time_limit):
    """Measure this machine's search speed on INSTANCE_FILE (a campus of the size you will solve).

    Prints the work rate for `solve --work-rate`, DORMS_ALLOCATION_WORK_RATE or the app's
    ALLOCATION_WORK_RATE setting: on a fast machine the solver then uses its whole time limit."""
    click.echo(calibrate(_read_instance(instance_file), time_limit=time_limit))
