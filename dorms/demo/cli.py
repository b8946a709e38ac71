import click
from flask.cli import with_appcontext

from ..extensions import db
from .seed import DemoLogins, demo_counts, demo_present, existing_logins, seed_demo


def _echo_logins(logins: DemoLogins) -> None:
    for role, username, password in logins.rows():
        click.echo(f"{role}: {username} / {password}")


@click.command("demo")
@click.option("--students", "student_count", type=click.IntRange(min=100), default=None,
              help="A campus of this many students instead of the demo's 900 (e.g. 20000 for bench/pages.py).")
@with_appcontext
def demo_command(student_count):
    """Fill an empty database with a demo campus, students and accounts."""
    if demo_present():
        click.echo("The demo campus is already there.")
        _echo_logins(existing_logins())
        return
    logins = seed_demo(student_count=student_count)
    db.session.commit()
    counts = demo_counts()
    click.echo(
        f"Demo campus created: {counts['buildings']} buildings, {counts['rooms']} rooms, "
        f"{counts['beds']} beds, {counts['students']} students, {counts['free_beds']} free beds."
    )
    _echo_logins(logins)
