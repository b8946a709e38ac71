"""The ``dorms`` console script: Flask's CLI with the app built by create_app()."""
import click
from flask.cli import FlaskGroup
from flask_migrate import cli as migrate_cli

from . import create_app
from .extensions import db
from .hygiene import services as hygiene
from .jobs import schedules
from .jobs.cli import run_command
from .violations import services as violations


def main() -> None:
    group = FlaskGroup(create_app=lambda: create_app(), help="dorms: dormitory management.")
    group.add_command(run_command)  # Flask's, with a local job worker beside it when there is no Redis
    group()


def ensure_defaults() -> dict[str, int]:
    """First run: the usual hygiene checklist and violation types, in the install's language, where there
    never were any, and the usual job schedules missing by name. Idempotent: what the office has (or had and removed) is never duplicated or overwritten.
    The caller commits."""
    return {"checklist_items": hygiene.add_default_checklist(), "violation_types": violations.ensure_default_types(),
            "schedules": schedules.ensure_default_schedules()}


def _upgrade_then_seed(**options) -> None:
    """``dorms db upgrade``: Flask-Migrate's upgrade, then the defaults once the schema is complete."""
    migrate_cli.upgrade.callback(**options)
    if options["sql"] or options["revision"] != "head":
        return  # only SQL printed, or an older schema that may lack the tables
    seeded = ensure_defaults()
    db.session.commit()
    if any(seeded.values()):
        click.echo(f"First run: {seeded['checklist_items']} hygiene checklist items, "
                   f"{seeded['violation_types']} violation types and {seeded['schedules']} job schedules added "
                   "(edit them in the app).")


def db_command() -> click.Group:
    """Flask-Migrate's ``db`` group with an upgrade that also seeds the defaults: the path every install
    takes after installing or updating. A copy, so Flask-Migrate's own group is left as it is."""
    group = migrate_cli.db
    upgrade = click.Command("upgrade", params=migrate_cli.upgrade.params, callback=_upgrade_then_seed,
                            help=f"{migrate_cli.upgrade.help}; on first run, put in the usual hygiene checklist "
                                 "and violation types.")
    return click.Group(group.name, commands={**group.commands, "upgrade": upgrade}, params=group.params,
                       callback=group.callback, help=group.help)
