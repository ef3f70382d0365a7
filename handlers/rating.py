"""回访: after a ticket is resolved, the resident's next message may be its rating."""

from bot.dialogue import Conversation
from bot.knowledge import Knowledge
from bot.models import Message, Reply
from bot.router import Router
from bot.tickets import RATINGS, TicketService, TransitionError

router = Router()


def read_rating(text: str) -> str | None:
    text = text.strip()
    if text in ("1", "2", "3", "4"):
        return RATINGS[int(text) - 1]
    # Longest first: "不满意" must not read as "满意", "基本满意" not as "满意".
    for rating in sorted(RATINGS, key=len, reverse=True):
        if rating in text:
            return rating
    return None


@router.step("rating")
async def rating(message: Message, conversation: Conversation, knowledge: Knowledge, tickets: TicketService) -> Reply | None:
    pending: list[str] = conversation.data.get("rating_tickets", [])
    chosen = read_rating(message.text)
    if not pending or chosen is None:
        return None  # not a rating: handle the message as usual, keep asking later
    number = pending.pop(0)
    if not pending:
        conversation.expect(None)
        conversation.data.pop("rating_tickets", None)
    try:
        ticket = await tickets.rate(number, message.user, chosen)  # type: ignore[arg-type]
    except (LookupError, TransitionError) as exc:
        return Reply(text=str(exc))
    if chosen == "未解决":
        department = knowledge.department[ticket.department].name
        return Reply(text=knowledge.text("rating_reopened", number=number, department=department))
    return Reply(text=knowledge.text("rating_thanks", number=number, rating=chosen))
