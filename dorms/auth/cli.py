import click
from flask.cli import with_appcontext

from ..campus.models import Building, ManagedBuilding
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
@click.option("--building", "buildings", multiple=True,
              help="For building managers: the code of a building they run (repeatable).")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def create_user_command(username, role, display_name, student_number, classes, colleges, buildings, password):
    """Create a local account (the first staff account of an install; later ones from the Accounts page)."""
    student = None
    if student_number:
        student = db.session.scalar(db.select(Student).where(Student.student_number == student_number))
        if student is None:
            raise click.ClickException(f"No student with number {student_number}.")
    managed = []
    for code in buildings:
        building = db.session.scalar(db.select(Building).where(Building.code == code))
        if building is None:
            raise click.ClickException(f"No building with code {code}.")
        managed.append(building)
    if (Role(role) == Role.BUILDING_MANAGER) != bool(managed):
        raise click.ClickException("A building manager needs --building; only a building manager takes it.")
    try:
        user = create_user(username, role=Role(role), password=password, display_name=display_name,
                           student=student, classes=list(classes), colleges=list(colleges))
        user.managed = [ManagedBuilding(building=b, role=Role.BUILDING_MANAGER.value) for b in managed]
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} account {user.username}.")
