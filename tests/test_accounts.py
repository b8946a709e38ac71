"""The accounts pages: the housing office creates, deactivates and reactivates accounts, resets passwords,
changes roles and makes student accounts in bulk, with every refusal said and every change audited."""
import csv
import io
import threading

import pytest
import sqlalchemy as sa

from dorms.audit.models import AuditEntry
from dorms.auth import accounts
from dorms.auth.models import User
from dorms.core.enums import Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from tests.factories import PASSWORD
from tests.racing import run_at_once


@pytest.fixture
def office(create_user, create_building):
    return {"staff": create_user("office", role=Role.STAFF), "a": create_building("A"), "b": create_building("B")}


def _user(username: str) -> User:
    db.session.rollback()  # end our snapshot: read what the request committed
    return db.session.scalar(sa.select(User).where(User.username == username))


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def _password_on(page: str) -> str:
    return page.split('data-testid="one-time-password">')[1].split("<")[0]


def test_staff_create_a_building_manager_whose_generated_password_is_shown_once_and_works_once(
        app, office, login, client):
    login(office["staff"])
    response = client.post("/accounts/", data={"username": "LouZhang", "display_name": "张楼长",
                                               "role": "building_manager", "buildings": [str(office["a"].id)]})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = _password_on(response.get_data(as_text=True))
    user = _user("louzhang")
    assert user.role == Role.BUILDING_MANAGER and [b.code for b in user.managed_buildings] == ["A"]
    assert user.must_change_password and password not in user.password_hash and user.check_password(password)
    assert "user.account.create" in _actions()
    assert password not in client.get(f"/accounts/{user.id}").get_data(as_text=True)  # shown once

    client.post("/logout")
    assert client.post("/login", data={"username": "louzhang", "password": password}).status_code == 302
    # Every page sends them to choose their own password first.
    assert client.get("/buildings").headers["Location"].endswith("/account/password")
    client.post("/account/password", data={"current_password": password, "new_password": "my own secret 1",
                                           "repeat_password": "my own secret 1"})
    assert client.get("/buildings").status_code == 200
    assert not _user("louzhang").must_change_password


@pytest.mark.parametrize("data, message", [
    ({"username": "office", "role": "staff"}, "The username office is taken."),
    ({"username": "Office ", "role": "auditor"}, "The username office is taken."),
    ({"username": "lou", "role": "building_manager"}, "A building manager needs at least one building."),
    ({"username": "s1", "role": "student", "student_number": "999"},
     "A student account needs the student number of an existing student."),
    ({"username": "weak", "role": "inspector", "password": "short"}, "A password needs at least 8 characters."),
])
def test_a_refused_account_says_why_keeps_the_typing_and_creates_nothing(office, login, client, data, message):
    login(office["staff"])
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = client.post("/accounts/", data={"display_name": "某人", **data})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page and 'value="某人"' in page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_the_database_refuses_a_duplicate_username(office):
    from sqlalchemy.exc import IntegrityError
    db.session.add(User(username="office", display_name="x", role=Role.STAFF))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deactivating_signs_the_account_out_at_once_and_reactivating_needs_a_new_sign_in(
        app, office, create_user, login, client):
    worker = create_user("worker", role=Role.REPAIR_WORKER)
    phone = app.test_client()
    assert phone.post("/login", data={"username": "worker", "password": PASSWORD}).status_code == 302
    assert phone.get("/repairs").status_code == 200
    login(office["staff"])
    assert client.post(f"/accounts/{worker.id}/active", data={"active": ""}).status_code == 302
    assert "/login" in phone.get("/repairs").headers["Location"]
    assert phone.post("/login", data={"username": "worker", "password": PASSWORD}).status_code == 200
    assert not _user("worker").active
    client.post(f"/accounts/{worker.id}/active", data={"active": "y"})
    assert "/login" in phone.get("/repairs").headers["Location"]
    assert phone.post("/login", data={"username": "worker", "password": PASSWORD}).status_code == 302
    assert {"user.account.deactivate", "user.account.activate"} <= set(_actions())


def test_staff_cannot_deactivate_themselves_or_leave_no_active_staff(office, create_user, login, client):
    login(office["staff"])
    response = client.post(f"/accounts/{office['staff'].id}/active", data={"active": ""}, follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert _user("office").active
    # The service keeps one active staff account whoever asks (the command line has no "yourself").
    auditor = create_user("auditor", role=Role.AUDITOR)
    with pytest.raises(ServiceError, match="last active housing-office account"):
        accounts.set_active(_user("office"), False, actor=auditor)
    with pytest.raises(ServiceError, match="last active housing-office account"):
        accounts.change_role(_user("office"), Role.AUDITOR, actor=auditor)


def test_a_password_reset_ends_every_sign_in_and_the_new_one_works_once(app, office, create_user, login, client):
    inspector = create_user("inspector", role=Role.INSPECTOR)
    phone = app.test_client()
    phone.post("/login", data={"username": "inspector", "password": PASSWORD})
    login(office["staff"])
    response = client.post(f"/accounts/{inspector.id}/password", data={"password": ""})
    password = _password_on(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"
    assert "/login" in phone.get("/hygiene/rounds").headers["Location"]
    assert phone.post("/login", data={"username": "inspector", "password": PASSWORD}).status_code == 200
    assert phone.post("/login", data={"username": "inspector", "password": password}).status_code == 302
    assert phone.get("/hygiene/rounds").headers["Location"].endswith("/account/password")
    # A password the office types works the same way, and is checked like any other.
    response = client.post(f"/accounts/{inspector.id}/password", data={"password": "inspector"},
                           follow_redirects=True)
    assert "A password must not be the username." in response.get_data(as_text=True)
    assert "user.account.password_reset" in _actions()


def test_a_role_change_takes_the_old_roles_scope_away_and_is_refused_where_it_must_be(
        office, create_user, create_student, login, client):
    manager = create_user("manager", role=Role.BUILDING_MANAGER, buildings=[office["a"]])
    login(office["staff"])
    client.post(f"/accounts/{manager.id}/role", data={"role": "building_manager",
                                                     "buildings": [str(office["a"].id), str(office["b"].id)]})
    assert [b.code for b in _user("manager").managed_buildings] == ["A", "B"]
    client.post(f"/accounts/{manager.id}/role", data={"role": "counselor", "classes": "计科2401，计科2402"})
    user = _user("manager")
    assert user.role == Role.COUNSELOR and user.managed == []
    assert sorted(s.class_name for s in user.scopes) == ["计科2401", "计科2402"]
    student_user = create_user(role=Role.STUDENT, student=create_student())
    for target, role, message in ((student_user, "staff", "A student account stays a student account"),
                                  (office["staff"], "auditor", "You cannot change your own role.")):
        page = client.post(f"/accounts/{target.id}/role", data={"role": role},
                           follow_redirects=True).get_data(as_text=True)
        assert message in page
    assert _user("office").role == Role.STAFF


def test_staff_make_accounts_for_ticked_students_and_download_the_passwords_in_their_language(
        app, office, create_student, create_user, login, client):
    ticked = create_student("2024200001", name="=HYPERLINK(\"x\")", class_name="计科2401")
    other = create_student("2024200002", name="李四", class_name="计科2401")
    has_one = create_student("2024200003", name="王五", class_name="计科2401")
    create_user("2024200003", role=Role.STUDENT, student=has_one)
    login(office["staff"])
    client.post("/language/zh_CN", data={"next": "/"})
    page = client.get("/students/?class_name=计科2401").get_data(as_text=True)
    assert f'value="{ticked.id}" form="bulk-accounts"' in page and f'value="{has_one.id}" form="bulk-accounts"' not in page
    response = client.post("/accounts/students", data={"student": [str(ticked.id), str(has_one.id)],
                                                       "scope": "ticked", "file_format": "csv", "confirm": "yes"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["学号", "姓名", "班级", "用户名", "一次性密码"]
    assert len(rows) == 2 and rows[1][0] == "2024200001" and rows[1][1].startswith("'=")  # inert in a spreadsheet
    password = rows[1][4]
    account = _user("2024200001")
    assert account.student_id == ticked.id and account.must_change_password and password not in account.password_hash
    assert _user("2024200002") is None
    client.post("/logout")
    assert client.post("/login", data={"username": "2024200001", "password": password}).status_code == 302
    assert "user.account.bulk_create" in _actions()
    client.post("/logout")
    audit_page = login(office["staff"]).get("/audit/")
    assert "创建了学生账号" in audit_page.get_data(as_text=True) and "1 个学生账号" in audit_page.get_data(as_text=True)
    assert other  # not ticked: no account


def test_staff_make_accounts_for_every_filtered_student_as_xlsx(app, office, create_student, login, client):
    for n in range(3):
        create_student(f"202430000{n}", class_name="英语2401")
    create_student("2024399999", class_name="法学2401")
    login(office["staff"])
    asked = {"scope": "filtered", "class_name": "英语2401", "file_format": "xlsx"}
    unconfirmed = client.post("/accounts/students", data=asked, follow_redirects=True).get_data(as_text=True)
    assert "tick the box to confirm" in unconfirmed and "3 students without an account were chosen" in unconfirmed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == Role.STUDENT)) == 0
    response = client.post("/accounts/students", data={**asked, "confirm": "yes"})
    assert response.status_code == 200 and response.data[:2] == b"PK"
    db.session.rollback()
    made = set(db.session.scalars(sa.select(User.username).where(User.role == Role.STUDENT)))
    assert made == {"2024300000", "2024300001", "2024300002"}


def test_bulk_accounts_refuse_a_taken_username_and_create_none(office, create_student, create_user, login, client):
    first = create_student("2024400001", class_name="数学2401")
    create_student("2024400002", class_name="数学2401")
    create_user("2024400001", role=Role.INSPECTOR)  # someone else holds the number as a username
    login(office["staff"])
    response = client.post("/accounts/students", data={"scope": "filtered", "class_name": "数学2401",
                                                       "file_format": "csv", "confirm": "yes"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Nothing was created" in page and first.name in page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == Role.STUDENT)) == 0
    response = client.post("/accounts/students", data={"scope": "ticked", "file_format": "csv"},
                           follow_redirects=True)
    assert "Tick the students who need an account" in response.get_data(as_text=True)


def test_bulk_accounts_are_refused_past_the_limit_and_for_students_who_all_have_one(office, monkeypatch,
                                                                                  create_student, create_user):
    monkeypatch.setattr(accounts, "BULK_LIMIT", 2)
    students = [create_student(class_name="历史2401") for _n in range(3)]
    with pytest.raises(ServiceError, match="at most 2 at a time"):
        accounts.create_student_accounts(students, actor=office["staff"])
    with pytest.raises(ServiceError, match="already has an account"):
        accounts.create_student_accounts([], actor=office["staff"])


def test_a_directory_accounts_password_is_reset_in_the_directory(office, create_user):
    counselor = create_user("ldap.counselor", role=Role.COUNSELOR)
    counselor.auth_source = "ldap"
    with pytest.raises(ServiceError, match="campus directory"):
        accounts.reset_password(counselor, actor=office["staff"])


def test_an_account_changing_its_one_time_password_gets_the_pages_styles_and_icon(office, create_user, login):
    user = create_user("first.day", role=Role.INSPECTOR)
    user.must_change_password = True
    client = login(user)
    page = client.get("/account/password").get_data(as_text=True)
    stylesheets = [part.split('"')[0] for part in page.split('<link rel="stylesheet" href="')[1:]]
    assert stylesheets
    for address in [*stylesheets, "/favicon.ico"]:
        assert client.get(address).status_code == 200, address
    assert client.get("/hygiene/rounds").headers["Location"].endswith("/account/password")


def test_students_ticked_far_down_the_list_get_their_accounts(office, create_student, create_user, monkeypatch):
    monkeypatch.setattr(accounts, "BULK_LIMIT", 1)  # the filter reads 10 rows at a time
    students = [create_student(f"20240{n:05d}", class_name="历史2401") for n in range(12)]
    chosen = accounts.students_for_accounts(office["staff"], student_ids=[students[-1].id])
    assert chosen == [students[-1]]
    # Only what the asker may see: a counselor of another class ticks nobody.
    counselor = create_user("counselor.other", role=Role.COUNSELOR, classes=["物理2401"])
    assert accounts.students_for_accounts(counselor, student_ids=[students[-1].id]) == []


def test_student_numbers_differing_only_in_letter_case_are_refused_not_a_failure(office, create_student):
    first, second, third = create_student("ab001"), create_student("AB001"), create_student("ab002")
    with pytest.raises(ServiceError, match="taken") as refusal:
        accounts.create_student_accounts([first, second, third], actor=office["staff"])
    assert "ab001" in str(refusal.value) and "ab002" not in str(refusal.value)


def test_a_directory_accounts_role_is_decided_by_the_directory(office, create_user, login):
    counselor = create_user("ldap.counselor", role=Role.COUNSELOR)
    counselor.auth_source = "ldap"
    page = login(office["staff"]).get(f"/accounts/{counselor.id}").get_data(as_text=True)
    assert 'data-testid="role-from-directory"' in page and 'name="role"' in page and '<select' not in \
        page.split('data-testid="role-form"')[1].split('for="buildings"')[0]  # no role to choose
    with pytest.raises(ServiceError, match="campus directory"):
        accounts.change_role(counselor, Role.BUILDING_MANAGER, building_ids=[office["a"].id], actor=office["staff"])
    assert counselor.role == Role.COUNSELOR and not counselor.managed
    # Its classes may still change (the role stays the directory's).
    accounts.change_role(counselor, Role.COUNSELOR, classes=["历史2401"], actor=office["staff"])
    assert [s.class_name for s in counselor.scopes] == ["历史2401"]


def test_accounts_are_listed_and_searched_and_only_staff_change_them(office, create_user, login, client):
    create_user("wang.worker", role=Role.REPAIR_WORKER)
    create_user("li.inspector", role=Role.INSPECTOR)
    login(office["staff"])
    page = client.get("/accounts/?q=wang").get_data(as_text=True)
    assert 'data-username="wang.worker"' in page and 'data-username="li.inspector"' not in page
    page = client.get("/accounts/?role=inspector").get_data(as_text=True)
    assert 'data-username="li.inspector"' in page and 'data-username="wang.worker"' not in page
    client.post("/logout")
    counselor = create_user("counselor", role=Role.COUNSELOR)
    login(counselor)
    assert client.get("/accounts/").status_code == 403
    assert client.post("/accounts/", data={"username": "x", "role": "staff"}).status_code == 403


@pytest.mark.commits  # two connections, each in its own thread
def test_two_staff_deactivating_each_other_at_once_leave_one_active(app, create_user, monkeypatch):
    """Both count two active staff accounts unless the count locks them: the second must wait and count one."""
    first, second = create_user("first-office", role=Role.STAFF), create_user("second-office", role=Role.STAFF)
    db.session.commit()
    both_counted = threading.Barrier(2, timeout=1)
    count = accounts._active_staff_count

    def counted_then_wait():
        found = count()
        try:
            both_counted.wait()  # without the lock, both pass here having counted two
        except threading.BrokenBarrierError:
            pass  # with it, the other is still waiting for the rows: go on alone
        return found

    monkeypatch.setattr(accounts, "_active_staff_count", counted_then_wait)
    outcomes = run_at_once(app, {
        actor_id: lambda actor_id=actor_id, user_id=user_id: accounts.set_active(
            db.session.get(User, user_id), False, actor=db.session.get(User, actor_id))
        for actor_id, user_id in ((first.id, second.id), (second.id, first.id))}, refused=ServiceError)
    assert sorted(outcome == "won" for outcome in outcomes.values()) == [False, True]
    assert any("last active housing-office account" in outcome for outcome in outcomes.values())
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.role == Role.STAFF, User.active.is_(True))) == 1
