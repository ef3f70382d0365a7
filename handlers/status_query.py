"""Status: the resident's own tickets, with state and last update; never anyone else's."""

from bot.intents import Understanding
from bot.knowledge import Knowledge
from bot.models import Message, Reply
from bot.router import Router
from bot.tickets import Ticket, TicketService
from bot.tickets.model import action_names

router = Router()


@router.intent("status_query")
async def status_query(message: Message, understanding: Understanding, knowledge: Knowledge, tickets: TicketService) -> Reply:
    return Reply(text=await describe(message.user, understanding.tickets, knowledge, tickets))


async def describe(user: str, numbers: list[str], knowledge: Knowledge, tickets: TicketService) -> str:
    if numbers:
        found = [t for t in [await tickets.get(n) for n in numbers] if t and user in t.residents]
        if not found:
            return knowledge.text("status_not_found", number="、".join(numbers))
    else:
        found = await tickets.of_user(user)
        if not found:
            return knowledge.text("status_none")
    return "\n".join([knowledge.text("status_header"), *(_line(t, knowledge) for t in found)])


def _line(ticket: Ticket, knowledge: Knowledge) -> str:
    last = ticket.last_event
    words = action_names.get(last.action, last.action)
    if last.note and last.action in ("replied", "resolved", "returned"):
        words += f"：{last.note}"
    return knowledge.text(
        "status_line",
        number=ticket.number,
        matter=knowledge.matter[ticket.matter].name,
        state=ticket.state.value,
        department=knowledge.department[ticket.department].name,
        last=f"{last.at:%m-%d %H:%M} {words}",
    )
