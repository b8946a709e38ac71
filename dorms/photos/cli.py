import click
from flask.cli import with_appcontext

from . import prune


@click.group("photos")
def photos_cli():
    """Photo files under the instance folder."""


@photos_cli.command("prune")
@with_appcontext
def prune_command():
    """Delete photo files no record names (left by uploads that were refused or rolled back)."""
    removed = prune()
    click.echo(f"{len(removed)} orphaned photo files removed.")
