"""`dorms allocation solve`: the solver on SPEC.md instance files, for benchmarks."""
import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from .problem import Instance
from .solver import solve


@click.group("allocation", help="Room allocation.")
def allocation_cli():
    pass


@allocation_cli.command("run")
@click.argument("run_id", type=int)
@with_appcontext
def run_command(run_id):
    """Execute a queued allocation run (the web app starts this in its own process)."""
    from .services import execute_run

    run = execute_run(run_id)
    click.echo(f"run {run.id}: {run.status.value}, objective {run.objective}", err=True)


@allocation_cli.command("solve")
@click.argument("instance_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the result (SPEC.md's format).")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress lines.")
def solve_command(instance_file, output, time_limit, seed, quiet):
    """Solve INSTANCE_FILE and write the assignment; a summary goes to standard error."""
    try:
        instance = Instance.from_dict(json.loads(instance_file.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"{instance_file}: not an instance file ({error})") from error

    def progress(stage: str, fraction: float) -> None:
        if not quiet:
            click.echo(f"{fraction:4.0%} {stage}", err=True)

    solution = solve(instance, time_limit=time_limit, seed=seed, progress=progress)
    output.write_text(json.dumps(solution.as_result(), ensure_ascii=False), encoding="utf-8")
    for reason in solution.explanations:
        click.echo(f"cannot be met: {reason}", err=True)
    terms = ", ".join(f"{k} {v}" for k, v in solution.terms.items())
    click.echo(f"{instance.name or instance_file.name}: objective {solution.objective} ({terms}); "
               f"greedy {solution.greedy_objective}; bound {solution.bound}, gap {solution.gap:.1%}; "
               f"{solution.method}, {solution.seconds:.1f} s", err=True)
    sys.stderr.flush()
