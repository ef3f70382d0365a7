"""Complaints and reports about a matter a department must act on: start a draft that the
resident confirms before it goes to the government department."""

from bot.dialogue import Conversation
from bot.intents import Understander, Understanding
from bot.models import Message, Reply
from bot.roles import Roles
from bot.router import Router
from handlers import drafting

router = Router()


@router.intent("complaint")
async def complaint(
    message: Message, understanding: Understanding, conversation: Conversation, understander: Understander, roles: Roles
) -> Reply:
    return await drafting.begin(message, understanding, conversation, understander, roles)
