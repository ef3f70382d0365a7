"""The draft conversation shared by complaints and repairs: ask one missing thing at a time,
accept answers in any order, understand 取消 / 重来 / 不是这个, confirm, open the ticket."""

from __future__ import annotations

from bot.dialogue import Conversation, Draft, is_skip, mask_phone, read_phone, read_place
from bot.intents import Understander, Understanding
from bot.knowledge import Knowledge
from bot.models import Message, Reply
from bot.roles import Roles
from bot.router import Router
from bot.tickets import TicketService

router = Router()

# Departments a resident's report reaches without a confirmation step (their own service duties).
NO_CONFIRM = frozenset({"property_company", "utility"})
CANCEL = ("取消", "算了", "不投诉了", "不用了", "不报了")
RESTART = ("重来", "重新开始", "重新来")
WRONG_MATTER = ("不是这个", "不对", "搞错了", "弄错了", "不是这个问题")
YES = ("1", "确认", "是", "是的", "对", "提交", "确定", "好", "好的", "可以")
EDIT = ("2", "修改", "改", "改一下")


async def begin(
    message: Message, understanding: Understanding, conversation: Conversation, understander: Understander, roles: Roles
) -> Reply:
    if understanding.matter is None or understanding.confidence < understander.gates.confidence:
        return clarify(understanding, conversation, understander.knowledge)
    reply = start(message, understanding.matter, understanding, conversation, understander.knowledge)
    role = await roles.of(message.user)
    if role is not None and role.kind == "staff":
        # A property company's report (眉县 三(三): 劝阻、制止, then report): source and company known.
        draft = conversation.draft
        assert draft is not None
        draft.source, draft.company = "property", role.company
        if not draft.place and role.compounds:
            draft.place = role.compounds[0] if len(role.compounds) == 1 else ""
        opening = reply.text.split("\n", 1)[0] if reply.text else ""
        return Reply(text=opening + "\n" + _ask(draft, conversation, understander.knowledge))
    return reply


def clarify(understanding: Understanding, conversation: Conversation, knowledge: Knowledge) -> Reply:
    """Below the confidence gate: numbered choices instead of a guess."""
    options = [c.matter for c in understanding.candidates[:3]]
    if not options:
        return Reply(text=knowledge.text("help"))
    conversation.expect("clarify", options=options, pending_text=understanding.text)
    return Reply(text=knowledge.text("clarify", options=_numbered(options, knowledge)))


def _numbered(options: list[str], knowledge: Knowledge) -> str:
    lines = [
        knowledge.text(
            "clarify_option",
            n=i,
            name=knowledge.matter[m].name,
            department=knowledge.department[knowledge.matter[m].department].name,
        )
        for i, m in enumerate(options, 1)
    ]
    lines.append(knowledge.text("clarify_none", n=len(options) + 1))
    return "\n".join(lines)


def start(
    message: Message, matter_id: str, understanding: Understanding | None, conversation: Conversation, knowledge: Knowledge
) -> Reply:
    matter = knowledge.matter[matter_id]
    photos, location = conversation.take_media()
    text = message.text.strip()
    draft = Draft(
        matter=matter.id,
        department=matter.department,
        intent=matter.intent,
        texts=[text] if text else [],
        place=read_place(understanding.normalized if understanding else text),
        location=location,
        photos=photos,
        contact=read_phone(text),
        alternatives=[c.matter for c in (understanding.candidates if understanding else []) if c.matter != matter.id][:3],
    )
    department = knowledge.department[matter.department].name
    opening = knowledge.text(
        "draft_start_company" if matter.department in NO_CONFIRM else "draft_start_gov", matter=matter.name, department=department
    )
    if understanding and understanding.also_matters:
        names = "、".join(knowledge.matter[m].name for m in understanding.also_matters)
        opening += knowledge.text("also_noted", matters=names)
    conversation.draft = draft
    conversation.expect("draft")
    return Reply(text=opening + "\n" + _ask(draft, conversation, knowledge))


def _ask(draft: Draft, conversation: Conversation, knowledge: Knowledge) -> str:
    slot = draft.missing(needs_confirm=draft.department not in NO_CONFIRM, ask_photo=knowledge.matter[draft.matter].ask_photo)
    if slot in ("details", "photo", "contact") and slot not in draft.asked:
        draft.asked.append(slot)
    conversation.draft = draft
    conversation.expect("draft", slot=slot)
    if slot == "confirm":
        department = knowledge.department[draft.department].name
        contact = {"": knowledge.text("contact_none"), "wechat": knowledge.text("contact_wechat")}.get(
            draft.contact, mask_phone(draft.contact)
        )
        place = draft.place or (draft.location.label if draft.location else "")
        return knowledge.text(
            "confirm",
            matter=knowledge.matter[draft.matter].name,
            place=place,
            details="；".join(draft.texts)[:120],
            photos=len(draft.photos),
            contact=contact,
            department=department,
        )
    return knowledge.text(f"ask_{slot}") if slot else ""


@router.step("clarify")
async def clarified(message: Message, conversation: Conversation, knowledge: Knowledge) -> Reply | None:
    options: list[str] = conversation.data.get("options", [])
    choice = message.text.strip()
    if choice.isdigit() and 1 <= int(choice) <= len(options):
        pending = conversation.data.get("pending_text", "")
        conversation.expect(None, options=None, pending_text=None)
        _drop_empty(conversation)
        first = message.model_copy(update={"text": pending})
        return start(first, options[int(choice) - 1], None, conversation, knowledge)
    conversation.expect(None)
    conversation.data.pop("options", None)
    conversation.data.pop("pending_text", None)
    if choice.isdigit():
        return Reply(text=knowledge.text("clarify_again"))
    return None  # a fresh message: let its own intent handle it


@router.step("draft")
async def drafting_step(
    message: Message, conversation: Conversation, knowledge: Knowledge, tickets: TicketService
) -> Reply:
    draft = conversation.draft
    if draft is None:  # the state was cleared under us; start over
        conversation.clear()
        return Reply(text=knowledge.text("restarted"))
    text = message.text.strip()
    slot = conversation.data.get("slot")

    if message.kind == "image":
        draft.photos.append(message.media_id)
    elif message.kind == "location" and message.location:
        draft.location = message.location
    elif text in CANCEL or text.startswith("取消"):
        conversation.clear()
        return Reply(text=knowledge.text("cancelled"))
    elif text in RESTART:
        conversation.clear()
        return Reply(text=knowledge.text("restarted"))
    elif text in WRONG_MATTER:
        options = draft.alternatives or [m.id for m in knowledge.matters if m.intent == draft.intent][:3]
        conversation.expect("correct", options=options)
        return Reply(text=knowledge.text("correct_options", options=_numbered(options, knowledge)))
    elif slot == "confirm" and text in YES:
        return await _submit(message, draft, conversation, knowledge, tickets)
    elif slot == "confirm" and text in EDIT:
        conversation.draft = draft
        conversation.expect("draft", slot="edit")
        return Reply(text=knowledge.text("edit_prompt"))
    else:
        _fill(draft, text, slot)

    reply = _ask(draft, conversation, knowledge)
    if conversation.data.get("slot") is None:  # nothing left to ask and no confirmation needed
        return await _submit(message, draft, conversation, knowledge, tickets)
    return Reply(text=reply)


def _fill(draft: Draft, text: str, slot: str | None) -> None:
    """Read whatever the answer holds, in any order: place, phone, 'no photo', details."""
    place, phone = read_place(text), read_phone(text)
    if place:
        draft.place = place
    if phone:
        draft.contact = phone
    if slot == "dissuaded":
        draft.staff_note = "物业已劝阻无效" if "劝阻" in text and "未劝阻" not in text else f"物业说明：{text}"
        return
    if text in ("微信联系", "微信", "微信上联系", "不留"):
        draft.contact = "wechat"
        return
    if is_skip(text):
        if slot == "contact":
            draft.contact = "wechat"
        return
    leftover = text
    for part in (place, phone):
        leftover = leftover.replace(part, "") if part else leftover
    if slot == "place" and not place and len(text) <= 40:
        draft.place = text  # an address in words we cannot parse ("学校后面那栋楼") is still an address
    elif len(leftover.strip()) >= 2 and slot != "contact":
        draft.texts.append(text)


@router.step("correct")
async def corrected(message: Message, conversation: Conversation, knowledge: Knowledge) -> Reply | None:
    options: list[str] = conversation.data.get("options", [])
    draft = conversation.draft
    choice = message.text.strip()
    conversation.data.pop("options", None)
    if draft and choice.isdigit() and 1 <= int(choice) <= len(options):
        matter = knowledge.matter[options[int(choice) - 1]]
        draft.matter, draft.department, draft.intent = matter.id, matter.department, matter.intent
        opening = knowledge.text(
            "draft_start_company" if matter.department in NO_CONFIRM else "draft_start_gov",
            matter=matter.name,
            department=knowledge.department[matter.department].name,
        )
        return Reply(text=opening + "\n" + _ask(draft, conversation, knowledge))
    conversation.clear()
    return None  # none of these: read the message afresh


async def _submit(
    message: Message, draft: Draft, conversation: Conversation, knowledge: Knowledge, tickets: TicketService
) -> Reply:
    ticket, joined = await tickets.open(draft, message.user)
    conversation.clear()
    department = knowledge.department[ticket.department].name
    deadline = ticket.deadline.strftime("%Y年%m月%d日%H:%M")
    return Reply(text=knowledge.text("joined" if joined else "opened", number=ticket.number, department=department, deadline=deadline))


def _drop_empty(conversation: Conversation) -> None:
    for key in [k for k, v in conversation.data.items() if v is None]:
        del conversation.data[key]
