"""Deadlines on the Chinese working-day calendar (public holidays and 调休 make-up days)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
END_OF_WORKDAY = dt.time(18, 0)
_SPEC = re.compile(r"^\s*(\d+)\s*(h|d|wd)\s*$")


def is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no official schedule for yet
        log.warning("no holiday schedule for %s; counting Monday-Friday", day.year)
        return day.weekday() < 5


def parse_spec(spec: str) -> tuple[int, str]:
    """'2h' (hours), '7d' (calendar days), '5wd' (working days)."""
    m = _SPEC.match(spec)
    if not m:
        raise ValueError(f"bad deadline spec {spec!r}: use e.g. 2h, 7d or 5wd")
    return int(m.group(1)), m.group(2)


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The end (18:00) of the ``days``-th working day after ``start``'s date.

    Dispatch day itself does not count, as in "五个工作日内办结" counted from the day after.
    """
    local = start.astimezone(CHINA)
    day = local.date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_workday(day):
            counted += 1
    return dt.datetime.combine(day, END_OF_WORKDAY, tzinfo=CHINA)


def deadline(start: dt.datetime, spec: str) -> dt.datetime:
    amount, unit = parse_spec(spec)
    if unit == "h":
        return start + dt.timedelta(hours=amount)
    if unit == "d":
        return start + dt.timedelta(days=amount)
    return add_working_days(start, amount)


def now() -> dt.datetime:
    return dt.datetime.now(CHINA)
