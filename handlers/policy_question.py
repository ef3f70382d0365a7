"""Policy questions: answer from the FAQ with the clause it rests on, or say we do not know."""

from bot.dialogue import Conversation
from bot.intents import Understander, Understanding
from bot.models import Message, Reply
from bot.router import Router
from bot.store.outbox import Outbox

router = Router()


@router.intent("policy_question")
async def policy_question(understanding: Understanding, understander: Understander, conversation: Conversation) -> Reply:
    knowledge = understander.knowledge
    best = understanding.faq[0] if understanding.faq else None
    if best and understander.answers(understanding.faq):
        entry = knowledge.faq_by_id[best.id]
        return Reply(text=knowledge.text("faq_answer", answer=entry.answer.strip(), citation=knowledge.cite(entry.sources)))
    # Questions the knowledge base nearly answers, to ask again in its words.
    related = [knowledge.faq_by_id[m.id].question for m in understanding.faq if m.score >= understander.gates.faq]
    if understanding.matter:  # "X 该找谁": the responsible department, from the matter's own clause
        matter = knowledge.matter[understanding.matter]
        text = knowledge.text(
            "faq_who",
            matter=matter.name,
            department=knowledge.department[matter.department].name,
            citation=knowledge.cite(matter.sources),
        )
    else:
        conversation.expect("leave_message", question=understanding.text)
        text = knowledge.text("faq_none")
    if related:
        text += "\n" + knowledge.text("faq_related", questions="；".join(related[:2]))
    return Reply(text=text)


@router.step("leave_message")
async def leave_message(message: Message, conversation: Conversation, understander: Understander, outbox: Outbox) -> Reply | None:
    question = conversation.data.get("question", "")
    conversation.expect(None)
    conversation.data.pop("question", None)
    if message.text.strip() not in ("留言", "好", "好的", "是", "1"):
        return None
    # Questions the knowledge base cannot answer go to the 物业行政主管部门 (住建局), 眉县 三(二)1.
    await outbox.add(
        {"id": f"question:{message.id}", "event": "question", "department": "housing", "residents": [message.user], "note": question}
    )
    return Reply(text=understander.knowledge.text("left_message"))
