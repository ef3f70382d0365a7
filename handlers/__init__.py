"""Acting: one module per intent, each a router of plain async functions.

A handler asks for what it needs by parameter name; the engine provides ``message``,
``understanding``, ``conversation``, ``knowledge``, ``understander``, ``tickets`` and ``settings``.
"""

from bot.router import Router
from handlers import (
    complaint,
    drafting,
    emergency,
    events,
    official,
    other,
    policy_question,
    rating,
    repair,
    status_query,
)


def build_router() -> Router:
    root = Router()
    for module in (official, emergency, complaint, repair, drafting, policy_question, status_query, rating, other, events):
        root.include(module.router)
    return root
