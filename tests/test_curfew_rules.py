"""The curfew statuses of docs/curfew.md, rule by rule, on the pure engine."""
from datetime import date, datetime, time, timedelta

import pytest

from dorms.access.cards import normalise
from dorms.access.curfew import (
    Direction,
    Event,
    Leave,
    Night,
    Status,
    expected_return,
    night_status,
    not_seen,
    often_late,
)

NIGHT = Night.of(date(2026, 9, 7), time(23))  # a Monday: curfew 23:00, cutoff 06:00 on the 8th
IN, OUT, UNKNOWN = Direction.IN, Direction.OUT, Direction.UNKNOWN


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, day, hour, minute)


def status(*events, leave=None):
    return night_status(NIGHT, [Event(t, d) for t, d in events], leave or Leave())


def test_in_when_the_last_evening_event_is_an_entry():
    assert status((at(7, 13), OUT), (at(7, 21), IN)).status == Status.IN
    assert status((at(7, 13), OUT), (at(7, 21), UNKNOWN)).status == Status.IN  # entry-only readers


def test_in_without_evening_events_when_the_last_before_noon_was_an_explicit_in():
    assert status((at(5, 22), IN)).status == Status.IN
    assert status((at(5, 22), UNKNOWN)).status == Status.ABSENT_LEFT  # not an explicit in
    assert status((at(7, 23, 30), OUT), (at(5, 22), IN)).status == Status.ABSENT_LEFT_AFTER_CURFEW


def test_the_look_back_is_seven_days():
    assert status((at(1, 9), IN)).status == Status.IN  # 6 days and 3 hours before noon
    assert status((datetime(2026, 8, 31, 11), IN)).status == Status.ABSENT_NO_EVENTS


def test_late_is_the_first_entry_between_curfew_and_cutoff():
    outcome = status((at(7, 13), OUT), (at(8, 0, 40), IN), (at(8, 1, 10), IN))
    assert (outcome.status, outcome.time) == (Status.LATE, at(8, 0, 40))
    assert status((at(7, 13), OUT), (at(7, 23), IN)).status == Status.IN  # at curfew is in time
    assert status((at(7, 13), OUT), (at(8, 6), IN)).status == Status.ABSENT_LEFT  # at the cutoff is too late


def test_leaving_after_curfew_is_absent_even_after_being_in():
    assert status((at(7, 20), IN), (at(7, 23, 35), OUT)).status == Status.ABSENT_LEFT_AFTER_CURFEW
    # ...but back again before the cutoff is late (the last event decides step 1)
    assert status((at(7, 20), IN), (at(7, 23, 35), OUT), (at(7, 23, 50), IN)).status == Status.LATE


def test_absent_left_and_absent_no_events():
    assert status((at(7, 13), OUT)).status == Status.ABSENT_LEFT
    assert status((at(2, 13), OUT)).status == Status.ABSENT_LEFT  # within 7 days before curfew
    assert status().status == Status.ABSENT_NO_EVENTS


def test_events_in_any_order_give_the_same_status():
    events = [(at(7, 13), OUT), (at(8, 0, 40), IN), (at(7, 12, 30), IN)]
    assert status(*events) == status(*reversed(events))


def test_an_overnight_leave_excuses_absence_and_marks_a_return():
    away = Leave(overnight=True)
    assert status((at(7, 13), OUT), leave=away).status == Status.EXCUSED
    assert status(leave=away).status == Status.EXCUSED
    assert status((at(7, 21), IN), leave=away).status == Status.RETURNED_DESPITE_LEAVE
    assert status((at(8, 1), IN), leave=away).status == Status.RETURNED_DESPITE_LEAVE


def test_a_late_return_excuses_lateness_until_the_expected_time_and_grace_only():
    grace = timedelta(minutes=30)
    leave = Leave(late_until=expected_return(NIGHT, time(0, 15), grace))  # 00:15 on the 8th, +30 min
    assert leave.late_until == at(8, 0, 45)
    assert status((at(7, 13), OUT), (at(8, 0, 45), IN), leave=leave).status == Status.EXCUSED_LATE
    assert status((at(7, 13), OUT), (at(8, 0, 46), IN), leave=leave).status == Status.LATE
    assert status((at(7, 13), OUT), leave=leave).status == Status.ABSENT_LEFT  # it does not excuse absence
    assert expected_return(NIGHT, time(23, 30), grace) == at(8, 0, 0)


def test_friday_and_curfews_after_midnight_belong_to_the_right_day():
    night = Night.of(date(2026, 9, 11), time(0, 30))
    assert (night.curfew, night.cutoff) == (datetime(2026, 9, 12, 0, 30), datetime(2026, 9, 12, 6))


def test_alerts():
    absent, late, ok = Status.ABSENT_LEFT, Status.LATE, Status.IN
    assert not_seen([ok, absent, Status.ABSENT_NO_EVENTS], 2)
    assert not not_seen([absent, Status.EXCUSED], 2)
    assert often_late([late, late, ok, late, late], 3)
    assert not often_late([late, late, Status.EXCUSED_LATE, late], 3)


@pytest.mark.parametrize("raw", ["12345678", "0012345678", "0xBC614E", "0X00bc614e", " 188,24910 ", "188:24910"])
def test_one_card_in_several_spellings_is_one_number(raw):
    assert normalise(raw) == "12345678"


@pytest.mark.parametrize("raw", ["bc614e", "B205", "CAFE", "NLVJLA052"])
def test_letters_without_0x_are_kept_as_written_never_read_as_hexadecimal(raw):
    assert normalise(raw) == raw


@pytest.mark.parametrize("raw", ["", "card-7", "300,1", "12,70000", "１２３４５", "0x" + "f" * 30])
def test_what_is_not_a_card_number_is_refused(raw):
    with pytest.raises(ValueError):
        normalise(raw)
