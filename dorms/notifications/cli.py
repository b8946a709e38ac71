import click
from flask.cli import with_appcontext

from .sending import send_due


@click.group("notifications", help="Notifications: send what is due (every minute, from the scheduler or cron).")
def notifications_cli():
    pass


@notifications_cli.command("send", help="Send every email and robot message due now.")
@with_appcontext
def send_command():
    click.echo(str(send_due()))
