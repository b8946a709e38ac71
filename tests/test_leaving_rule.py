"""One record of who lives where: every change of bed outside the check-in desk obeys the office's rule
(refuse, or check out in the same change and carry a move's check-in over), and a rollback puts back what
its apply closed. One test per entry path, in both settings."""
import re

import pytest
import sqlalchemy as sa

from dorms.allocation import services as allocation
from dorms.allocation.models import AllocationMove, AllocationRun, MoveReason, RunMode, RunStatus
from dorms.checkin import leaving
from dorms.checkin import services as checkin
from dorms.checkin.models import CheckIn, CheckOut, KeyIssue, KeyKind, KeyStatus, LeavingPolicy
from dorms.core.enums import GenderPolicy, Role, StudentStatus
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.facilities import services as facilities
from dorms.facilities.models import ItemKind
from dorms.residence import services as residence
from dorms.transfer.importing import ImportRejected, import_file

POLICIES = [LeavingPolicy.REFUSE, LeavingPolicy.CHECK_OUT]


@pytest.fixture
def campus(create_building, create_room, create_student, create_user):
    """A1 (men): 王 checked in to 101-1 with two keys (report acknowledged); 李 in 101-2, not checked in;
    room 102 empty, with a desk."""
    a1 = create_building("A1", gender_policy=GenderPolicy.MALE)
    room, other = create_room(a1, "101", capacity=2), create_room(a1, "102", capacity=2)
    facilities.add_item(room, ItemKind.DESK, asset_label="GZ-0001")
    facilities.add_item(other, ItemKind.DESK, asset_label="GZ-0101")
    wang, li = create_student("2024000001", name="王小明"), create_student("2024000002", name="李大壮")
    residence.assign(wang, room.beds[0], reason="intake")
    residence.assign(li, room.beds[1], reason="intake")
    record = checkin.check_in(wang, keys=[checkin.KeyInput(KeyKind.ROOM_KEY, "101-1"),
                                          checkin.KeyInput(KeyKind.ACCESS_CARD, "0012345678")])
    checkin.acknowledge(record, wang)
    db.session.commit()
    return {"room": room, "other": other, "wang": wang, "li": li, "record": record, "staff": create_user("staff")}


def _policy(policy: LeavingPolicy) -> None:
    leaving.set_leaving_policy(policy)
    db.session.commit()


def _bed(student) -> str | None:
    assignment = residence.current_assignment(student)
    return assignment.bed.code if assignment else None


def _assert_untouched(campus) -> None:
    """Nothing changed: 王 still in 101-1, checked in with both keys out; 李 still in 101-2."""
    db.session.expire_all()
    assert (_bed(campus["wang"]), _bed(campus["li"])) == ("A1-101-1", "A1-101-2")
    record = checkin.current_check_in(campus["wang"])
    assert record.id == campus["record"].id and record.check_out is None
    assert [k.status for k in record.keys] == [KeyStatus.ISSUED, KeyStatus.ISSUED]


def _assert_carried_over(campus, to_bed: str) -> CheckIn:
    """王 lives in ``to_bed``, checked in there with the keys he holds; the old check-in closed as a room change."""
    db.session.expire_all()
    assert _bed(campus["wang"]) == to_bed
    old = db.session.get(CheckIn, campus["record"].id)
    assert old.check_out is not None and old.check_out.automatic and old.check_out.reason == "room change"
    new = checkin.current_check_in(campus["wang"])
    assert new is not None and new.check_out is None and new.carried_from_id == old.id
    assert sorted((k.label, k.status) for k in new.keys) == [("0012345678", KeyStatus.ISSUED),
                                                             ("101-1", KeyStatus.ISSUED)]
    assert [item.asset_label for item in new.items] == ["GZ-0101"]  # the new room's report
    # The desk does not wait for him, and offers no fresh check-in.
    waiting, _total = checkin.expected()
    assert campus["wang"].id not in {a.student_id for a in waiting}
    return new


# --- the student page: move and vacate ----------------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_the_student_page_move_obeys_the_rule(campus, client, login, policy):
    _policy(policy)
    login(campus["staff"])
    bed = campus["other"].beds[0]
    page = client.post(f"/beds/{bed.id}/place", data={"student_number": "2024000001", "reason": "asked"},
                       follow_redirects=True).get_data(as_text=True)
    if policy == LeavingPolicy.REFUSE:
        assert "王小明" in page and "check-in desk" in page
        assert f'href="/checkin/students/{campus["wang"].id}/room-change"' in page  # where to put it right
        _assert_untouched(campus)
    else:
        assert "now lives in A1-102-1" in page
        _assert_carried_over(campus, "A1-102-1")


@pytest.mark.parametrize("policy", POLICIES)
def test_the_student_page_vacate_obeys_the_rule(campus, client, login, policy):
    _policy(policy)
    login(campus["staff"])
    page = client.post(f"/students/{campus['wang'].id}/vacate", data={"reason": "left"},
                       follow_redirects=True).get_data(as_text=True)
    if policy == LeavingPolicy.REFUSE:
        assert "王小明" in page and f'href="/checkin/students/{campus["wang"].id}/check-out"' in page
        _assert_untouched(campus)
    else:
        db.session.expire_all()
        assert _bed(campus["wang"]) is None
        record = db.session.get(CheckIn, campus["record"].id)
        assert record.check_out.automatic and record.check_out.reason == "check-out"
        # Keys not handed back stay out on the closed check-in, for the desk.
        assert [k.status for k in record.keys] == [KeyStatus.ISSUED, KeyStatus.ISSUED]
        assert checkin.current_check_in(campus["wang"]) is None


def test_a_student_without_a_check_in_moves_as_before(campus):
    residence.move(campus["li"], campus["other"].beds[0], reason="asked")  # refuse is the default
    db.session.commit()
    assert _bed(campus["li"]) == "A1-102-1"
    assert checkin.current_check_in(campus["li"]) is None


def test_the_desk_room_change_and_check_out_are_not_refused(campus):
    key_answers = {k.id: checkin.KeyReturn(True) for k in campus["record"].keys}
    checkin.change_room(campus["wang"], campus["other"].beds[0], checkin.Inspection({}, key_answers, []))
    db.session.commit()
    record = checkin.current_check_in(campus["wang"])
    assert record.carried_from_id is None and not record.keys  # the desk's own way, not the rule's
    checkin.check_out(campus["wang"], checkin.Inspection({}, {}, []))
    db.session.commit()
    assert _bed(campus["wang"]) is None


# --- an allocation run and a requests round -----------------------------------------------------------------

def _proposal(campus, mode: RunMode, moves: list[tuple]) -> AllocationRun:
    """A finished run proposing ``moves`` ((student, to bed or None)), as the solver would store it."""
    snapshot = {str(a.student_id): a.bed_id for a in allocation._current_beds().values()}
    run = AllocationRun(mode=mode, building_ids=[], time_limit=2, status=RunStatus.DONE, snapshot=snapshot,
                        request_outcomes={})
    reason = MoveReason.REQUESTED if mode == RunMode.REQUESTS else MoveReason.IMPROVED
    for student, bed in moves:
        run.moves.append(AllocationMove(student_id=student.id, from_bed_id=residence.current_assignment(student).bed_id,
                                        to_bed_id=bed.id if bed else None,
                                        reason=(reason if bed else MoveReason.INACTIVE).value))
    db.session.add(run)
    db.session.commit()
    return run


@pytest.mark.parametrize("mode", [RunMode.REALLOCATION, RunMode.REQUESTS])
@pytest.mark.parametrize("policy", POLICIES)
def test_applying_a_run_or_round_obeys_the_rule(campus, policy, mode):
    _policy(policy)
    other = campus["other"]
    run = _proposal(campus, mode, [(campus["wang"], other.beds[0]), (campus["li"], other.beds[1])])
    if policy == LeavingPolicy.REFUSE:
        with pytest.raises(ServiceError) as refused:
            allocation.apply_run(run)
        db.session.rollback()
        assert "2024000001 王小明 (A1-101-1)" in str(refused.value) and "李大壮" not in str(refused.value)
        _assert_untouched(campus)  # 李, who could move, did not: all or nothing
        assert db.session.get(AllocationRun, run.id).status == RunStatus.DONE
    else:
        assert allocation.apply_run(run) == 2
        db.session.commit()
        _assert_carried_over(campus, "A1-102-1")
        assert _bed(campus["li"]) == "A1-102-2"


def test_a_refused_run_lists_every_student_concerned(campus, create_student):
    zhao = create_student("2024000003", name="赵六")
    residence.assign(zhao, campus["other"].beds[0], reason="intake")
    checkin.check_in(zhao)
    db.session.commit()
    run = _proposal(campus, RunMode.REALLOCATION, [(campus["wang"], None),
                                                   (zhao, None)])
    with pytest.raises(ServiceError) as refused:
        allocation.apply_run(run)
    db.session.rollback()
    assert "王小明" in str(refused.value) and "赵六" in str(refused.value)


@pytest.mark.parametrize("switched_to", POLICIES)
def test_rollback_restores_the_check_ins_and_keys_the_apply_closed(campus, create_student, switched_to):
    """Checked out automatically by the apply (a move and a vacate), put back by the rollback: the original
    check-in's report, acknowledgement and keys, whatever the setting says by then."""
    zhao = create_student("2024000003", name="赵六")
    residence.assign(zhao, campus["other"].beds[1], reason="intake")
    zhao_record = checkin.check_in(zhao, keys=[checkin.KeyInput(KeyKind.ROOM_KEY, "102-2")])
    zhao.status = StudentStatus.GRADUATED
    db.session.commit()
    original = {"at": campus["record"].checked_in_at, "acknowledged": campus["record"].acknowledged_at}
    _policy(LeavingPolicy.CHECK_OUT)
    run = _proposal(campus, RunMode.REALLOCATION, [(campus["wang"], campus["other"].beds[0]), (zhao, None)])
    allocation.apply_run(run)
    db.session.commit()
    _assert_carried_over(campus, "A1-102-1")
    assert checkin.current_check_in(zhao) is None
    assert db.session.get(CheckIn, zhao_record.id).check_out.automatic

    _policy(switched_to)
    assert allocation.rollback_run(db.session.get(AllocationRun, run.id)) == 2
    db.session.commit()
    db.session.expire_all()
    assert (_bed(campus["wang"]), _bed(zhao)) == ("A1-101-1", "A1-102-2")
    wang = checkin.current_check_in(campus["wang"])
    assert wang.id != campus["record"].id  # a new assignment, so a new check-in; the history stays
    assert (wang.checked_in_at, wang.acknowledged_at) == (original["at"], original["acknowledged"])
    assert [item.asset_label for item in wang.items] == ["GZ-0001"]
    assert sorted(k.label for k in wang.keys if k.status == KeyStatus.ISSUED) == ["0012345678", "101-1"]
    zhao_now = checkin.current_check_in(zhao)
    assert [(k.label, k.status) for k in zhao_now.keys] == [("102-2", KeyStatus.ISSUED)]
    # Every key is held once: none left behind on a closed check-in.
    assert db.session.scalar(sa.select(sa.func.count(KeyIssue.id))) == 3
    waiting, _total = checkin.expected()
    assert not {campus["wang"].id, zhao.id} & {a.student_id for a in waiting}


def test_rollback_obeys_the_rule_for_a_check_in_made_at_the_desk_since(campus):
    """Not the apply's doing: a check-in at the desk after the apply is not the rollback's to carry back."""
    run = _proposal(campus, RunMode.REALLOCATION, [(campus["li"], campus["other"].beds[0])])
    allocation.apply_run(run)
    db.session.commit()
    checkin.check_in(campus["li"])
    db.session.commit()
    with pytest.raises(ServiceError, match="李大壮"):
        allocation.rollback_run(db.session.get(AllocationRun, run.id))
    db.session.rollback()
    assert _bed(campus["li"]) == "A1-102-1"


# --- a student import ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_a_student_import_obeys_the_rule(campus, policy):
    _policy(policy)
    data = ("student_number,name,gender,building,room,bed\n"
            "2024000001,王小明,男,A1,102,1\n"
            "2024000002,李大壮,男,A1,102,2\n").encode()
    if policy == LeavingPolicy.REFUSE:
        with pytest.raises(ImportRejected) as rejected:
            import_file("students", "s.csv", data, moves_confirmed=True)
        db.session.rollback()
        assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "bed")]
        assert "王小明" in rejected.value.errors[0].message and "check-in desk" in rejected.value.errors[0].message
        _assert_untouched(campus)
    else:
        report = import_file("students", "s.csv", data, moves_confirmed=True)
        db.session.commit()
        assert report.placed == 2
        _assert_carried_over(campus, "A1-102-1")


# --- the setting --------------------------------------------------------------------------------------------

def test_refuse_is_the_default_and_staff_change_it_in_the_app(campus, client, login):
    assert leaving.settings().leaving == LeavingPolicy.REFUSE
    login(campus["staff"])
    # The page shows the setting in force (every choice's label is on it whichever is chosen).
    assert re.search(r'<option selected value="refuse">', client.get("/checkin/settings").get_data(as_text=True))
    client.post("/checkin/settings", data={"leaving": "check_out"})
    db.session.expire_all()
    assert leaving.settings().leaving == LeavingPolicy.CHECK_OUT
    assert re.search(r'<option selected value="check_out">', client.get("/checkin/settings").get_data(as_text=True))


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.STUDENT])
def test_only_staff_see_or_change_the_setting(campus, client, login, create_user, role):
    user = create_user(f"u-{role.value}", role=role, classes=["计科2401"],
                       student=campus["li"] if role == Role.STUDENT else None)
    login(user)
    assert client.get("/checkin/settings").status_code == 403
    assert client.post("/checkin/settings", data={"leaving": "check_out"}).status_code == 403
    assert leaving.settings().leaving == LeavingPolicy.REFUSE
    key = campus["record"].keys[0]
    assert client.post(f"/checkin/{campus['record'].id}/settle-keys",
                       data={f"key-{key.id}": "returned"}).status_code == 403


def test_the_desk_records_the_keys_an_automatic_check_out_left_open(campus, client, login):
    _policy(LeavingPolicy.CHECK_OUT)
    record = campus["record"]
    with pytest.raises(ServiceError, match="has not checked out"):
        leaving.settle_keys(record, {record.keys[0].id: checkin.KeyReturn(True)})
    residence.vacate(campus["wang"], reason="left")
    db.session.commit()
    login(campus["staff"])
    page = client.get(f"/checkin/{record.id}").get_data(as_text=True)
    assert 'data-testid="open-keys"' in page
    room_key, card = sorted(record.keys, key=lambda k: k.kind.value != "room_key")
    client.post(f"/checkin/{record.id}/settle-keys",
                data={f"key-{room_key.id}": "returned", f"key-{card.id}": "missing", f"key-{card.id}-charge": "20"})
    db.session.expire_all()
    statuses = {k.label: (k.status, k.charge_cents) for k in db.session.get(CheckIn, record.id).keys}
    assert statuses == {"101-1": (KeyStatus.RETURNED, None), "0012345678": (KeyStatus.MISSING, 2000)}
    assert 'data-testid="open-keys"' not in client.get(f"/checkin/{record.id}").get_data(as_text=True)
