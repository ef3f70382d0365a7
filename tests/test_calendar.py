"""Deadline arithmetic on the Chinese working-day calendar."""

import datetime as dt

import pytest

from bot.calendar import CHINA, add_working_days, deadline, parse_spec


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


def test_working_days_skip_spring_festival_and_count_make_up_saturday() -> None:
    # Dispatched Friday 13 Feb 2026. Saturday 14 Feb is a 调休 working day; 15-23 Feb is the
    # Spring Festival holiday; so five working days end on Friday 27 Feb.
    assert add_working_days(at(2026, 2, 13, 10, 0), 5) == at(2026, 2, 27, 18, 0)


def test_make_up_saturday_counts_as_a_working_day() -> None:
    # Saturday 28 Feb 2026 is a 调休 working day: one working day after Friday 27 Feb is that Saturday.
    assert add_working_days(at(2026, 2, 27, 16, 0), 1) == at(2026, 2, 28, 18, 0)


def test_ordinary_weekend_is_skipped() -> None:
    assert add_working_days(at(2026, 11, 20, 9, 0), 1) == at(2026, 11, 23, 18, 0)  # Fri → Mon


def test_hours_and_calendar_days_ignore_holidays() -> None:
    start = at(2026, 2, 16, 8, 0)
    assert deadline(start, "2h") == at(2026, 2, 16, 10, 0)
    assert deadline(start, "7d") == at(2026, 2, 23, 8, 0)
    assert deadline(start, "3wd") == at(2026, 2, 26, 18, 0)


@pytest.mark.parametrize("spec", ["", "7", "3 weeks", "d7", "-1d"])
def test_bad_spec(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_spec(spec)
