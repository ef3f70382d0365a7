"""The ticket rules: opening (with duplicate merging), actions by units, ratings, escalation."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from bot import calendar
from bot.privacy import redact
from bot.config import TicketSettings
from bot.dialogue import Draft
from bot.knowledge import Knowledge
from bot.store import Store
from bot.tickets.model import LEVELS, UNRESOLVED, Rating, State, Ticket, TransitionError

log = logging.getLogger(__name__)


# The escalation ladder of 分级受理: each step raises the ticket's supervising level.
LADDER = (("chased", LEVELS[1]), ("supervised", LEVELS[2]))


class NotAllowed(PermissionError):
    """Someone tried to act on a ticket outside their department."""


class MatterMismatch(ValueError):
    """Two tickets about different matters: merging them needs a confirmation."""


def place_key(place: str, latitude: float | None = None, longitude: float | None = None) -> str:
    """What makes two reports 'the same place': compound + building, or a ~100 m grid cell."""
    if place:
        m = re.match(r"(.*?(?:\d+(?:号楼|栋|幢)))", place)
        return (m.group(1) if m else place).replace(" ", "")
    if latitude is not None and longitude is not None:
        return f"geo:{latitude:.3f},{longitude:.3f}"
    return ""


class TicketService:
    def __init__(
        self, store: Store, knowledge: Knowledge, settings: TicketSettings, clock: Callable[[], dt.datetime] = calendar.now
    ) -> None:
        self.store = store
        self.knowledge = knowledge
        self.settings = settings
        self.clock = clock
        self.outbox = store.outbox

    # -- opening ---------------------------------------------------------------------------
    async def open(self, draft: Draft, user: str) -> tuple[Ticket, bool]:
        """Open a ticket from a confirmed draft. Returns (ticket, joined): joined is True when an
        open ticket about the same matter at the same place took the report instead."""
        now = self.clock()
        where = place_key(
            draft.place,
            draft.location.latitude if draft.location else None,
            draft.location.longitude if draft.location else None,
        )
        if where:
            existing_number = await self.store.tickets.open_at(draft.matter, where)
            if existing_number:
                joined = await self._join(existing_number, draft, user, now)
                if joined:
                    return joined, True

        matter = self.knowledge.matter[draft.matter]
        day = now.strftime("%Y%m%d")
        number = f"WY{day}-{await self.store.tickets.next_sequence(day):04d}"
        ticket = Ticket(
            number=number,
            user=user,
            matter=matter.id,
            department=draft.department,
            source=draft.source,
            company=draft.company,
            texts=draft.texts,
            place=draft.place,
            location=draft.location,
            photos=draft.photos,
            contact=draft.contact if draft.contact != "wechat" else "",
            created=now,
            dispatched=now,
            deadline=calendar.deadline(now, self.settings.spec_for(matter.id, matter.tier)),
        )
        if draft.staff_note:
            ticket.texts.append(draft.staff_note)
        ticket.record(at=now, who=self._who_opened(draft), action="opened", note="")
        await self.store.tickets.save(ticket, new=True)
        await self.store.tickets.schedule(number, self._next_step_at(ticket).timestamp())
        if where:
            await self.store.tickets.mark_open_at(matter.id, where, number, self.settings.duplicate_window)
        await self._alert(ticket, "opened")
        return ticket, False

    async def _join(self, number: str, draft: Draft, user: str, now: dt.datetime) -> Ticket | None:
        async with self.store.tickets.locked(number):
            ticket = await self.store.tickets.load(number)
            if ticket is None or ticket.state not in UNRESOLVED:
                return None
            if user != ticket.user and user not in ticket.co_reporters:
                ticket.co_reporters.append(user)
                await self.store.tickets.add_reporter(ticket, user)
            ticket.texts.extend(draft.texts)
            ticket.photos.extend(draft.photos)
            ticket.record(at=now, who="resident", action="joined", note="又一位居民反映同一问题")
            await self.store.tickets.save(ticket)
        return ticket

    @staticmethod
    def _who_opened(draft: Draft) -> str:
        return {"resident": "resident", "property": "property_company", "official": "official"}[draft.source]

    # -- reading ---------------------------------------------------------------------------
    async def get(self, number: str) -> Ticket | None:
        return await self.store.tickets.load(number)

    async def of_user(self, user: str, limit: int = 5) -> list[Ticket]:
        return await self.store.tickets.load_many(await self.store.tickets.of_user(user, limit))

    async def open_of_department(self, department: str, limit: int = 50) -> list[Ticket]:
        numbers = await self.store.tickets.of_department(department, limit)
        return [t for t in await self.store.tickets.load_many(numbers) if t.state in UNRESOLVED]

    def department_name(self, code: str) -> str:
        return self.knowledge.department[code].name

    # -- actions by the handling unit ---------------------------------------------------------
    async def act(
        self, number: str, action: str, *, who: str, note: str = "", department: str | None = None, to: str = ""
    ) -> Ticket:
        """accept / reply / resolve / return / reroute / close. ``department`` limits the actor to
        its own tickets (None: a dispatcher or administrator)."""
        correction: dict[str, str] = {}
        async with self.store.tickets.locked(number):
            ticket = await self.store.tickets.load(number)
            if ticket is None:
                raise LookupError(f"没有找到工单{number}")
            if department is not None and ticket.department != department:
                raise NotAllowed(f"工单{number}不属于本单位")
            now = self.clock()
            if action == "accept":
                ticket.move(State.ACCEPTED, at=now, who=who, action="accepted", note=note)
            elif action == "reply":
                if not note:
                    raise ValueError("回复内容不能为空")
                if ticket.state in (State.ACCEPTED, State.REOPENED):
                    ticket.move(State.IN_PROGRESS, at=now, who=who, action="replied", note=note)
                elif ticket.state == State.IN_PROGRESS:
                    ticket.record(at=now, who=who, action="replied", note=note)
                else:
                    raise TransitionError(f"工单{number}当前状态为「{ticket.state}」，请先受理")
            elif action == "resolve":
                if not note:
                    raise ValueError("办结时请写明处理结果")
                ticket.move(State.RESOLVED, at=now, who=who, action="resolved", note=note)
            elif action == "return":
                if not note:
                    raise ValueError("退回时请写明原因")
                ticket.move(State.RETURNED, at=now, who=who, action="returned", note=note)
            elif action == "reroute":
                if to not in self.knowledge.department:
                    raise ValueError(f"未知部门代码: {to}")
                if ticket.state not in (State.RETURNED, State.OPEN):
                    raise TransitionError(f"工单{number}当前状态为「{ticket.state}」，不能改派")
                old = ticket.department
                ticket.department = to
                if ticket.state == State.RETURNED:
                    ticket.move(State.OPEN, at=now, who=who, action="rerouted", note=f"{old}→{to} {note}".strip())
                else:
                    ticket.record(at=now, who=who, action="rerouted", note=f"{old}→{to} {note}".strip())
                ticket.dispatched = now
                ticket.escalations = []
                matter = self.knowledge.matter[ticket.matter]
                ticket.deadline = calendar.deadline(now, self.settings.spec_for(matter.id, matter.tier))
                await self.store.tickets.moved_department(ticket, old)
                # A correction of the routing: kept (the one place re-routes are recorded) so the
                # matters' keywords can be improved from the residents' own words.
                correction = {
                    "ticket": ticket.number, "matter": ticket.matter, "from": old, "to": to, "who": who,
                    "at": now.isoformat(), "note": note, "place": ticket.place,
                    "words": redact("；".join(ticket.texts))[:500],
                }
            elif action == "close":
                ticket.move(State.CLOSED, at=now, who=who, action="closed", note=note)
            else:
                raise ValueError(f"unknown action {action!r}")
            await self.store.tickets.save(ticket)
            if action == "reroute":
                await self.store.tickets.record_reroute(correction)
        await self._after_change(ticket)
        return ticket

    async def merge(self, into: str, duplicate: str, *, who: str, force: bool = False) -> Ticket:
        """Merge ticket ``duplicate`` into ``into``: its residents become co-reporters, its texts and
        photos are appended, it is closed with a note pointing to ``into``, and both histories
        record it. Closed tickets are refused; different matters need ``force``."""
        if into == duplicate:
            raise ValueError("不能把工单合并到它自己")
        first, second = sorted((into, duplicate))  # one lock order for every caller: no deadlock
        async with self.store.tickets.locked(first), self.store.tickets.locked(second):
            target, other = await self.store.tickets.load(into), await self.store.tickets.load(duplicate)
            if target is None or other is None:
                raise LookupError(f"没有找到工单{into if target is None else duplicate}")
            for t in (target, other):
                if t.state == State.CLOSED:
                    raise TransitionError(f"工单{t.number}已关闭，不能合并")
            if target.matter != other.matter and not force:
                raise MatterMismatch(f"两张工单事项不同（{self._matter_name(target.matter)} / {self._matter_name(other.matter)}），请确认后再合并")
            now = self.clock()
            for resident in other.residents:
                if resident not in target.residents:
                    target.co_reporters.append(resident)
                    await self.store.tickets.add_reporter(target, resident)
            target.texts.extend(other.texts)
            target.photos.extend(p for p in other.photos if p not in target.photos)
            target.record(at=now, who=who, action="merged", note=f"合并重复工单{other.number}（{len(other.residents)}位居民）")
            other.state = State.CLOSED  # outside the usual transitions: a duplicate is closed from any open state
            other.merged_into = target.number
            other.record(at=now, who=who, action="merged", note=f"与工单{target.number}重复，已并入该工单办理")
            await self.store.tickets.save(target)
            await self.store.tickets.save(other)
            await self.store.tickets.unschedule(other.number)
        return target

    def _matter_name(self, matter: str) -> str:
        m = self.knowledge.matter.get(matter)
        return m.name if m else matter

    async def rate(self, number: str, user: str, rating: Rating) -> Ticket:
        """The resident's 回访 answer. 未解决 reopens the ticket and tells the unit again."""
        async with self.store.tickets.locked(number):
            ticket = await self.store.tickets.load(number)
            if ticket is None or user not in ticket.residents:
                raise LookupError(f"没有找到您的工单{number}")
            now = self.clock()
            if rating == "未解决":
                ticket.move(State.REOPENED, at=now, who="resident", action="reopened", note=rating)
                ticket.rating = None
                ticket.dispatched = now
                ticket.escalations = []
                matter = self.knowledge.matter[ticket.matter]
                ticket.deadline = calendar.deadline(now, self.settings.spec_for(matter.id, matter.tier))
            else:
                ticket.move(State.RATED, at=now, who="resident", action="rated", note=rating)
                ticket.rating = rating
            await self.store.tickets.save(ticket)
        await self._after_change(ticket)
        return ticket

    async def _after_change(self, ticket: Ticket) -> None:
        event = ticket.last_event.action
        if ticket.state in UNRESOLVED and ticket.state != State.RETURNED:
            await self.store.tickets.schedule(ticket.number, self._next_step_at(ticket).timestamp())
        else:
            await self.store.tickets.unschedule(ticket.number)
        if event in ("reopened", "returned", "resolved", "rerouted", "replied", "accepted"):
            await self._alert(ticket, event)
        if event == "resolved":
            for resident in ticket.residents:
                await self.store.conversations_await_rating(resident, ticket.number, self.settings.rating_ttl)

    # -- escalation ---------------------------------------------------------------------------
    def _next_step_at(self, ticket: Ticket) -> dt.datetime:
        done = len(ticket.escalations)
        if done == 0:
            if ticket.state == State.OPEN:
                return min(calendar.deadline(ticket.dispatched, self.settings.sign_within), ticket.deadline)
            return ticket.deadline
        return calendar.deadline(ticket.deadline, self.settings.supervise_after)

    async def escalate_due(self) -> list[tuple[str, str]]:
        """Take every ladder step that is due. Safe with several schedulers: each step of each
        ticket is claimed in Redis by exactly one of them."""
        now = self.clock()
        taken: list[tuple[str, str]] = []
        for number in await self.store.tickets.due(now.timestamp()):
            async with self.store.tickets.locked(number):
                ticket = await self.store.tickets.load(number)
                if ticket is None or ticket.state not in UNRESOLVED or ticket.state == State.RETURNED:
                    await self.store.tickets.unschedule(number)
                    continue
                if self._next_step_at(ticket) > now:  # another scheduler already moved it on
                    continue
                step_index = len(ticket.escalations)
                if step_index >= len(LADDER):
                    await self.store.tickets.unschedule(number)
                    continue
                step, level = LADDER[step_index]
                cycle = sum(1 for e in ticket.history if e.action in ("reopened", "rerouted"))
                if not await self.store.tickets.claim_step(number, f"{cycle}:{step}"):
                    continue
                ticket.escalations.append(step)
                ticket.level = level
                ticket.record(at=now, who="system", action=step, note=f"升级至{level}级督促")
                await self.store.tickets.save(ticket)
                if len(ticket.escalations) < len(LADDER):
                    await self.store.tickets.schedule(number, self._next_step_at(ticket).timestamp())
                else:
                    await self.store.tickets.unschedule(number)
            await self._alert(ticket, step)
            taken.append((number, step))
        return taken

    # -- alerts -------------------------------------------------------------------------------
    async def _alert(self, ticket: Ticket, event: str) -> None:
        """Put the event in the durable outbox; senders deliver it to the unit and the residents."""
        matter = self.knowledge.matter[ticket.matter]
        await self.outbox.add(
            {
                "id": f"{ticket.number}:{len(ticket.history)}:{event}",
                "event": event,
                "ticket": ticket.number,
                "department": ticket.department,
                "matter": matter.name,
                "place": ticket.place or (ticket.location.label if ticket.location else ""),
                "deadline": ticket.deadline.isoformat(),
                "level": ticket.level,
                "source": ticket.source,
                "company": ticket.company,
                "residents": ticket.residents,
                "note": ticket.last_event.note,
                # What happened, in the residents' words, without their phone numbers.
                "details": redact("；".join(ticket.texts))[:300],
            }
        )
