"""Emergencies: the number first, nothing else before it."""

from bot.intents import Understanding
from bot.knowledge import Knowledge
from bot.models import Reply
from bot.router import Router

router = Router()


@router.intent("emergency")
async def emergency(understanding: Understanding, knowledge: Knowledge) -> Reply:
    em = next(e for e in knowledge.emergencies if e.id == understanding.emergency)
    return Reply(text=knowledge.text("emergency", number=em.number, name=em.name, advice=em.advice))
