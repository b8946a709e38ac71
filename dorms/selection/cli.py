"""`dorms selection`: the housing office's command line for selection day (README "Selection day from the
command line"): set an event up, check it, open, pause, resume and close it, and watch it.

Times are typed and printed in campus time (DORMS_TIMEZONE) and stored in UTC. Each command that writes
commits once at its end, or changes nothing. Its audit entry is the services' to record, the same as the
office's pages leave, by "system" like every command's (no one is signed in: audit.current_actor). Bad input (an
unknown event or building, a time that is not one) exits with 2 and a sentence; a rule of the services refusing
exits with 1 and the services' own sentence.
"""
from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext

from ..campus.models import Bed, Building, Campus, Room
from ..core.clock import campus_zone, utcnow
from ..core.enums import Gender, StudentStatus
from ..core.errors import ServiceError
from ..extensions import db
from ..students.models import Student
from . import services
from .models import EventStatus, PickStatus, SelectionEvent, SelectionOffer, SelectionParticipant, SelectionPick

TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
# Numbers as the database's integers hold them (a larger one would be an error from PostgreSQL, not a refusal).
ID = click.IntRange(1, 2**31 - 1)
WHOLE = click.IntRange(0, 2**31 - 1)
TEXT_LIMIT = 120  # names, colleges and classes, as stored


class BadInput(click.ClickException):
    """What was typed names nothing there is, or is not a time: exit code 2, like click's own usage errors."""

    exit_code = 2


@click.group("selection", help="Selection day: set up, check, open, pause, resume, close, apply and watch an "
                               "event; rehearse it.")
def selection_cli():
    pass


# --- helpers --------------------------------------------------------------------------------------------------


def _campus_time(value: str, option: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` in campus time, as an aware UTC-comparable datetime."""
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=campus_zone())
        except ValueError:
            continue
    raise BadInput(_('%(option)s: "%(value)s" is not a time; write it as YYYY-MM-DD HH:MM (campus time).',
                     option=option, value=value))


def _shown(moment: datetime | None) -> str:
    return moment.astimezone(campus_zone()).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _event(event_id: int) -> SelectionEvent:
    event = db.session.get(SelectionEvent, event_id)
    if event is None:
        raise BadInput(_("There is no selection event %(id)s.", id=event_id))
    return event


@contextlib.contextmanager
def _one_transaction():
    """Commit once at the end; on a refusal (or anything else) roll everything back."""
    try:
        yield
    except ServiceError as refused:
        db.session.rollback()
        raise click.ClickException(str(refused)) from None
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def _count(query) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


# --- setting up ---------------------------------------------------------------------------------------------


@selection_cli.command("create")
@click.argument("name")
@click.option("--closes", required=True, help='When choosing ends, "YYYY-MM-DD HH:MM" in campus time.')
@click.option("--hold-minutes", type=click.IntRange(1, 60), default=5, show_default=True,
              help="How long a chosen bed is kept for the student to confirm it.")
@click.option("--changes", type=click.IntRange(0, 10), default=0, show_default=True,
              help="How often a student may change a confirmed choice.")
@click.option("--seed", help="The published seed the order is derived from (default: a random one).")
@click.option("--show-names", is_flag=True,
              help="Students see the names of who chose a room (else their class and sleep schedule only).")
@with_appcontext
def create_command(name, closes, hold_minutes, changes, seed, show_names):
    """Create an event NAME, being set up.

    Prints its id and the seed to publish: the order inside each window is derived from it."""
    closes_at = _campus_time(closes, "--closes")
    if closes_at <= utcnow():
        raise BadInput(_("--closes: %(time)s has passed.", time=closes))
    if not name.strip() or len(name) > TEXT_LIMIT:
        raise BadInput(_("A name, college or class has 1 to %(limit)s characters.", limit=TEXT_LIMIT))
    if seed is not None and not 0 < len(seed) <= 64:
        raise BadInput(_("--seed: 1 to 64 characters."))
    with _one_transaction():
        event = services.create_event(name.strip(), closes_at=closes_at, hold_seconds=hold_minutes * 60,
                                      change_limit=changes, seed=seed, roommate_names=show_names)
    click.echo(_("Event %(id)s, %(name)s: being set up, closes %(closes)s.", id=event.id, name=event.name,
                 closes=_shown(event.closes_at)))
    click.echo(_("Seed %(seed)s: publish it, so that anyone can check the order.", seed=event.seed))


@selection_cli.command("window")
@click.argument("event_id", metavar="EVENT", type=ID)
@click.argument("name")
@click.option("--starts", required=True, help='"YYYY-MM-DD HH:MM" in campus time.')
@click.option("--tier", type=ID, default=1, show_default=True,
              help="A student in windows of several tiers is in the lowest one's.")
@click.option("--college", help="Only students of this college.")
@click.option("--class-name", help="Only students of this class.")
@click.option("--grade", type=WHOLE, help="Only students who entered in this year, e.g. 2026.")
@click.option("--gender", type=click.Choice(["M", "F"]), help="Only male (M) or female (F) students.")
@click.option("--batch-size", type=ID,
              help="Let students in this many at a time, in the seeded order (with --batch-minutes).")
@click.option("--batch-minutes", type=click.IntRange(1, 24 * 60),
              help="Minutes between two batches, at most a day (with --batch-size).")
@click.option("--zone", help="Campus or zone code: its students choose in that zone's buildings only.")
@with_appcontext
def window_command(event_id, name, starts, tier, college, class_name, grade, gender, batch_size, batch_minutes,
                   zone):
    """Add a time window to EVENT.

    The window takes the students matching every filter given (none: anyone)."""
    event = _event(event_id)
    starts_at = _campus_time(starts, "--starts")
    if (batch_size is None) != (batch_minutes is None):
        raise BadInput(_("--batch-size and --batch-minutes go together."))
    if starts_at >= event.closes_at:
        raise BadInput(_("--starts: the event closes at %(closes)s, before the window would start.",
                         closes=_shown(event.closes_at)))
    if not name.strip() or any(len(text or "") > TEXT_LIMIT for text in (name, college, class_name)):
        raise BadInput(_("A name, college or class has 1 to %(limit)s characters.", limit=TEXT_LIMIT))
    campus = None
    if zone is not None:
        campus = db.session.scalar(sa.select(Campus).where(sa.func.upper(Campus.code) == zone.upper()))
        if campus is None:
            raise BadInput(_("There is no campus or zone %(code)s.", code=zone))
    with _one_transaction():
        window = services.add_window(event, name.strip(), starts_at=starts_at, tier=tier, college=college,
                                     class_name=class_name, grade=grade, gender=Gender(gender) if gender else None,
                                     batch_size=batch_size or 0, batch_minutes=batch_minutes or 0,
                                     campus_id=campus.id if campus else None)
    who = [value for value in (college, class_name, str(grade) if grade else None,
                               Gender(gender).label if gender else None) if value]
    click.echo(_("Window %(id)s, %(name)s (tier %(tier)s): from %(starts)s, for %(who)s.", id=window.id,
                 name=window.name, tier=window.tier, starts=_shown(window.starts_at),
                 who=", ".join(str(w) for w in who) or _("everyone")))
    if batch_size:
        click.echo(_("%(size)s students every %(minutes)s minutes.", size=batch_size, minutes=batch_minutes))
    if campus:
        click.echo(_("They choose in %(zone)s only.", zone=campus.name))


@selection_cli.command("area")
@click.argument("event_id", metavar="EVENT", type=ID)
@click.argument("college")
@click.option("--building", "code", required=True, help="Building code.")
@click.option("--floor", type=click.IntRange(-2**31, 2**31 - 1), help="Only this floor (none: the whole building).")
@with_appcontext
def area_command(event_id, college, code, floor):
    """Give COLLEGE an area in EVENT: a building, or one floor of it.

    Its beds are for that college's students, who then choose only in their college's areas; students of a
    college without areas choose outside every area."""
    event = _event(event_id)
    if not college.strip() or len(college) > TEXT_LIMIT:
        raise BadInput(_("A name, college or class has 1 to %(limit)s characters.", limit=TEXT_LIMIT))
    building = db.session.scalar(sa.select(Building).where(sa.func.upper(Building.code) == code.upper()))
    if building is None:
        raise BadInput(_("There is no building %(codes)s.", codes=code))
    with _one_transaction():
        area = services.add_area(event, college, building, floor)
        where = services.area_label(area)
    click.echo(_("Area %(id)s: %(area)s is for %(college)s.", id=area.id, area=where, college=area.college))


def _numbers_from_file(path: Path) -> list[Student]:
    """The students a file lists, one student number a line (blank lines skipped); every number that is not an
    active student's is reported with its line, and then nothing is added."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise BadInput(_("%(file)s is not UTF-8 text.", file=path)) from None
    wanted = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    found = {s.student_number: s for s in db.session.scalars(sa.select(Student).where(Student.student_number.in_(
        {number for _n, number in wanted if "\x00" not in number})))}  # PostgreSQL takes no NUL in a string
    problems = []
    for n, number in wanted:
        student = found.get(number)
        if student is None:
            problems.append(_("%(file)s line %(line)s: no student %(number)s.", file=path, line=n, number=number))
        elif student.status != StudentStatus.ACTIVE:
            problems.append(_("%(file)s line %(line)s: %(student)s is %(status)s, not active.", file=path,
                              line=n, student=student.display, status=student.status.label))
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise BadInput(_("Nothing added."))
    if not wanted:
        raise BadInput(_("%(file)s lists no student number.", file=path))
    return [found[number] for _n, number in wanted]


@selection_cli.command("students")
@click.argument("event_id", metavar="EVENT", type=ID)
@click.option("--college", help="Active students of this college.")
@click.option("--class-name", help="Active students of this class.")
@click.option("--grade", type=WHOLE, help="Active students who entered in this year.")
@click.option("--file", "numbers_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instead: the student numbers in this UTF-8 text file, one a line.")
@with_appcontext
def students_command(event_id, college, class_name, grade, numbers_file):
    """Add students to EVENT.

    The active students matching every filter given, or those a file lists (then nothing is added while a
    number in it is unknown)."""
    event = _event(event_id)
    filters = {"college": college, "class_name": class_name, "grade": grade}
    if numbers_file and any(value is not None for value in filters.values()):
        raise BadInput(_("Give --file or filters (--college, --class-name, --grade), not both."))
    if numbers_file:
        students = _numbers_from_file(numbers_file)
    elif all(value is None for value in filters.values()):
        raise BadInput(_("Say who: --college, --class-name, --grade, or --file."))
    else:
        students = services.active_students(**filters)
        if not students:
            raise BadInput(_("No active student matches."))
    with _one_transaction():
        added = services.add_participants(event, students, **filters)
    total = _count(sa.select(SelectionParticipant.id).where(SelectionParticipant.event_id == event.id))
    click.echo(ngettext("%(num)d student added; %(total)s take part in event %(id)s.",
                        "%(num)d students added; %(total)s take part in event %(id)s.", added,
                        total=total, id=event.id))


def _place(codes, floor, rooms) -> services.OfferPlace:
    """The buildings typed (any letter case: a1 is A1, as `dorms allocation start` reads them), their floor and
    rooms; an unknown building or room refused by name."""
    by_code = {building.code.upper(): building for building in db.session.scalars(
        sa.select(Building).where(sa.func.upper(Building.code).in_([c.upper() for c in codes])))}
    unknown = [code for code in codes if code.upper() not in by_code]
    if unknown:
        raise BadInput(_("There is no building %(codes)s.", codes=", ".join(unknown)))
    if rooms and len(by_code) != 1:
        raise BadInput(_("Give one building with --room."))
    for building in by_code.values():
        missing = services.unknown_rooms(building, rooms)
        if missing:
            raise BadInput(_("%(building)s has no room %(rooms)s.", building=building.code, rooms=", ".join(missing)))
    return services.OfferPlace([b.id for b in by_code.values()] if codes else None, floor, rooms)


def _place_options(command):
    for option in reversed((
            click.option("--building", "codes", multiple=True,
                         help="Building code; repeat for several (none: every building)."),
            click.option("--floor", type=click.IntRange(-2**31, 2**31 - 1), help="Only this floor of those buildings."),
            click.option("--room", "rooms", multiple=True, help="Only this room of the building; repeat for several."))):
        command = option(command)
    return command


@selection_cli.command("offer")
@click.argument("event_id", metavar="EVENT", type=ID)
@_place_options
@click.option("--reserved", is_flag=True, help="Keep these beds for the office: offered, but nobody may choose them.")
@with_appcontext
def offer_command(event_id, codes, floor, rooms, reserved):
    """Offer beds in EVENT.

    The beds in use, in open rooms, of those buildings (and floor, and rooms), that nobody lives in or a
    student taking part in EVENT does (add the students first): such a bed is free for others once its
    resident confirms another; who chooses nothing keeps theirs."""
    event = _event(event_id)
    place = _place(codes, floor, tuple(dict.fromkeys(rooms)))
    found = services.offerable_beds(event, place)
    beds = found.beds
    if not beds:
        raise BadInput(_("No free bed there, nor one a student taking part lives in."))
    with _one_transaction():
        added = services.offer_beds(event, beds, reserved=reserved, place=place)
    if reserved:
        click.echo(ngettext("%(num)d free bed offered, reserved for the office (%(new)s new).",
                            "%(num)d free beds offered, reserved for the office (%(new)s new).", len(beds), new=added)
                   if not found.lived_in else
                   ngettext("%(num)d bed offered, reserved for the office (%(new)s new).",
                            "%(num)d beds offered, reserved for the office (%(new)s new).", len(beds), new=added))
    else:
        click.echo(ngettext("%(num)d free bed offered (%(new)s new).", "%(num)d free beds offered (%(new)s new).",
                            len(beds), new=added) if not found.lived_in else
                   ngettext("%(num)d bed offered (%(new)s new).", "%(num)d beds offered (%(new)s new).",
                            len(beds), new=added))
    if found.lived_in:
        click.echo(ngettext("%(num)d of them is lived in by a student taking part: free for others once they "
                            "confirm another bed; if they choose nothing, they keep it.",
                            "%(num)d of them are lived in by students taking part: each is free for others once "
                            "its resident confirms another bed; who chooses nothing keeps theirs.",
                            found.lived_in))


@selection_cli.command("withdraw")
@click.argument("event_id", metavar="EVENT", type=ID)
@_place_options
@with_appcontext
def withdraw_command(event_id, codes, floor, rooms):
    """No longer offer in EVENT the beds of those buildings (and floor, and rooms), reserved ones too."""
    event = _event(event_id)
    place = _place(codes, floor, tuple(dict.fromkeys(rooms)))
    with _one_transaction():
        withdrawn = services.withdraw_offers(event, place)
        if not withdrawn:
            raise BadInput(_("No bed is offered there."))
    click.echo(ngettext("%(num)d bed no longer offered.", "%(num)d beds no longer offered.", withdrawn))


# --- running -------------------------------------------------------------------------------------------------


@selection_cli.command("check")
@click.argument("event_id", metavar="EVENT", type=ID)
@with_appcontext
def check_command(event_id):
    """Check EVENT before it opens (exit 1: problems).

    Places every student in their window and order, and lists what stops the event from opening."""
    event = _event(event_id)
    if event.status != EventStatus.DRAFT:
        # arrange() would hand out the starts again, undoing what a pause moved on.
        raise click.ClickException(_("Event %(id)s is %(status)s: only an event being set up is checked.",
                                     id=event.id, status=event.status.label))
    with _one_transaction():
        problems = services.arrange(event)
    for problem in problems:
        click.echo(f"{problem.kind}: {problem.message}")
    if problems:
        raise click.ClickException(ngettext("%(num)d problem: the event cannot open yet.",
                                            "%(num)d problems: the event cannot open yet.", len(problems)))
    click.echo(_("No problem: the event may open."))


def _switch_command(name: str, action, done: str, help_text: str):
    @selection_cli.command(name, help=help_text)
    @click.argument("event_id", metavar="EVENT", type=ID)
    @with_appcontext
    def command(event_id):
        event = _event(event_id)
        with _one_transaction():
            action(event)
        click.echo(_(done, id=event.id, closes=_shown(event.closes_at)))
    return command


# The sentences are given to _() where they are used; N_ marks them for extraction here.
def N_(message: str) -> str:
    return message


open_command = _switch_command(
    "open", services.open_event, N_("Event %(id)s is open; it closes %(closes)s."),
    "Open EVENT, checked again first (exit 1: problems).")
pause_command = _switch_command(
    "pause", services.pause, N_("Event %(id)s is paused: nobody may choose until it resumes."),
    "Pause EVENT: nobody acts until it resumes.")
resume_command = _switch_command(
    "resume", services.resume, N_("Event %(id)s is open again; every start still to come, and the close "
                                  "(%(closes)s), moved on by the pause."),
    "Resume a paused EVENT.\n\nEvery start still to come, and the close, move on by the pause.")
close_command = _switch_command(
    "close", services.close, N_("Event %(id)s is closed: confirmed choices stand, holds have ended."),
    "Close EVENT: confirmed choices stand, holds end.")


@selection_cli.command("apply")
@click.argument("event_id", metavar="EVENT", type=ID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def apply_command(event_id, yes):
    """Make a closed EVENT's confirmed choices the students' beds.

    One change, all or nothing, under every placement rule; asks first, saying how many chose."""
    event = _event(event_id)
    if not yes:  # many students change bed at once: say how many first
        chosen = _count(sa.select(SelectionPick.id).where(SelectionPick.event_id == event.id,
                                                          SelectionPick.status == PickStatus.CONFIRMED))
        click.confirm(ngettext("Apply event %(id)s: %(num)d confirmed choice becomes a bed?",
                               "Apply event %(id)s: %(num)d confirmed choices become beds?", chosen, id=event.id),
                      abort=True)
    with _one_transaction():
        moved = services.apply_choices(event)
    click.echo(ngettext("Event %(id)s applied: %(num)d student changed bed.",
                        "Event %(id)s applied: %(num)d students changed bed.", moved, id=event.id))


@selection_cli.command("rehearse")
@click.argument("event_id", metavar="EVENT", type=ID)
@click.option("--starts", required=True, help='When its first window opens, "YYYY-MM-DD HH:MM" in campus time.')
@click.option("--closes", required=True, help='When it ends, "YYYY-MM-DD HH:MM" in campus time.')
@with_appcontext
def rehearse_command(event_id, starts, closes):
    """Copy EVENT into a rehearsal (模拟选宿).

    Its windows (the first from --starts, the others as far after it), students and offered beds, in the
    same seeded order, being set up: check and open it as any event, and discard it afterwards."""
    event = _event(event_id)
    starts_at, closes_at = _campus_time(starts, "--starts"), _campus_time(closes, "--closes")
    if closes_at <= max(starts_at, utcnow()):
        raise BadInput(_("--closes: a rehearsal closes after it starts, and later than now."))
    with _one_transaction():
        rehearsal = services.rehearse(event, starts_at=starts_at, closes_at=closes_at)
    click.echo(_("Rehearsal %(id)s of event %(event)s, %(name)s: being set up; check and open it as any event, "
                 "then discard it.", id=rehearsal.id, event=event.id, name=rehearsal.name))


@selection_cli.command("discard")
@click.argument("event_id", metavar="EVENT", type=ID)
@with_appcontext
def discard_command(event_id):
    """Throw a rehearsal away, with everything chosen in it (a real event never)."""
    event = _event(event_id)
    with _one_transaction():
        services.discard(event)
    click.echo(_("Rehearsal %(id)s thrown away.", id=event_id))


@selection_cli.command("status")
@click.argument("event_id", metavar="EVENT", type=ID)
@with_appcontext
def status_command(event_id):
    """How EVENT stands (exit 1: invariants broken).

    Who takes part, beds offered and free by building, holds, confirmed choices, and the invariants."""
    event = _event(event_id)
    now = utcnow()
    of_event = SelectionParticipant.event_id == event.id
    participants = _count(sa.select(SelectionParticipant.id).where(of_event))
    placed = _count(sa.select(SelectionParticipant.id).where(of_event, SelectionParticipant.window_id.is_not(None)))
    offers = dict(db.session.execute(
        sa.select(SelectionOffer.reserved, sa.func.count()).where(SelectionOffer.event_id == event.id)
        .group_by(SelectionOffer.reserved)).all())
    picks = sa.select(SelectionPick.id).where(SelectionPick.event_id == event.id)
    holds = _count(picks.where(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now))
    confirmed = _count(picks.where(SelectionPick.status == PickStatus.CONFIRMED))
    click.echo(_("Event %(id)s, %(name)s (%(status)s); closes %(closes)s; seed %(seed)s.", id=event.id,
                 name=event.name, status=event.status.label, closes=_shown(event.closes_at), seed=event.seed))
    click.echo(_("Taking part: %(participants)s, in a window: %(placed)s.", participants=participants, placed=placed))
    click.echo(_("Beds offered: %(offered)s (reserved for the office: %(reserved)s); held now: %(holds)s; "
                 "confirmed: %(confirmed)s.", offered=offers.get(False, 0) + offers.get(True, 0),
                 reserved=offers.get(True, 0), holds=holds, confirmed=confirmed))
    # Offered (not reserved) and free per building; free as the students' lists count it: no confirmed pick,
    # no hold still running (one past its time frees the bed), nobody living there who confirmed no other bed.
    taken = sa.exists().where(SelectionPick.event_id == event.id, SelectionPick.bed_id == Bed.id, sa.or_(
        SelectionPick.status == PickStatus.CONFIRMED,
        sa.and_(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now)))
    by_building = db.session.execute(
        sa.select(Building.code, sa.func.count(),
                  sa.func.count().filter(~taken, ~services.resident_stays(event, Bed.id))).select_from(SelectionOffer)
        .join(Bed, Bed.id == SelectionOffer.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(SelectionOffer.event_id == event.id, SelectionOffer.reserved.is_(False))
        .group_by(Building.code).order_by(Building.code)).all()
    for code, offered, free in by_building:
        click.echo(_("  %(building)s: %(free)s of %(offered)s beds free", building=code, free=free, offered=offered))
    broken = services.invariant_problems(event)
    for problem in broken:
        click.echo(_("Invariant broken: %(problem)s", problem=problem))
    if broken:
        raise click.ClickException(_("The stored picks break the rules above."))
    click.echo(_("Invariants hold."))


@selection_cli.command("order")
@click.argument("event_id", metavar="EVENT", type=ID)
@with_appcontext
def order_command(event_id):
    """The order of EVENT, for anyone to redo.

    Each student's window, place, start and order key, tab-separated."""
    event = _event(event_id)
    windows = {window.id: window.name for window in event.windows}
    rank = {window_id: n for n, window_id in enumerate(windows)}  # by tier, as students enter; no window last
    rows = sorted(db.session.execute(
        sa.select(SelectionParticipant, Student).join(Student, Student.id == SelectionParticipant.student_id)
        .where(SelectionParticipant.event_id == event.id)).all(),
        key=lambda row: (rank.get(row[0].window_id, len(rank)), row[0].position, row[1].student_number))
    click.echo(_("# Seed %(seed)s. A student's order key is the SHA-256 of the seed, a colon and their student "
                 "number, in hexadecimal; inside a window, places go by ascending key, from 1.", seed=event.seed))
    if event.status == EventStatus.DRAFT:
        click.echo(_("# Being set up: as the last `check` left it."))
    click.echo("\t".join([_("window"), _("place"), _("start"), _("student number"), _("student name"),
                           _("order key")]))
    for taking_part, student in rows:
        in_window = taking_part.window_id is not None
        click.echo("\t".join([windows.get(taking_part.window_id, "-"),
                              str(taking_part.position + 1) if in_window else "-",
                              _shown(taking_part.opens_at), student.student_number, student.name,
                              services.order_key(event.seed, student.student_number)]))
