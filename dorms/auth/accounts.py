"""Managing accounts from the app (the housing office): find, create, deactivate and reactivate, reset a
password, change a role and a building manager's buildings, and student accounts in bulk.

A password the office sets or generates is shown once (never stored but as a hash) and is one-time: the
account must choose its own at the next sign-in (User.must_change_password). Every change is audited.
"""
from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import audit
from ..campus.models import Building, ManagedBuilding
from ..core.enums import Role
from ..core.errors import ServiceError
from ..extensions import db
from ..residence import residents
from ..students.models import CounselorScope, Student
from ..students.scopes import visible_students_clause
from .backends import normalise_username
from .models import User
from .services import check_new_password, create_user

# Generated passwords: no look-alike characters (0/O, 1/l/I), so one read off a printed list types right.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 12
# Student accounts made in one request: each password is hashed (deliberately slow: about 0.13 s here), so
# a request stays well inside a worker's timeout; a larger list goes in several batches (filter by class).
BULK_LIMIT = 100
PER_PAGE = 50


def generate_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _i in range(GENERATED_LENGTH))


@dataclass
class AccountFilters:
    text: str | None = None  # username or name, partial
    role: str | None = None
    active: str | None = None  # "yes", "no" or None


def search(filters: AccountFilters, *, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[User], int]:
    query = sa.select(User).options(selectinload(User.scopes), selectinload(User.managed)).order_by(User.username)
    if filters.text:
        text = filters.text.strip()
        query = query.where(sa.or_(User.username.contains(text.lower(), autoescape=True),
                                   User.display_name.contains(text, autoescape=True)))
    if filters.role:
        query = query.where(User.role == Role(filters.role))
    if filters.active in ("yes", "no"):
        query = query.where(User.active.is_(filters.active == "yes"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    return list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))), total


def _buildings(ids) -> list[Building]:
    ids = sorted({i for i in ids if i is not None})
    found = list(db.session.scalars(sa.select(Building).where(Building.id.in_(ids)).order_by(Building.code)))
    if len(found) != len(ids):
        raise ServiceError(_("One of the chosen buildings no longer exists; choose again."))
    return found


def _require_buildings(role: Role, buildings: list[Building]) -> None:
    if role == Role.BUILDING_MANAGER and not buildings:
        raise ServiceError(_("A building manager needs at least one building."))


def create_account(username: str, *, role: Role, display_name: str = "", password: str | None = None,
                   student_number: str = "", classes: list[str] = (), colleges: list[str] = (),
                   building_ids=(), actor) -> tuple[User, str | None]:
    """A local account made by the office: (the account, the generated password to show once, or None when
    the office typed one). Either way the password is one-time."""
    student = None
    if role == Role.STUDENT:
        number = (student_number or "").strip()
        student = db.session.scalar(sa.select(Student).where(Student.student_number == number)) if number else None
        if student is None:
            raise ServiceError(_("A student account needs the student number of an existing student."))
        if db.session.scalar(sa.select(User.id).where(User.student_id == student.id)) is not None:
            raise ServiceError(_("%(student)s already has an account.", student=student.display))
    buildings = _buildings(building_ids) if role == Role.BUILDING_MANAGER else []
    _require_buildings(role, buildings)
    if role != Role.COUNSELOR:
        classes, colleges = [], []
    generated = None if password else generate_password()
    user = create_user(username, role=role, password=password or generated, display_name=display_name or None,
                       student=student, classes=[c for c in classes if c], colleges=[c for c in colleges if c])
    user.must_change_password = True
    for building in buildings:
        user.managed.append(ManagedBuilding(building=building, role=Role.BUILDING_MANAGER.value))
    db.session.flush()
    audit.record("user.account.create", actor=actor, student=student, username=user.username, role=role.value,
                 buildings=[b.code for b in buildings], password="generated" if generated else "set")
    return user, generated


def _active_staff_count() -> int:
    """Locking the active staff rows: two staff deactivating each other at once are counted one after the other
    (the second waits, then no longer counts the first), so the office never loses its last account."""
    return len(db.session.scalars(sa.select(User.id).where(User.role == Role.STAFF, User.active.is_(True))
                                  .with_for_update()).all())


def _refuse_losing_the_last_staff(user: User) -> None:
    if user.role == Role.STAFF and user.active and _active_staff_count() <= 1:
        raise ServiceError(_("%(username)s is the last active housing-office account: make another one first.",
                             username=user.username))


def set_active(user: User, active: bool, *, actor) -> None:
    """Deactivating ends every session of the account at once (User.end_sessions via the model)."""
    if user.active == active:
        return
    if not active:
        if user.id == actor.id:
            raise ServiceError(_("You cannot deactivate your own account."))
        _refuse_losing_the_last_staff(user)
    user.active = active
    db.session.flush()
    audit.record("user.account.activate" if active else "user.account.deactivate", actor=actor,
                 student=user.student, username=user.username, role=user.role.value)


def reset_password(user: User, password: str | None = None, *, actor) -> str | None:
    """A one-time password for ``user``: the one typed, or a generated one returned to show once. Every sign-in
    of the account ends; the next must choose a new password."""
    if user.auth_source != "local":
        raise ServiceError(_("%(username)s signs in with the campus directory: reset the password there.",
                             username=user.username))
    generated = None if password else generate_password()
    check_new_password(user.username, password or generated)
    user.set_password(password or generated)
    user.must_change_password = True
    user.end_sessions()
    db.session.flush()
    audit.record("user.account.password_reset", actor=actor, student=user.student, username=user.username,
                 role=user.role.value, password="generated" if generated else "set")
    return generated


def change_role(user: User, role: Role, *, building_ids=(), classes: list[str] = (), colleges: list[str] = (),
                actor) -> None:
    """A new role, with the buildings (building manager) or classes and colleges (counselor) it needs; what
    the old role had goes. A student account stays a student's, and no other account becomes one."""
    if user.auth_source != "local" and role != user.role:
        # Directory groups set the role again at every sign-in (directory.signin): a role given here would
        # not last, and a building manager's buildings would stand in the way of the directory's role.
        raise ServiceError(_("%(username)s signs in with the campus directory: its groups decide the role.",
                             username=user.username))
    if (user.role == Role.STUDENT) != (role == Role.STUDENT):
        raise ServiceError(_("A student account stays a student account; make a new account instead."))
    if user.id == actor.id and role != user.role:
        raise ServiceError(_("You cannot change your own role."))
    if role != Role.STAFF:
        _refuse_losing_the_last_staff(user)
    buildings = _buildings(building_ids) if role == Role.BUILDING_MANAGER else []
    _require_buildings(role, buildings)
    old = user.role
    # The managed rows carry the role they were made for (the database refuses one for another role).
    user.managed = []
    db.session.flush()
    user.role = role
    user.scopes = ([CounselorScope(class_name=c) for c in classes if c]
                   + [CounselorScope(college=c) for c in colleges if c]) if role == Role.COUNSELOR else []
    db.session.flush()
    for building in buildings:
        user.managed.append(ManagedBuilding(building=building, role=Role.BUILDING_MANAGER.value))
    # What an account may see changes: its open sessions start again under the new role.
    user.end_sessions()
    db.session.flush()
    audit.record("user.account.role", actor=actor, username=user.username, old=old.value, new=role.value,
                 buildings=[b.code for b in buildings], classes=[c for c in classes if c],
                 colleges=[c for c in colleges if c])


def load(user_id: int) -> User | None:
    return db.session.scalar(sa.select(User).where(User.id == user_id).options(
        selectinload(User.scopes), selectinload(User.managed).joinedload(ManagedBuilding.building)))


# --- student accounts in bulk ----------------------------------------------------------------------------------

@dataclass
class Issued:
    """One new student account and its one-time password (shown once, in the downloaded list)."""
    student: Student
    username: str
    password: str


def students_with_account(student_ids: list[int]) -> set[int]:
    return set(db.session.scalars(sa.select(User.student_id).where(User.student_id.in_(student_ids))))


def students_for_accounts(user, *, student_ids=None, filters: residents.StudentFilters | None = None) -> list[Student]:
    """The students chosen (ids ticked on the student list) or matching the list's filters, who have no
    account yet; within what ``user`` may see."""
    if student_ids is not None:
        if not student_ids:
            raise ServiceError(_("Tick the students who need an account, or use the filter."))
        # Those ticked, on whichever page of the list they were (not only among the filter's first rows).
        chosen = list(db.session.scalars(sa.select(Student).where(
            Student.id.in_(set(student_ids)), visible_students_clause(user)).order_by(Student.student_number)))
        return _without_account(chosen)
    rows, total = residents.search_students(user, filters or residents.StudentFilters(), per_page=BULK_LIMIT * 10)
    chosen = [row.student for row in rows]
    if total > len(rows):
        raise ServiceError(_("More than %(count)d students match: narrow the filter (for example to one class).",
                             count=len(rows)))
    return _without_account(chosen)


def _without_account(chosen: list[Student]) -> list[Student]:
    with_account = students_with_account([s.id for s in chosen])
    return [s for s in chosen if s.id not in with_account]


def create_student_accounts(students: list[Student], *, actor) -> list[Issued]:
    """An account for each student (username: the student number), with a generated one-time password. All
    or nothing: a taken username refuses the whole list, naming every student concerned."""
    if not students:
        raise ServiceError(_("Every chosen student already has an account."))
    if len(students) > BULK_LIMIT:
        raise ServiceError(_("%(count)d students chosen; at most %(limit)d at a time: narrow the filter.",
                             count=len(students), limit=BULK_LIMIT))
    usernames = {s.id: normalise_username(s.student_number) for s in students}
    taken = set(db.session.scalars(sa.select(User.username).where(User.username.in_(list(usernames.values())))))
    # Usernames are kept in lower case: student numbers differing only in letter case share one.
    shared = {name for name, times in Counter(usernames.values()).items() if times > 1}
    clashes = [s for s in students if usernames[s.id] in taken | shared]
    if clashes:
        raise ServiceError(_("These usernames are taken by other accounts: %(list)s. Nothing was created.",
                             list=", ".join(f"{s.display} ({usernames[s.id]})" for s in clashes)))
    issued = []
    for student in students:
        password = generate_password()
        user = User(username=usernames[student.id], role=Role.STUDENT, student=student,
                    display_name=student.name, must_change_password=True)
        user.set_password(password)
        db.session.add(user)
        issued.append(Issued(student, user.username, password))
    db.session.flush()
    audit.record("user.account.bulk_create", actor=actor, count=len(issued),
                 usernames=[i.username for i in issued])
    return issued


def password_list(issued: list[Issued]) -> tuple[list[str], list[list]]:
    """The downloaded list of initial passwords, in the reader's language."""
    headers = [_("Student number"), _("Full name"), _("Class"), _("Username"), _("One-time password")]
    return headers, [[i.student.student_number, i.student.name, i.student.class_name, i.username, i.password]
                     for i in issued]
