"""The dashboard's numbers (bot.console.stats) on tickets opened and handled at known moments,
through the real TicketService and Redis, with a clock the test sets."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.calendar import CHINA
from bot.console import stats
from bot.dialogue import Draft
from bot.store import Store
from bot.tickets import TicketService
from tests.conftest import Clock

NOW = dt.datetime(2025, 6, 15, 10, 0, tzinfo=CHINA)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def service(store, understander, settings, clock) -> TicketService:  # type: ignore[no-untyped-def]
    return TicketService(store, understander.knowledge, settings.tickets, clock)


def at(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, 0, tzinfo=CHINA)


async def open_at(service: TicketService, clock: Clock, when: dt.datetime, matter: str, place: str, *,
                  user: str = "o_res", source: str = "resident", company: str = ""):  # type: ignore[no-untyped-def]
    clock.now = when
    m = service.knowledge.matter[matter]
    draft = Draft(matter=matter, department=m.department, intent=m.intent, texts=["居民反映的情况说明"], place=place,
                  source=source, company=company, staff_note="已劝阻" if source == "property" else "")  # type: ignore[arg-type]
    ticket, joined = await service.open(draft, user)
    assert not joined
    return ticket


async def do(service: TicketService, clock: Clock, ticket, when: dt.datetime, action: str, **kw):  # type: ignore[no-untyped-def]
    clock.now = when
    return await service.act(ticket.number, action, who="official:x", **kw)


async def rate(service: TicketService, clock: Clock, ticket, when: dt.datetime, rating: str):  # type: ignore[no-untyped-def]
    clock.now = when
    return await service.rate(ticket.number, ticket.user, rating)  # type: ignore[arg-type]


async def test_the_dashboard_numbers_on_tickets_with_known_dates(service: TicketService, clock: Clock, store: Store, settings) -> None:  # type: ignore[no-untyped-def]
    h = dt.timedelta(hours=1)
    d = dt.timedelta(days=1)
    # Last year: five complaints on or before 15 June (the same period), one after; all left open.
    for when, matter, place in ((at(2024, 1, 10), "high_altitude_throwing", "阳光小区1号楼"),
                                (at(2024, 2, 10), "illegal_construction", "幸福家园2号楼"),
                                (at(2024, 3, 10), "living_noise", "阳光小区3号楼"),
                                (at(2024, 5, 10), "theft", "锦绣花园1号楼"),
                                (at(2024, 6, 15, 9), "parking_disorder", "锦绣花园2号楼"),
                                (at(2024, 8, 1), "theft", "幸福家园8号楼")):
        await open_at(service, clock, when, matter, place)

    # This year.
    t1 = await open_at(service, clock, at(2025, 1, 5), "high_altitude_throwing", "阳光小区11号楼", user="o_t1")
    await do(service, clock, t1, t1.created + 2 * h, "accept")  # in time
    await do(service, clock, t1, t1.created + d, "resolve", note="已处理")  # by the 7-day deadline
    await rate(service, clock, t1, t1.created + 2 * d, "满意")

    t2 = await open_at(service, clock, at(2025, 2, 3), "illegal_construction", "幸福家园12号楼", user="o_t2")
    await do(service, clock, t2, t2.created + 30 * h, "accept")  # late: 24 h to sign
    await do(service, clock, t2, t2.created + 20 * d, "resolve", note="已拆除")  # past the 15-day deadline
    await rate(service, clock, t2, t2.created + 21 * d, "不满意")

    t3 = await open_at(service, clock, at(2025, 3, 3), "theft", "阳光小区5号楼", user="o_t3")
    await do(service, clock, t3, t3.created + h, "return", note="不属于本单位")
    await do(service, clock, t3, t3.created + 2 * h, "reroute", to="community")  # the sign clock restarts
    await do(service, clock, t3, t3.created + 3 * h, "accept")  # in time for the new unit
    await do(service, clock, t3, t3.created + d, "resolve", note="已处理")
    await rate(service, clock, t3, t3.created + 2 * d, "基本满意")

    t4 = await open_at(service, clock, at(2025, 6, 1), "cleaning", "阳光小区6号楼", user="o_t4")  # never signed: overdue
    t5 = await open_at(service, clock, at(2025, 6, 15, 8), "common_repair", "幸福家园3号楼", user="o_t5")  # still in time
    t6 = await open_at(service, clock, at(2025, 4, 1), "poor_service", "阳光小区7号楼", user="o_t6")
    await do(service, clock, t6, t6.created + h, "accept")
    await do(service, clock, t6, t6.created + 2 * d, "resolve", note="已约谈物业")
    await rate(service, clock, t6, t6.created + 3 * d, "满意")
    t7 = await open_at(service, clock, at(2025, 5, 1), "cleaning", "阳光小区8号楼", user="o_staff", source="property",
                       company="安泰物业")
    # A duplicate merged into t1: counted there, not by itself.
    t8 = await open_at(service, clock, at(2025, 6, 10), "high_altitude_throwing", "阳光小区9号楼", user="o_t8")
    t8.merged_into = t1.number
    await store.tickets.save(t8)

    clock.now = NOW
    tickets = await store.tickets.load_many(await store.tickets.all())
    assert len(tickets) == 14
    s = stats.compute(tickets, service.knowledge, sign_within=settings.tickets.sign_within, now=NOW,
                      compound_companies={"阳光小区": "安泰物业", "幸福家园": "恒通物业"},
                      known_companies={"安泰物业", "恒通物业", "金盾物业"})

    assert s.total == 13
    # 响应率: signed in time t1, t3 (after the re-route), t6; late or never: the six of last year, t2, t4, t7;
    # t5 is still within its 24 hours.
    assert (s.response.num, s.response.den, s.response.pct) == (3, 12, "25%")
    assert (s.resolution.num, s.resolution.den, s.resolution.pct) == (4, 13, "31%")
    assert (s.satisfaction.num, s.satisfaction.den, s.satisfaction.pct) == (3, 4, "75%")
    # Deadlines met: t1, t3, t6; missed: t2 (late), and t4, t7 and the six of last year (overdue).
    assert (s.on_time.num, s.on_time.den, s.on_time.pct) == (3, 12, "25%")
    assert (s.returned.num, s.returned.den, s.returned.pct) == (1, 13, "8%")
    assert s.overdue == 8

    y = s.yoy
    assert y.year == 2025 and y.months_so_far == 6
    assert y.this_year == [1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0]
    assert y.last_year == [1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0]
    assert (y.period_this, y.period_last) == (7, 5) and y.change == pytest.approx(0.4)
    assert (y.complaints_this, y.complaints_last) == (4, 5) and y.complaint_change == pytest.approx(-0.2)
    assert y.goal_met is True

    assert s.by_compound == [("阳光小区", 7), ("幸福家园", 4), ("锦绣花园", 2)]
    assert s.by_matter[0] == ("theft", 3) and dict(s.by_matter)["high_altitude_throwing"] == 2 and dict(s.by_matter)["cleaning"] == 2
    assert dict((c, (n, done)) for c, n, done in s.by_department)["community"] == (1, 1)

    # 红黑榜: 安泰 has two valid complaints (t4 cleaning, t6 poor_service; t1 is not about the company
    # and t7 is its own report), 恒通 one (t5), 金盾 none.
    board = {r.company: r for r in s.board}
    assert (board["安泰物业"].complaints, board["安泰物业"].reports, board["安泰物业"].average) == (2, 1, 100)
    assert (board["恒通物业"].complaints, board["恒通物业"].average) == (1, None)
    assert [r.company for r in s.board] == ["金盾物业", "恒通物业", "安泰物业"] and [r.rank for r in s.board] == [1, 2, 3]
    assert [r.company for r in s.red] == ["金盾物业"] and [r.company for r in s.black] == ["安泰物业"]


def test_the_goal_needs_ten_percent_fewer_complaints_and_a_last_year() -> None:
    def yoy(this: int, last: int) -> stats.YearOnYear:
        return stats.YearOnYear(2025, [0] * 12, [0] * 12, 6, this, last, this, last)

    assert yoy(9, 10).goal_met is True  # exactly 10% fewer
    assert yoy(10, 11).goal_met is False  # 9.1% fewer
    assert yoy(12, 10).goal_met is False
    assert yoy(3, 0).goal_met is None and yoy(3, 0).complaint_change is None
    assert str(stats.Ratio(0, 0)) == "—" and str(stats.Ratio(2, 3)) == "67%"


def test_ranking_breaks_ties_by_average_rating_and_a_single_company_gets_no_lists(understander) -> None:  # type: ignore[no-untyped-def]
    a, b, c = stats.CompanyRow("甲物业", 1, ratings=[0]), stats.CompanyRow("乙物业", 1, ratings=[100, 60]), stats.CompanyRow("丙物业", 1)
    assert [r.company for r in sorted([a, b, c], key=stats.CompanyRow.key)] == ["乙物业", "丙物业", "甲物业"]
    s = stats.compute([], understander.knowledge, sign_within="24h", now=NOW, known_companies=["甲物业"])
    assert [r.company for r in s.board] == ["甲物业"] and s.red == [] and s.black == []
    assert s.total == 0 and s.response.pct == "—" and s.yoy.goal_met is None
