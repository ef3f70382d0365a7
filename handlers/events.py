"""Messages that are not text: events, photos, locations, links, and kinds we do not know."""

from bot.dialogue import Conversation
from bot.knowledge import Knowledge
from bot.models import Message, Reply
from bot.router import Router
from bot.tickets import TicketService
from handlers import status_query

router = Router()


@router.kind("event:subscribe")
async def subscribed(knowledge: Knowledge) -> Reply:
    return Reply(text=knowledge.text("welcome"))


@router.kind("event:scan")
async def scanned(knowledge: Knowledge) -> Reply:
    return Reply(text=knowledge.text("welcome_back"))


@router.kind("event:unsubscribe", "event:view", "event:templatesendjobfinish")
async def acknowledged() -> Reply:
    return Reply.silent()  # nothing to say: WeChat only needs "success"


@router.kind("event:location")
async def location_reported(message: Message, conversation: Conversation) -> Reply:
    # The periodic location report of users who allowed it: kept for a draft, never answered.
    conversation.remember_media(location=message.location)
    return Reply.silent()


@router.kind("event:click")
async def menu(message: Message, knowledge: Knowledge, tickets: TicketService) -> Reply:
    key = message.event_key.lower()
    if key in ("status", "query", "my_tickets"):
        return Reply(text=await status_query.describe(message.user, [], knowledge, tickets))
    return Reply(text=knowledge.texts.get(f"menu_{key}") or knowledge.text("help"))


@router.kind("image")
async def photo(message: Message, conversation: Conversation, knowledge: Knowledge) -> Reply:
    conversation.remember_media(photo=message.media_id)
    return Reply(text=knowledge.text("image_kept"))


@router.kind("location")
async def place(message: Message, conversation: Conversation, knowledge: Knowledge) -> Reply:
    conversation.remember_media(location=message.location)
    label = message.location.label if message.location else ""
    return Reply(text=knowledge.text("location_kept", label=label or "已记录"))


@router.kind("link")
async def link(knowledge: Knowledge) -> Reply:
    return Reply(text=knowledge.text("link_received"))


@router.kind("voice_unrecognised")
async def voice_without_text(knowledge: Knowledge) -> Reply:
    return Reply(text=knowledge.text("voice_unrecognised"))


@router.kind("unknown", "video", "text")
async def unknown(message: Message, knowledge: Knowledge) -> Reply:
    # "text" lands here only when it is empty.
    return Reply(text=knowledge.text("unknown_kind"))
