"""Repairs within the property company's (or a utility's) own duties: a draft that opens a
ticket for them without a confirmation step."""

from bot.dialogue import Conversation
from bot.intents import Understander, Understanding
from bot.models import Message, Reply
from bot.roles import Roles
from bot.router import Router
from handlers import drafting

router = Router()


@router.intent("repair")
async def repair(
    message: Message, understanding: Understanding, conversation: Conversation, understander: Understander, roles: Roles
) -> Reply:
    return await drafting.begin(message, understanding, conversation, understander, roles)
