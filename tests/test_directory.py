"""The campus directory against a real OpenLDAP slapd (tests/ldap_server.py): sync and sign-in."""
from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import ldap3
import pytest
import sqlalchemy as sa

from dorms.auth.models import User
from dorms.core.enums import Gender, Role, StudentStatus
from dorms.directory import client, sync
from dorms.directory.mapping import AttributeMap, MapError, describe
from dorms.directory.models import DirectoryRun, SyncKind, SyncStatus
from dorms.directory.settings import DirectorySettings
from dorms.directory.signin import LdapBackend
from dorms.extensions import db
from dorms.notifications.models import Notification
from dorms.notifications.outbox import render
from dorms.jobs.models import JobStatus
from dorms.jobs.workers import work_locally
from dorms.residence.models import Assignment
from dorms.residence.services import assign
from dorms.students.models import CounselorScope, Student

from .ldap_server import (
    BASE,
    GROUPS,
    SERVICE_DN,
    SERVICE_PASSWORD,
    STAFF,
    group,
    student_entry,
)
from .planner_statistics import analyzed_afresh, times_analyzed

ROOT = Path(__file__).resolve().parent.parent
_numbers = itertools.count(1)


class Directory:
    """One test's own subtree of the shared slapd, and the app pointed at it."""

    def __init__(self, slapd, app):
        self.slapd, self.app = slapd, app
        self.tag = uuid.uuid4().hex[:8]
        self.base = f"ou=t{self.tag},ou=students,{BASE}"
        slapd.add([(self.base, {"objectClass": "organizationalUnit", "ou": f"t{self.tag}"})])
        app.config.update(LDAP_URL=slapd.url, LDAP_BIND_DN=SERVICE_DN, LDAP_BIND_PASSWORD=SERVICE_PASSWORD,
                          LDAP_BASE_DN=self.base, LDAP_CA_FILE=str(slapd.ca_file), LDAP_PAGE_SIZE=200,
                          LDAP_USER_BASE_DN=BASE, LDAP_START_TLS=False, LDAP_ATTRIBUTE_MAP=None,
                          LDAP_COUNSELOR_GROUP=None, LDAP_STAFF_GROUP=None, LDAP_STUDENT_GROUP=None)

    def number(self) -> str:
        """A student number no other test's entries use (sign-in searches the whole tree)."""
        return f"9{int(self.tag, 16) % 10**6:06d}{next(_numbers):05d}"

    def student(self, number: str | None = None, name: str = "张伟", **fields):
        number = number or self.number()
        _dn, attributes = student_entry(number, name, **fields)
        return f"uid={number},{self.base}", attributes

    def add(self, *entries):
        self.slapd.add(entries)

    def modified_at(self, *dns: str) -> list[str]:
        """Each entry's modifyTimestamp, as the directory keeps it (to the second)."""
        connection = self.slapd.connection()
        try:
            stamps = []
            for dn in dns:
                connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["modifyTimestamp"])
                stamps.append(str(connection.entries[0].modifyTimestamp.value))
            return stamps
        finally:
            connection.unbind()

    def sync(self, full=True, *, dry_run=False, force=False) -> DirectoryRun:
        run = sync.create_run(SyncKind.FULL if full else SyncKind.INCREMENTAL, dry_run=dry_run, force=force)
        db.session.commit()
        return sync.execute_run(run, DirectorySettings.from_config())


@pytest.fixture
def directory(app, slapd):
    directory = Directory(slapd, app)
    yield directory
    if not slapd.is_running:
        slapd.start()
    slapd.delete(directory.base, recursive=True)


def _students() -> dict[str, Student]:
    db.session.expire_all()
    return {s.student_number: s for s in db.session.scalars(sa.select(Student))}


# --- sync ----------------------------------------------------------------------------


def test_a_full_sync_pages_past_the_server_size_limit_and_a_second_changes_nothing(directory):
    # The server answers at most 500 entries to one search; paging (200 a page) reads them all.
    directory.add(*(directory.student(name=f"学生{i}", gender="MF"[i % 2], class_name=f"计科{i % 40:02d}")
                    for i in range(5000)))
    first = directory.sync()
    assert (first.status, first.entries, first.created, first.skipped) == (SyncStatus.SUCCEEDED, 5000, 5000, 0)
    students = _students()
    assert len(students) == 5000
    assert {s.gender for s in students.values()} == {Gender.MALE, Gender.FEMALE}
    assert all(s.directory_id for s in students.values())
    second = directory.sync()
    assert (second.created, second.updated, second.deactivated, second.unchanged) == (0, 0, 0, 5000)
    assert second.high_water_mark == first.high_water_mark


@pytest.mark.commits
@pytest.mark.backends("postgresql")
def test_a_sync_that_loads_many_students_is_followed_by_analyze_and_one_changing_a_few_is_not(directory):
    directory.add(*(directory.student(name=f"学生{i}") for i in range(100)))
    before = analyzed_afresh("students")
    assert directory.sync().created == 100
    assert times_analyzed("students") == before + 1
    directory.add(directory.student(name="张伟"))
    run = directory.sync()
    assert (run.created, run.unchanged) == (1, 100)
    assert times_analyzed("students") == before + 1


def test_chinese_names_survive_and_the_chinese_campus_map_translates_values(directory, app):
    app.config["LDAP_ATTRIBUTE_MAP"] = str(ROOT / "docs" / "directory" / "cn-campus-map.json")
    number = directory.number()
    directory.add(directory.student(number, "欧阳娜娜", gender="女", college="外国语学院", major="英语",
                                    class_name="英语2401", grade="2024级", status="在读"),
                  directory.student(name="司马光", status="休学"))
    run = directory.sync()
    assert run.status == SyncStatus.SUCCEEDED and run.created == 2
    student = _students()[number]
    assert (student.name, student.gender, student.college, student.major, student.class_name, student.grade,
            student.status) == ("欧阳娜娜", Gender.FEMALE, "外国语学院", "英语", "英语2401", 2024, StudentStatus.ACTIVE)
    assert {s.status for s in _students().values()} == {StudentStatus.ACTIVE, StudentStatus.SUSPENDED}


def test_an_incremental_sync_reads_only_what_changed(directory):
    numbers = [directory.number() for _ in range(30)]
    directory.add(*(directory.student(n) for n in numbers[:-1]))
    # modifyTimestamp has one-second resolution; the mark is the newest one read, and >= reads that
    # second again: here it holds only the last entry.
    time.sleep(1.1)
    directory.add(directory.student(numbers[-1]))
    assert directory.sync().created == 30
    time.sleep(1.1)
    directory.slapd.modify(f"uid={numbers[0]},{directory.base}", {"departmentNumber": "计科9901"})
    directory.add(directory.student(new := directory.number(), "李雷"))
    run = directory.sync(full=False)
    assert run.kind == SyncKind.INCREMENTAL and run.status == SyncStatus.SUCCEEDED
    assert run.entries == 3 and (run.created, run.updated, run.unchanged) == (1, 1, 1)
    assert _students()[numbers[0]].class_name == "计科9901" and new in _students()
    # The mark is now the newer of the two changes' seconds: read again are those of that second, both when the
    # two landed in one second, the later alone when a busy machine put a second between them.
    stamps = directory.modified_at(f"uid={numbers[0]},{directory.base}", f"uid={new},{directory.base}")
    newest = stamps.count(max(stamps))
    again = directory.sync(full=False)
    assert (again.entries, again.created, again.updated, again.unchanged) == (newest, 0, 0, newest)


def test_an_incremental_sync_without_a_previous_one_reads_everything(directory):
    directory.add(directory.student())
    run = directory.sync(full=False)
    assert run.kind == SyncKind.FULL and run.created == 1


def test_students_gone_or_graduated_become_inactive_keep_their_bed_and_are_listed(directory, create_room):
    stays, leaves, graduates = (directory.number() for _ in range(3))
    directory.add(*(directory.student(n) for n in (stays, leaves, graduates)),
                  *(directory.student() for _ in range(60)))  # so that two leaving stay under the 5% guard
    directory.sync()
    room = create_room(capacity=4, gender=Gender.FEMALE)
    students = _students()
    assign(students[leaves], room.beds[0], reason="test")
    db.session.commit()
    directory.slapd.delete(f"uid={leaves},{directory.base}")
    directory.slapd.modify(f"uid={graduates},{directory.base}", {"eduPersonAffiliation": ["alum", "member"]})
    run = directory.sync()
    assert (run.status, run.deactivated, run.updated) == (SyncStatus.SUCCEEDED, 1, 1)
    students = _students()
    assert students[leaves].status == StudentStatus.LEFT
    assert students[graduates].status == StudentStatus.GRADUATED
    assert students[stays].status == StudentStatus.ACTIVE
    assert db.session.scalar(sa.select(Assignment.bed_id).where(
        Assignment.student_id == students[leaves].id, Assignment.ended_at.is_(None))) == room.beds[0].id
    assert [r["student_number"] for r in run.inactive_residents] == [leaves]
    # Back in the directory: active again.
    directory.add(directory.student(leaves))
    assert directory.sync().updated == 1 and _students()[leaves].status == StudentStatus.ACTIVE


def test_missing_and_malformed_entries_are_skipped_with_their_reason(directory):
    twice = directory.number()
    good = directory.number()
    directory.add(
        directory.student(good),
        directory.student(employeeNumber=None),
        directory.student(schacGender="9"),
        directory.student(displayName=None, cn="   "),
        directory.student(twice), directory.student(twice + "0", employeeNumber=twice),
        directory.student(eduPersonAffiliation="library-walk-in"),
    )
    run = directory.sync()
    assert (run.created, run.skipped) == (1, 6)
    reasons = sorted(describe(s["code"], s["params"]) for s in run.skipped_entries)
    assert any(r.startswith("missing key: no employeeNumber") for r in reasons)
    assert any(r.startswith("gender: '9' is not a known value") for r in reasons)
    assert any(r.startswith("name: no displayName / cn") for r in reasons)
    assert sum(r == f"duplicate key: 2 entries have {twice}" for r in reasons) == 2
    assert any(r.startswith("status: 'library-walk-in'") for r in reasons)
    assert set(_students()) == {good}


def test_a_wrong_service_password_fails_and_changes_nothing(directory, app):
    directory.add(directory.student())
    app.config["LDAP_BIND_PASSWORD"] = "wrong"
    run = directory.sync()
    assert run.status == SyncStatus.FAILED and "refused the bind" in run.error
    assert _students() == {}


def test_a_server_that_stops_mid_sync_leaves_the_data_as_it_was(directory, monkeypatch):
    numbers = [directory.number() for _ in range(600)]
    directory.add(*(directory.student(n) for n in numbers))
    directory.sync()
    for n in numbers[:5]:
        directory.slapd.modify(f"uid={n},{directory.base}", {"displayName": "改名", "cn": "改名"})
    original = client.paged_search

    def stop_after_first_page(*args, **kwargs):
        for index, entry in enumerate(original(*args, **kwargs)):
            if index == 250:  # mid-way through the second page
                directory.slapd.stop()
            yield entry

    monkeypatch.setattr(client, "paged_search", stop_after_first_page)
    run = directory.sync()
    assert run.status == SyncStatus.FAILED and "stopped answering" in run.error
    assert {s.name for s in _students().values()} == {"张伟"}


def test_a_wrong_base_or_an_emptied_directory_is_never_read_as_everyone_leaving(directory, app, create_user):
    staff = create_user(role=Role.STAFF)
    directory.add(*(directory.student() for _ in range(40)))
    directory.sync()
    app.config["LDAP_BASE_DN"] = f"ou=nowhere,{BASE}"
    wrong = directory.sync()
    assert wrong.status == SyncStatus.FAILED and "noSuchObject" in wrong.error
    empty = f"ou=empty{directory.tag},{BASE}"
    directory.add((empty, {"objectClass": "organizationalUnit", "ou": f"empty{directory.tag}"}))
    try:
        app.config["LDAP_BASE_DN"] = empty
        held = directory.sync()
        assert held.status == SyncStatus.HELD and "40 of 40 active students" in held.error
        # Staff are told of both, in either language.
        failed_note, held_note = db.session.scalars(sa.select(Notification).where(
            Notification.user_id == staff.id).order_by(Notification.id)).all()
        assert render(failed_note, "en")[0] == f"Directory sync #{wrong.id} failed" and "noSuchObject" in \
            render(failed_note, "zh_CN")[1] and render(failed_note, "zh_CN")[0] == f"目录同步 #{wrong.id} 失败"
        assert "40 of 40 active students inactive" in render(held_note, "en")[1]
        assert render(held_note, "zh_CN")[1].startswith("此次同步会使 40 名在读学生中的 40 名变为非在读")
        assert all(s.status == StudentStatus.ACTIVE for s in _students().values())
        dry = directory.sync(dry_run=True, force=True)
        assert (dry.status, dry.deactivated, dry.dry_run) == (SyncStatus.SUCCEEDED, 40, True)
        assert all(s.status == StudentStatus.ACTIVE for s in _students().values())
        forced = directory.sync(force=True)
        assert forced.status == SyncStatus.SUCCEEDED and forced.deactivated == 40
        assert all(s.status == StudentStatus.LEFT for s in _students().values())
    finally:
        directory.slapd.delete(empty)


def test_a_dry_run_reports_changes_and_writes_nothing(directory):
    directory.add(*(directory.student() for _ in range(3)))
    run = directory.sync(dry_run=True)
    assert (run.status, run.created, run.dry_run) == (SyncStatus.SUCCEEDED, 3, True)
    assert [c["action"] for c in run.changes] == ["create"] * 3
    assert run.high_water_mark is None and _students() == {}
    assert directory.sync(full=False).kind == SyncKind.FULL  # a dry run leaves no mark to continue from


def test_start_tls_and_ldaps_check_the_certificate(directory, app, tmp_path):
    directory.add(directory.student())
    app.config.update(LDAP_START_TLS=True)
    assert directory.sync().status == SyncStatus.SUCCEEDED
    app.config.update(LDAP_START_TLS=False, LDAP_URL=directory.slapd.ldaps_url)
    assert directory.sync().status == SyncStatus.SUCCEEDED
    other_ca = tmp_path / "other-ca.pem"  # a CA that did not sign the server's certificate
    other_ca.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text()
                        if Path("/etc/ssl/certs/ca-certificates.crt").exists() else "")
    app.config.update(LDAP_CA_FILE=str(other_ca))
    refused = directory.sync()
    assert refused.status == SyncStatus.FAILED and "cannot reach the directory" in refused.error


def test_counselor_accounts_and_scopes_follow_the_directory_group(directory, app):
    username = f"teacher{directory.tag}"
    counselor_dn = f"uid={username},{STAFF}"
    directory.add((counselor_dn, {"objectClass": ["inetOrgPerson", "campusCounselor"], "uid": username,
                                  "cn": "王老师", "sn": "王", "displayName": "王老师",
                                  "departmentNumber": ["计科2401", "计科2402"], "userPassword": "teach-secret"}),
                  group(f"counselors{directory.tag}", [counselor_dn]))
    app.config["LDAP_COUNSELOR_GROUP"] = f"cn=counselors{directory.tag},{GROUPS}"
    try:
        assert directory.sync().counselors == 1
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert (user.role, user.auth_source, user.display_name) == (Role.COUNSELOR, "ldap", "王老师")
        assert sorted(s.class_name for s in user.scopes) == ["计科2401", "计科2402"]
        assert directory.sync().counselors == 0  # nothing changed
        directory.slapd.modify(counselor_dn, {"departmentNumber": ["计科2403"]})
        assert directory.sync().counselors == 1
        db.session.expire_all()
        assert [s.class_name for s in user.scopes] == ["计科2403"]
        directory.slapd.modify(f"cn=counselors{directory.tag},{GROUPS}", {"member": [""]})
        left = directory.sync()
        assert (left.status, left.counselors) == (SyncStatus.SUCCEEDED, 1), left.error
        db.session.expire_all()
        assert not user.active and user.scopes == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CounselorScope)) == 0
    finally:
        directory.slapd.delete(f"cn=counselors{directory.tag},{GROUPS}")
        directory.slapd.delete(counselor_dn)


# --- sign-in -------------------------------------------------------------------------


def test_students_and_counselors_sign_in_with_campus_credentials(directory, app, client):
    number = directory.number()
    directory.add(directory.student(number, "韩梅梅", password="campus-pass-1"))
    directory.sync()
    response = client.post("/login", data={"username": number, "password": "campus-pass-1"})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == number))
    assert (user.role, user.auth_source, user.student.name) == (Role.STUDENT, "ldap", "韩梅梅")
    page = client.get("/students/me", follow_redirects=True)
    assert page.status_code == 200 and "韩梅梅" in page.get_data(as_text=True)
    client.post("/logout")
    assert client.post("/login", data={"username": number, "password": "wrong"}).status_code == 200

    username = f"staff{directory.tag}"
    staff_dn = f"uid={username},{STAFF}"
    directory.add((staff_dn, {"objectClass": "inetOrgPerson", "uid": username, "cn": "李主任", "sn": "李",
                              "userPassword": "office-pass-1"}),
                  group(f"office{directory.tag}", [staff_dn]))
    app.config["LDAP_STAFF_GROUP"] = f"cn=office{directory.tag},{GROUPS}"
    try:
        assert client.post("/login", data={"username": username, "password": "office-pass-1"}).status_code == 302
        assert db.session.scalar(sa.select(User.role).where(User.username == username)) == Role.STAFF
        assert client.get("/directory/").status_code == 200
        client.post("/logout")
        # Out of the group and outside the student subtree: no role, no sign-in.
        directory.slapd.modify(f"cn=office{directory.tag},{GROUPS}", {"member": [""]})
        assert client.post("/login", data={"username": username, "password": "office-pass-1"}).status_code == 200
    finally:
        directory.slapd.delete(f"cn=office{directory.tag},{GROUPS}")
        directory.slapd.delete(staff_dn)


def test_an_injection_in_the_username_matches_nobody(directory, app):
    number = directory.number()
    directory.add(directory.student(number, password="campus-pass-2"))
    directory.sync()
    backend = LdapBackend()
    assert backend.authenticate(number, "campus-pass-2") is not None
    # Unescaped, "9…*" would be a wildcard matching this one entry, and the bind would succeed.
    assert backend.authenticate(number[:-1] + "*", "campus-pass-2") is None
    assert backend.authenticate(f"{number})(uid=*", "campus-pass-2") is None
    assert client.user_filter("(uid={username})", "a*)(|(uid=*") == r"(uid=a\2a\29\28|\28uid=\2a)"


def test_anonymous_and_empty_password_binds_are_refused(directory):
    number = directory.number()
    directory.add(directory.student(number, password="campus-pass-3"))
    directory.sync()
    assert LdapBackend().authenticate(number, "") is None
    with pytest.raises(client.DirectoryError, match="anonymous"):
        client.connect(DirectorySettings.from_config(), f"uid={number},{directory.base}", "")


def test_a_local_account_is_not_taken_over_by_a_directory_entry_of_the_same_name(directory, create_user):
    local = create_user("admin1", role=Role.STAFF)
    directory.add(directory.student("admin1", password="campus-pass-4"))
    directory.sync()
    assert LdapBackend().authenticate("admin1", "campus-pass-4") is None
    db.session.refresh(local)
    assert (local.auth_source, local.role) == ("local", Role.STAFF)


# --- the staff page ------------------------------------------------------------------


@pytest.mark.commits
def test_only_staff_see_the_directory_page_and_a_sync_started_there_runs_in_a_job(
        directory, client, login, create_user, create_student):
    counselor = create_user(role=Role.COUNSELOR, classes=["计科2401"])
    student = create_user(role=Role.STUDENT, student=create_student())
    for user in (counselor, student):
        login(user)
        assert client.get("/directory/").status_code == 403
        assert client.post("/directory/", data={"kind": "full"}).status_code == 403
        client.post("/logout")
    login(create_user(role=Role.STAFF))
    directory.add(directory.student(name="张伟"))
    # The student record made above is not in the directory: leaving it is forced through.
    response = client.post("/directory/", data={"kind": "full", "force": "y"})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert db.session.get(DirectoryRun, run_id).status == SyncStatus.QUEUED  # the request only queued it
    work_locally(burst=True)  # the job worker
    db.session.rollback()
    run = db.session.get(DirectoryRun, run_id)
    assert run.job.status == JobStatus.SUCCEEDED and run.job.result["created"] == 1
    assert run.status == SyncStatus.SUCCEEDED, run.error
    page = client.get(f"/directory/runs/{run_id}").get_data(as_text=True)
    assert "1 entries read: 1 created, 0 updated, 1 deactivated" in page and f'href="/jobs/{run.job_id}"' in page
    assert client.get("/directory/").status_code == 200


# --- the attribute map ---------------------------------------------------------------


def test_an_attribute_map_names_what_is_wrong():
    with pytest.raises(MapError, match="unknown student fields dormitory"):
        AttributeMap.from_dict({"fields": {"student_number": "uid", "name": "cn", "gender": "g", "dormitory": "x"}})
    with pytest.raises(MapError, match="the field gender needs an attribute"):
        AttributeMap.from_dict({"fields": {"student_number": "uid", "name": "cn"}})
    with pytest.raises(MapError, match="translates to 'X', not M or F"):
        AttributeMap.from_dict({"fields": {"student_number": "uid", "name": "cn", "gender": "g"},
                                "values": {"gender": {"1": "X"}}})
    with pytest.raises(MapError, match="key"):
        AttributeMap.from_dict({"key": "dn", "fields": {"student_number": "uid", "name": "cn", "gender": "g"}})


def test_value_translations_and_the_status_precedence():
    attribute_map = AttributeMap.default()
    entry = {"employeenumber": ["1"], "cn": ["张三"], "schacgender": ["2"],
             "edupersonaffiliation": ["alum", "student", "member"]}
    record = attribute_map.read("uid=1", entry)
    assert (record.gender, record.status) == (Gender.FEMALE, StudentStatus.ACTIVE)  # a student who is also an alum
    record = attribute_map.read("uid=1", {**entry, "edupersonaffiliation": ["alum"], "schacgender": ["男"]})
    assert (record.gender, record.status) == (Gender.MALE, StudentStatus.GRADUATED)



def test_keyed_on_the_directory_id_a_new_student_number_keeps_the_record(directory, app, tmp_path):
    attribute_map = tmp_path / "map.json"
    attribute_map.write_text(json.dumps({
        "key": "directory_id",
        "fields": {"student_number": "employeeNumber", "directory_id": "entryUUID", "name": "cn",
                   "gender": "schacGender"},
        "values": {"gender": {"1": "M", "2": "F"}}}))
    app.config["LDAP_ATTRIBUTE_MAP"] = str(attribute_map)
    number, renumbered = directory.number(), directory.number()
    directory.add(directory.student(number))
    assert directory.sync().created == 1
    student_id = _students()[number].id
    directory.slapd.modify(f"uid={number},{directory.base}", {"employeeNumber": renumbered})
    run = directory.sync()
    assert (run.updated, run.created, run.deactivated) == (1, 0, 0)
    assert _students()[renumbered].id == student_id


def test_a_server_that_ignores_the_paging_control_fails_the_run(directory, monkeypatch):
    directory.add(*(directory.student() for _ in range(3)))
    search = ldap3.Connection.search

    def without_paging(self, *args, **kwargs):
        outcome = search(self, *args, **kwargs)
        self.result.pop("controls", None)  # as a server that does not implement RFC 2696 answers
        return outcome

    monkeypatch.setattr(ldap3.Connection, "search", without_paging)
    run = directory.sync()
    assert run.status == SyncStatus.FAILED and "ignored the paged-results control" in run.error
    assert _students() == {}


def test_the_command_line_syncs_and_refuses_a_broken_attribute_map(directory, app, tmp_path):
    directory.add(directory.student(directory.number(), "张伟"), directory.student(schacGender="9"))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["directory", "sync", "--full", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "succeeded; 2 entries read, 1 created" in dry.output and "gender: '9' is not a known value" in dry.output
    assert _students() == {}
    assert runner.invoke(args=["directory", "sync", "--full"]).exit_code == 0
    assert len(_students()) == 1
    broken = tmp_path / "map.json"
    broken.write_text('{"fields": {"student_number": "uid"}}')
    app.config["LDAP_ATTRIBUTE_MAP"] = str(broken)
    refused = runner.invoke(args=["directory", "sync"])
    assert refused.exit_code != 0 and "the field name needs an attribute" in refused.output
    assert db.session.scalars(sa.select(DirectoryRun).order_by(DirectoryRun.id.desc())).first().status \
        == SyncStatus.FAILED


def test_cards_come_from_a_directory_attribute_and_match_earlier_events(directory, app, tmp_path):
    from dorms.access.models import AccessEvent, Card

    app.config["LDAP_ATTRIBUTE_MAP"] = str(ROOT / "docs" / "directory" / "cn-campus-map.json")
    number, other = directory.number(), directory.number()
    # A door event of the card before anyone knew whose it is.
    db.session.add(AccessEvent(event_id="early", card="12345678", building="D1", door="", direction="in",
                               occurred_at=datetime(2026, 9, 7, 13, tzinfo=UTC), granted=True))
    db.session.commit()
    directory.add(directory.student(number, campusCardNumber=["0xBC614E", "0012345679"]),
                  directory.student(other), directory.student(campusCardNumber="lost?"))
    run = directory.sync()
    assert (run.created, run.cards, run.skipped) == (2, 2, 1)
    assert any(s["code"] == "bad_card" for s in run.skipped_entries)
    students = _students()
    assert dict(db.session.execute(sa.select(Card.number, Card.student_id)).all()) == {
        "12345678": students[number].id, "12345679": students[number].id}
    assert db.session.scalar(sa.select(AccessEvent.student_id).where(AccessEvent.event_id == "early")) \
        == students[number].id
    assert directory.sync().cards == 0
    # The card system hands card 12345679 on: the directory now lists it for the other student.
    directory.slapd.modify(f"uid={number},{directory.base}", {"campusCardNumber": ["12345678"]})
    directory.slapd.modify(f"uid={other},{directory.base}", {"campusCardNumber": ["12345679"]})
    assert directory.sync().cards == 1
    assert db.session.scalar(sa.select(Card.student_id).where(Card.number == "12345679")) == students[other].id


def test_door_pins_come_from_a_directory_attribute_beside_cards(directory, app, tmp_path):
    from dorms.access.models import AccessEvent, Card

    attribute_map = json.loads((ROOT / "docs" / "directory" / "cn-campus-map.json").read_text(encoding="utf-8"))
    attribute_map["pins"] = ["campusDoorPin"]
    path = tmp_path / "map.json"
    path.write_text(json.dumps(attribute_map), encoding="utf-8")
    app.config["LDAP_ATTRIBUTE_MAP"] = str(path)
    number, other = directory.number(), directory.number()
    # A face terminal's entry under the PIN, in other letters, before anyone knew whose it is.
    db.session.add(AccessEvent(event_id="face", card="nlvjla052", building="D1", door="", direction="in",
                               occurred_at=datetime(2026, 9, 7, 13, tzinfo=UTC), granted=True))
    db.session.commit()
    directory.add(directory.student(number, campusCardNumber=["1001"], campusDoorPin=["NLVJLA052"]),
                  directory.student(other, campusDoorPin=["B205"]), directory.student(campusDoorPin="no pin!"))
    run = directory.sync()
    assert (run.created, run.cards, run.skipped) == (2, 3, 1)
    assert any(s["code"] == "bad_pin" for s in run.skipped_entries)
    students = _students()
    assert db.session.execute(sa.select(Card.number, Card.kind, Card.student_id).order_by(Card.number)).all() == [
        ("1001", "card", students[number].id), ("B205", "pin", students[other].id),
        ("NLVJLA052", "pin", students[number].id)]  # B205 kept as written, not read as hexadecimal
    assert db.session.scalar(sa.select(AccessEvent.student_id)) == students[number].id
    assert directory.sync().cards == 0
