"""Commands of bound staff and officials: 绑定, and an official's 受理 / 回复 / 办结 / 退回 / 我的待办
on their own department's tickets."""

from __future__ import annotations

import re

from bot.knowledge import Knowledge
from bot.models import Message, Reply
from bot.roles import Roles
from bot.router import Router
from bot.tickets import NotAllowed, TicketService, TransitionError

router = Router()

_NUMBER_AND_NOTE = re.compile(r"(wy\d{8}-\d{1,6})\s*[:：,，]?\s*(.*)", re.IGNORECASE | re.DOTALL)
ACTIONS = {"受理": "accept", "回复": "reply", "办结": "resolve", "退回": "return"}


@router.command("绑定")
async def bind(message: Message, roles: Roles, knowledge: Knowledge) -> Reply:
    code = message.text.strip()[2:].strip()
    role = await roles.bind(message.user, code) if code.isdigit() else None
    if role is None:
        return Reply(text=knowledge.text("bind_failed"))
    if role.kind == "official":
        return Reply(text=knowledge.text("bind_official", department=knowledge.department[role.department].name))
    return Reply(text=knowledge.text("bind_staff", company=role.company))


@router.command("受理", "回复", "办结", "退回")
async def act(message: Message, roles: Roles, tickets: TicketService, knowledge: Knowledge) -> Reply | None:
    role = await roles.of(message.user)
    if role is None or role.kind != "official":
        return None  # a resident's "受理了吗…": not a command
    text = message.text.strip()
    word = text[:2]
    m = _NUMBER_AND_NOTE.search(text[2:])
    if not m:
        return Reply(text=knowledge.text("command_usage"))
    number, note = m.group(1).upper(), m.group(2).strip()
    try:
        ticket = await tickets.act(number, ACTIONS[word], who=f"official:{role.department}", note=note, department=role.department)
    except (LookupError, NotAllowed, TransitionError, ValueError) as exc:
        return Reply(text=str(exc))
    return Reply(text=knowledge.text("command_done", action=word, number=ticket.number, state=ticket.state.value))


@router.command("我的待办", "待办")
async def todo(message: Message, roles: Roles, tickets: TicketService, knowledge: Knowledge) -> Reply | None:
    role = await roles.of(message.user)
    if role is None or role.kind != "official":
        return None
    open_ones = await tickets.open_of_department(role.department)
    if not open_ones:
        return Reply(text=knowledge.text("todo_none"))
    lines = [knowledge.text("todo_header", count=len(open_ones))]
    for t in open_ones[:10]:
        lines.append(
            knowledge.text(
                "todo_line",
                number=t.number,
                matter=knowledge.matter[t.matter].name,
                state=t.state.value,
                place=t.place or "未填写",
                deadline=f"{t.deadline:%m-%d %H:%M}",
            )
        )
    return Reply(text="\n".join(lines))
