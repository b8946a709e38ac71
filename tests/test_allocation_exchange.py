"""Swap and move requests as an exchange of beds (top trading cycles), without Flask."""
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dorms.solver.exchange import Applicant, exchange, pairs_only


def test_a_three_way_trade_that_pairs_cannot_find():
    applicants = [Applicant("A", "a", ["b"]), Applicant("B", "b", ["c"]), Applicant("C", "c", ["a"])]
    outcome = exchange(applicants, free_beds=[])
    assert outcome.beds == {"A": "b", "B": "c", "C": "a"}
    assert [sorted(c) for c in outcome.cycles] == [["A", "B", "C"]]
    assert pairs_only(applicants, []) == 0


def test_a_chain_ending_in_a_free_bed():
    applicants = [Applicant("A", "a", ["b"]), Applicant("B", "b", ["free"])]
    outcome = exchange(applicants, free_beds=["free"])
    assert outcome.beds == {"A": "b", "B": "free"}
    assert pairs_only(applicants, ["free"]) == 1  # B moves, A's wish needs the chain


def test_a_plain_swap_is_found_by_both():
    applicants = [Applicant("A", "a", ["b"]), Applicant("B", "b", ["a"])]
    assert exchange(applicants, []).beds == {"A": "b", "B": "a"}
    assert pairs_only(applicants, []) == 2


def test_nobody_is_worse_off_and_unmet_wishes_keep_their_bed():
    applicants = [Applicant("A", "a", ["x"]), Applicant("B", "b", [])]
    outcome = exchange(applicants, free_beds=[])
    assert outcome.beds == {"A": "a", "B": "b"} and outcome.cycles == []


def test_priority_decides_who_gets_a_contested_free_bed():
    applicants = [Applicant("First", "f", ["free"]), Applicant("Second", "s", ["free"])]
    assert exchange(applicants, ["free"]).beds == {"First": "free", "Second": "s"}


def test_a_student_without_a_bed_takes_one_that_is_freed_or_none():
    applicants = [Applicant("A", "a", ["free"]), Applicant("New", None, ["a", "b"])]
    assert exchange(applicants, ["free"]).beds == {"A": "free", "New": "a"}
    assert exchange([Applicant("New", None, ["taken"])], []).beds == {"New": None}


@st.composite
def markets(draw):
    rnd = random.Random(draw(st.integers(0, 10**6)))
    n = draw(st.integers(0, 12))
    beds = [f"b{i}" for i in range(n)] + [f"free{i}" for i in range(draw(st.integers(0, 3)))]
    applicants = []
    for i in range(n):
        others = [b for b in beds if b != f"b{i}"]
        own = None if rnd.random() < 0.15 else f"b{i}"  # now and then a student without a bed
        applicants.append(Applicant(f"S{i}", own, rnd.sample(others, rnd.randint(0, min(4, len(others))))))
    return applicants, [b for b in beds if b.startswith("free")]


@settings(max_examples=200, deadline=None)
@given(markets())
def test_exchanges_are_sound(market):
    applicants, free = market
    outcome = exchange(applicants, free)
    taken = [bed for bed in outcome.beds.values() if bed is not None]
    assert len(taken) == len(set(taken))  # no bed twice
    for a in applicants:
        got = outcome.beds[a.id]
        assert got == a.bed or got in a.wants  # individually rational: own bed or a wished one
    assert set(taken) <= {a.bed for a in applicants} | set(free)  # only requesters' and free beds change hands
    for cycle in outcome.cycles:  # a trade: each takes a bed that was in play and the cycle closes
        assert all(outcome.beds[s] != next(a.bed for a in applicants if a.id == s) for s in cycle)


def one_cycle_at_a_time(applicants, free_beds):
    """The mechanism as Abdulkadiroğlu and Sönmez describe it, step by step: the oracle for exchange()."""
    owner = {a.bed: a.id for a in applicants if a.bed is not None}
    in_play, waiting, result = set(owner) | set(free_beds), list(applicants), {}
    while waiting:
        pointing = {}
        for a in list(waiting):
            choice = next((b for b in a.wants if b in in_play), a.bed if a.bed in in_play else None)
            if choice is None:
                result[a.id] = None
                waiting.remove(a)
            else:
                pointing[a.id] = choice
        if not waiting:
            break
        present, first = {a.id for a in waiting}, waiting[0].id
        path, current = [], first
        while current not in path:
            path.append(current)
            bed = pointing[current]
            current = owner[bed] if owner.get(bed) in present else first
        for student in path[path.index(current):]:
            result[student] = pointing[student]
            in_play.discard(pointing[student])
        waiting = [a for a in waiting if a.id not in set(path[path.index(current):])]
    return result


@settings(max_examples=300, deadline=None)
@given(markets())
def test_all_cycles_at_once_gives_the_same_beds_as_one_at_a_time(market):
    applicants, free = market
    assert exchange(applicants, free).beds == one_cycle_at_a_time(applicants, free)
