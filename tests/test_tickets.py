"""Ticket rules against real Redis: numbering, transitions, duplicates, escalation."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.calendar import CHINA
from bot.dialogue import Draft
from bot.store import Store
from bot.tickets import State, TicketService, TransitionError
from bot.tickets.service import NotAllowed
from tests.conftest import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=CHINA))  # a Friday


@pytest.fixture
def service(store, understander, settings, clock) -> TicketService:  # type: ignore[no-untyped-def]
    return TicketService(store, understander.knowledge, settings.tickets, clock)


def draft(matter: str = "illegal_construction", department: str = "urban_mgmt", place: str = "阳光小区3号楼2单元") -> Draft:
    return Draft(matter=matter, department=department, intent="complaint", texts=["顶楼有人在加盖彩钢房"], place=place, contact="13912345678")


async def test_numbers_are_unique_and_sequential(service: TicketService) -> None:
    tickets = await asyncio.gather(*(service.open(draft(place=f"小区{i}号楼"), f"u{i}") for i in range(5)))
    numbers = sorted(t.number for t, _ in tickets)
    assert numbers == [f"WY20261120-{i:04d}" for i in range(1, 6)]


async def test_counter_survives_a_new_service(service: TicketService, store, understander, settings, clock) -> None:  # type: ignore[no-untyped-def]
    await service.open(draft(), "u1")
    again = TicketService(store, understander.knowledge, settings.tickets, clock)
    ticket, _ = await again.open(draft(place="别的小区1号楼"), "u2")
    assert ticket.number == "WY20261120-0002"


async def test_full_life_cycle_and_illegal_transitions(service: TicketService) -> None:
    ticket, _ = await service.open(draft(), "u1")
    assert ticket.state == State.OPEN and ticket.department == "urban_mgmt"
    with pytest.raises(TransitionError):
        await service.act(ticket.number, "resolve", who="official:urban_mgmt", note="已拆除")
    with pytest.raises(NotAllowed):
        await service.act(ticket.number, "accept", who="official:police", department="police")
    await service.act(ticket.number, "accept", who="official:urban_mgmt", department="urban_mgmt")
    await service.act(ticket.number, "reply", who="official:urban_mgmt", note="已约谈业主")
    done = await service.act(ticket.number, "resolve", who="official:urban_mgmt", note="违建已拆除")
    assert done.state == State.RESOLVED
    with pytest.raises(TransitionError):
        await service.act(ticket.number, "accept", who="official:urban_mgmt")
    rated = await service.rate(ticket.number, "u1", "满意")
    assert rated.state == State.RATED and rated.rating == "满意"
    assert [e.action for e in rated.history] == ["opened", "accepted", "replied", "resolved", "rated"]


async def test_unresolved_rating_reopens(service: TicketService) -> None:
    ticket, _ = await service.open(draft(), "u1")
    await service.act(ticket.number, "accept", who="o")
    await service.act(ticket.number, "resolve", who="o", note="已处理")
    reopened = await service.rate(ticket.number, "u1", "未解决")
    assert reopened.state == State.REOPENED and reopened.rating is None
    alerts = await service.outbox.all()
    assert [a["event"] for a in alerts][-1] == "reopened"


async def test_another_resident_cannot_rate(service: TicketService) -> None:
    ticket, _ = await service.open(draft(), "u1")
    await service.act(ticket.number, "accept", who="o")
    await service.act(ticket.number, "resolve", who="o", note="已处理")
    with pytest.raises(LookupError):
        await service.rate(ticket.number, "someone-else", "满意")


async def test_return_and_reroute(service: TicketService) -> None:
    ticket, _ = await service.open(draft(), "u1")
    with pytest.raises(ValueError):
        await service.act(ticket.number, "return", who="o")  # a reason is required
    await service.act(ticket.number, "return", who="official:urban_mgmt", note="属于装修问题")
    moved = await service.act(ticket.number, "reroute", who="dispatcher", to="housing")
    assert moved.state == State.OPEN and moved.department == "housing"
    assert await service.store.tickets.of_department("urban_mgmt") == []
    assert await service.store.tickets.of_department("housing") == [ticket.number]


async def test_duplicate_report_joins_open_ticket(service: TicketService) -> None:
    first, joined = await service.open(draft(), "u1")
    assert not joined
    second, joined = await service.open(draft(place="阳光小区3号楼1单元"), "u2")
    assert joined and second.number == first.number
    assert second.co_reporters == ["u2"]
    assert [t.number for t in await service.of_user("u2")] == [first.number]
    other_place, joined = await service.open(draft(place="阳光小区5号楼"), "u3")
    assert not joined and other_place.number != first.number


async def test_duplicate_window_ends_with_resolution(service: TicketService) -> None:
    first, _ = await service.open(draft(), "u1")
    await service.act(first.number, "accept", who="o")
    await service.act(first.number, "resolve", who="o", note="已处理")
    again, joined = await service.open(draft(), "u2")
    assert not joined and again.number != first.number


async def test_deadline_by_tier_starts_at_dispatch(service: TicketService) -> None:
    ticket, _ = await service.open(draft(), "u1")  # illegal_construction: complex tier, 15 days
    assert ticket.deadline == ticket.dispatched + dt.timedelta(days=15)


async def test_working_day_deadline_from_config(store, understander, settings, clock) -> None:  # type: ignore[no-untyped-def]
    settings.tickets.matter_deadlines = {"illegal_construction": "5wd"}
    clock.now = dt.datetime(2026, 2, 13, 10, 0, tzinfo=CHINA)
    service = TicketService(store, understander.knowledge, settings.tickets, clock)
    ticket, _ = await service.open(draft(), "u1")
    assert ticket.deadline == dt.datetime(2026, 2, 27, 18, 0, tzinfo=CHINA)


async def test_escalation_fires_exactly_once_with_two_schedulers(store, understander, settings, clock) -> None:  # type: ignore[no-untyped-def]
    a = TicketService(store, understander.knowledge, settings.tickets, clock)
    b = TicketService(store, understander.knowledge, settings.tickets, clock)
    ticket, _ = await a.open(draft(), "u1")
    clock.now += dt.timedelta(hours=25)  # not signed for within 24 h: chased
    results = await asyncio.gather(*(s.escalate_due() for s in (a, b, a, b)))
    assert sorted(r for rs in results for r in rs) == [(ticket.number, "chased")]
    clock.now = ticket.deadline + dt.timedelta(days=5)  # deadline long past: supervised
    results = await asyncio.gather(*(s.escalate_due() for s in (a, b)))
    assert sorted(r for rs in results for r in rs) == [(ticket.number, "supervised")]
    assert await a.escalate_due() == []
    final = await a.get(ticket.number)
    assert final.level == "县" and final.escalations == ["chased", "supervised"]
    events = [a["event"] for a in await a.outbox.all()]
    assert events.count("chased") == 1 and events.count("supervised") == 1


async def test_signed_ticket_is_not_chased_before_deadline(service: TicketService, clock: Clock) -> None:
    ticket, _ = await service.open(draft(), "u1")
    await service.act(ticket.number, "accept", who="o")
    clock.now += dt.timedelta(days=2)
    assert await service.escalate_due() == []
