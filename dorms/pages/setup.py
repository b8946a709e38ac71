"""The set-up checklist: campus → rooms → students → accounts → terms → door system.

Each step is done or not as the data says (nothing is stored about the checklist itself), with where to
do it and, for the imports, template spreadsheets whose headers come from the imports' own column
definitions (English or Chinese), so a template and its import cannot drift apart."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..access.ingest import CARD_COLUMNS
from ..access.models import AccessDevice, AccessEvent, ApiToken, Card
from ..auth.models import User
from ..campus.models import Bed, Building
from ..core.clock import campus_today
from ..core.enums import Role
from ..core.kept import kept
from ..core.roles import staff_required
from ..core.tables import download, write_csv, write_xlsx
from ..extensions import db
from ..students.models import Student, Term
from ..transfer import values

bp = Blueprint("setup", __name__)

# Each import the set-up offers a template for: its columns (name -> accepted headers) and file formats.
# Cards are read as CSV only (`dorms access import-cards`).
TEMPLATES = {"rooms": (values.ROOM_COLUMNS, ("xlsx", "csv")), "students": (values.STUDENT_COLUMNS, ("xlsx", "csv")),
             "cards": (CARD_COLUMNS, ("csv",))}
TEMPLATE_LANGUAGES = {"zh": _l("Chinese headers"), "en": _l("English headers")}


def template_headers(kind: str, language: str) -> list[str]:
    """The template's header row: the import's own column names (en), or each column's first Chinese header (zh)."""
    return values.headers(TEMPLATES[kind][0], language)


@dataclass
class Template:
    label: str
    url: str


@dataclass
class Step:
    key: str
    title: str
    done: bool
    detail: str  # what there is now
    how: str  # what to do
    link: str | None = None
    link_text: str = ""
    command: str = ""  # the command line way, where the app has none
    templates: list[Template] = field(default_factory=list)


@dataclass
class SetUp:
    steps: list[Step]

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done == len(self.steps)

    @property
    def empty(self) -> bool:
        """Nothing set up yet: no building. The dashboard then opens on the checklist itself."""
        return not self.steps[0].done


def _templates(kind: str) -> list[Template]:
    _columns, formats = TEMPLATES[kind]
    return [Template(f"{TEMPLATE_LANGUAGES[language]} ({file_format.upper()})",
                     url_for("setup.template", kind=kind, language=language, file_format=file_format))
            for language in TEMPLATE_LANGUAGES for file_format in formats]


# The tables the steps count: they change with imports and set-up, seldom (door events most often).
SETUP_TABLES = ("buildings", "beds", "students", "users", "terms", "access_cards", "access_devices", "api_tokens",
                "access_events")


def _counts() -> dict[str, int]:
    """Everything the steps look at, in one query, kept until one of the tables changes (counting 20,000
    students and beds on every visit of the dashboard would cost more than the rest of the page)."""
    today = campus_today()
    return kept("pages.setup_counts", lambda: _count(today), depends_on=SETUP_TABLES, key=(today,))


def _count(today) -> dict[str, int]:
    def count(*where, model) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    def exists(model) -> sa.Exists:
        return sa.exists().select_from(model)

    row = db.session.execute(sa.select(
        count(model=Building).label("buildings"),
        count(Bed.active.is_(True), model=Bed).label("beds"),
        count(model=Student).label("students"),
        count(User.role == Role.STAFF, User.active.is_(True), model=User).label("staff"),
        count(User.role == Role.COUNSELOR, User.active.is_(True), model=User).label("counselors"),
        count(User.role == Role.STUDENT, User.active.is_(True), model=User).label("student_accounts"),
        count(Term.ends_on >= today, model=Term).label("terms"),
        count(model=Card).label("cards"),
        count(AccessDevice.active.is_(True), model=AccessDevice).label("devices"),
        count(ApiToken.revoked_at.is_(None), model=ApiToken).label("tokens"),
        exists(AccessEvent).label("events"),
    )).one()
    return dict(row._asdict())


def _steps_done(counts: dict[str, int]) -> dict[str, bool]:
    """Each step's key and whether it is done, in the checklist's order."""
    door_feed = counts["devices"] or counts["tokens"] or counts["events"]
    return {"campus": counts["buildings"] > 0, "rooms": counts["beds"] > 0, "students": counts["students"] > 0,
            "accounts": counts["counselors"] > 0, "terms": counts["terms"] > 0,
            "doors": bool(counts["cards"] and door_feed)}


@dataclass
class Progress:
    """How far the set-up is, for the dashboard's line about it (the whole list only on an empty install)."""

    steps: list[str]
    done: int

    empty = False

    @property
    def complete(self) -> bool:
        return self.done == len(self.steps)


def progress() -> SetUp | Progress:
    """The dashboard's view of the checklist: the whole of it while nothing is set up, else how far it is
    (drawing each step's texts and links would cost the dashboard more than the rest of it)."""
    counts = _counts()
    done = _steps_done(counts)
    if not done["campus"]:
        return set_up(counts)
    return Progress(list(done), sum(done.values()))


def set_up(counts: dict[str, int] | None = None) -> SetUp:
    counts = counts or _counts()
    done = _steps_done(counts)
    import_page = url_for("transfer.import_page")
    return SetUp([
        Step("campus", _("Campus: buildings"), done["campus"],
             _("Buildings: %(num)d", num=counts["buildings"]),
             _("Import the rooms file: a new building needs its name (building_name) on one of its rows."),
             import_page, _("Import"), templates=_templates("rooms")),
        Step("rooms", _("Rooms and beds"), done["rooms"], _("Beds: %(num)d", num=counts["beds"]),
             _("Each row of the rooms file is a room with its number of beds; import it again to change them."),
             import_page, _("Import")),
        Step("students", _("Students"), done["students"], _("Students: %(num)d", num=counts["students"]),
             _("Import the students file, or sync them from the campus directory."),
             import_page, _("Import"), templates=_templates("students")),
        Step("accounts", _("Counselor and student accounts"), done["accounts"],
             _("Staff: %(staff)d, counselors: %(counselors)d, student accounts: %(students)d",
               staff=counts["staff"], counselors=counts["counselors"], students=counts["student_accounts"]),
             _("Counselors need accounts to see their students; students sign in with theirs (made in bulk from "
               "the student list, or through the campus directory)."),
             url_for("accounts.index"), _("Accounts")),
        Step("terms", _("Terms"), done["terms"], _("Current or coming terms: %(num)d", num=counts["terms"]),
             _("Give the term's dates: nights outside every term have no curfew."),
             url_for("curfew.rules"), _("Curfew rules and terms")),
        Step("doors", _("Door system"), done["doors"],
             _("Cards: %(cards)d, door devices: %(devices)d, API tokens: %(tokens)d",
               cards=counts["cards"], devices=counts["devices"], tokens=counts["tokens"]),
             _("Register the door devices or give the access-control system an API token, and import who holds "
               "which card."),
             url_for("curfew.integrations"), _("Door system integrations"),
             command="dorms access import-cards cards.csv", templates=_templates("cards")),
    ])


@bp.get("/setup")
@staff_required
def checklist():
    return render_template("pages/setup.html", setup=set_up(), title=_("Set-up checklist"))


@bp.get("/setup/templates/<any(rooms, students, cards):kind>-<any(zh, en):language>.<file_format>")
@staff_required
def template(kind: str, language: str, file_format: str):
    if file_format not in TEMPLATES[kind][1]:
        abort(404)
    # The import's own headers, as they are: a download from a page would write readable names instead.
    headers, name = template_headers(kind, language), f"{kind}-template-{language}"
    body = write_xlsx(headers, [], title=name) if file_format == "xlsx" else write_csv(headers, [])
    return download(body, file_format, f"{name}.{file_format}")
