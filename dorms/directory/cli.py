"""`dorms directory sync`: students and counselors from the campus directory."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..core.errors import ServiceError
from ..extensions import db
from .mapping import describe
from .models import SyncKind, SyncStatus
from .sync import create_run, execute_configured


@click.group("directory", help="The campus directory (LDAP).")
def directory_cli():
    pass


@directory_cli.command("sync")
@click.option("--full", is_flag=True, help="Read every entry (finds who left); default: only entries changed "
                                           "since the last sync.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--force", is_flag=True, help="Go ahead although many students would become inactive.")
@with_appcontext
def sync_command(full, dry_run, force):
    """Create, update and deactivate students (and counselor accounts) as the directory says."""
    try:
        run = create_run(SyncKind.FULL if full else SyncKind.INCREMENTAL, dry_run=dry_run, force=force)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    run = execute_configured(run)
    click.echo(f"directory sync {run.id} ({run.kind.value}{', dry run' if run.dry_run else ''}): "
               f"{run.status.value}; {run.entries} entries read, {run.created} created, {run.updated} updated, "
               f"{run.deactivated} deactivated, {run.unchanged} unchanged, {run.skipped} skipped, "
               f"{run.counselors} counselor accounts changed, {run.cards} cards added or moved")
    for skipped in run.skipped_entries:
        click.echo(f"skipped {skipped['dn']}: {describe(skipped['code'], skipped['params'])}", err=True)
    for resident in run.inactive_residents:
        click.echo(f"inactive but still in bed {resident['bed']}: {resident['student_number']} {resident['name']} "
                   f"({resident['status']})", err=True)
    if run.status != SyncStatus.SUCCEEDED:
        raise click.ClickException(run.error or run.status.value)
