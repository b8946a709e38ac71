"""The student list and the student page: a student with where they live, their wishes, room changes,
check-in, violations and their room's hygiene. Forms on them post to the features' own views."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import accounts as account_admin
from ..auth import services as accounts
from ..campus import services as campus
from ..checkin import services as checkin
from ..core.enums import Role, StudentStatus
from ..core.forms import known_choice, options, page_number
from ..core.roles import roles_required
from ..core.web import kept_html
from ..hygiene import reports as hygiene_reports
from ..residence import residents
from ..residence import services as residence
from ..roomchange import services as room_changes
from ..students import roommate_requests
from ..students import services
from ..students.forms import BuildingPreferenceForm, LifestyleForm, RoommateRequestForm, StudentSearchForm
from ..students.scopes import visible_student_or_404
from ..students.views import bp
from ..violations import services as violations
from . import waiting

PER_PAGE = 50

# What the student list's body reads (pages/_students.html).
STUDENT_LIST_TABLES = ("students", "assignments", "beds", "rooms", "floors", "buildings", "terms", "counselor_scopes",
                       "managed_buildings", "users", "check_ins", "check_in_report_items", "check_outs")


@bp.get("/")
@roles_required(Role.STAFF, Role.COUNSELOR, Role.BUILDING_MANAGER)
def index():
    def draw() -> str:
        form = StudentSearchForm(request.args, meta={"csrf": False})
        form.class_name.choices = options([("", "—")] + [(c, c) for c in services.class_names(current_user)])
        page = page_number(request.args)
        filters = residents.StudentFilters(
            text=form.q.data, class_name=form.class_name.data or None,
            status=known_choice(form.status), housed=known_choice(form.housed),
        )
        rows = residents.find_students(current_user, filters, page=page, per_page=PER_PAGE)
        total = residents.total_of(rows, page=page, per_page=PER_PAGE)
        if total is None:
            total = residents.kept_count(current_user, filters)
        with_account = (account_admin.students_with_account([row.student.id for row in rows])
                        if current_user.is_staff else set())
        return render_template("pages/_students.html", form=form, rows=rows, total=total, page=page,
                               per_page=PER_PAGE, with_account=with_account,
                               check_ins=checkin.by_assignment([row.assignment.id for row in rows if row.assignment]))

    return render_template("_kept_page.html", title=_("Students"), body=kept_html(
        "students.list", draw, depends_on=STUDENT_LIST_TABLES, key=sorted(request.args.items(multi=True))))


# What the student page's body reads (pages/_student.html): a change to any of them draws it again.
STUDENT_PAGE_TABLES = (
    "students", "assignments", "beds", "rooms", "floors", "buildings", "terms", "counselor_scopes",
    "roommate_requests", "building_preferences", "room_change_requests", "room_change_choices",
    "check_ins", "check_in_report_items", "check_in_keys", "check_outs", "check_out_damages",
    "violations", "violation_types", "violation_events", "violation_students", *hygiene_reports.ROOM_CARD_TABLES,
)


@bp.get("/<int:student_id>")
@login_required
def detail(student_id: int):
    student = visible_student_or_404(student_id)
    is_self = current_user.student_id == student.id

    def draw() -> str:
        history = residence.history(student)
        current = next((assignment for assignment in history if assignment.is_current), None)
        # Roommate wishes are between the student and the housing office; counselors do not see them.
        own_requests = current_user.sees_everything or is_self
        preferences = roommate_requests.preferred_buildings(student) if own_requests else []
        return render_template(
            "pages/_student.html",
            student=student,
            current=current,
            roommates=residents.roommates(current),
            history=history,
            can_manage=current_user.is_staff,
            active=student.status == StudentStatus.ACTIVE,
            requests=roommate_requests.requests_of(student) if own_requests else None,
            mutual=roommate_requests.mutual_ids(student) if own_requests else set(),
            request_form=RoommateRequestForm(),
            lifestyle_form=LifestyleForm(lifestyle=student.lifestyle.value if student.lifestyle else ""),
            preferences=preferences,
            preference_form=_preference_form(preferences) if own_requests else None,
            change_requests=room_changes.requests_of(student) if current_user.sees_everything else None,
            is_self=is_self,
            checkin_record=checkin.latest_check_in(student),
            violations=violations.of_student(current_user, student),
            hygiene=hygiene_reports.room_card(current.bed.room) if current else None,
        )

    return render_template(
        "pages/student.html", student=student, counselors=accounts.counselors_of(student),
        waiting=waiting.for_student(student) if is_self else None,
        body=kept_html("students.page", draw, depends_on=STUDENT_PAGE_TABLES, key=student.id),
    )


def _preference_form(preferences) -> BuildingPreferenceForm:
    ranked = [p.building_id for p in preferences] + [0, 0, 0]
    return BuildingPreferenceForm(first=ranked[0], second=ranked[1], third=ranked[2]).with_buildings(
        campus.building_names())
