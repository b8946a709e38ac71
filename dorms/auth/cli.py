import click
from flask.cli import with_appcontext

from ..core.enums import Role
from ..core.errors import ServiceError
from ..extensions import db
from ..students.models import Student
from .services import create_user


@click.group("user", help="Manage accounts.")
def user_cli():
    pass


@user_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.STAFF.value, show_default=True)
@click.option("--name", "display_name", help="Name shown in the header.")
@click.option("--student-number", help="For --role student: whose account this is.")
@click.option("--class", "classes", multiple=True, help="For counselors: a class they look after (repeatable).")
@click.option("--college", "colleges", multiple=True, help="For counselors: a whole college (repeatable).")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def create_user_command(username, role, display_name, student_number, classes, colleges, password):
    """Create a local account."""
    student = None
    if student_number:
        student = db.session.scalar(db.select(Student).where(Student.student_number == student_number))
        if student is None:
            raise click.ClickException(f"No student with number {student_number}.")
    try:
        user = create_user(username, role=Role(role), password=password, display_name=display_name,
                           student=student, classes=list(classes), colleges=list(colleges))
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} account {user.username}.")
