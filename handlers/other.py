"""Greetings, thanks, chit-chat and anything out of scope: say what the bot can do."""

from bot.intents import Understanding
from bot.knowledge import Knowledge
from bot.models import Reply
from bot.router import Router

router = Router()


@router.intent("other")
async def other(understanding: Understanding, knowledge: Knowledge) -> Reply:
    text = understanding.normalized
    if any(w in text for w in knowledge.cues.thanks):
        return Reply(text=knowledge.text("thanks"))
    if any(w in text for w in knowledge.cues.greeting):
        return Reply(text=knowledge.text("greeting"))
    return Reply(text=knowledge.text("help"))
