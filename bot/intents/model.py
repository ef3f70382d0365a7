"""What understanding a message yields."""

from __future__ import annotations

from pydantic import BaseModel

from bot.knowledge import Intent
INTENTS: tuple[Intent, ...] = ("emergency", "complaint", "repair", "policy_question", "status_query", "other")


class Candidate(BaseModel):
    matter: str
    department: str
    score: float


class FaqMatch(BaseModel):
    id: str
    score: float  # 0..1, the FAQ matcher's
    confirmed: bool = False  # the FAQ model picks this entry too: it may be answered


class Understanding(BaseModel):
    text: str
    normalized: str
    intent: Intent
    confidence: float  # 0..1
    margin: float  # over the second-best reading
    matter: str | None = None
    department: str | None = None
    also: list[str] = []  # departments of other matters the message names
    also_matters: list[str] = []
    emergency: str | None = None  # id of the emergency kind
    candidates: list[Candidate] = []  # matters, best first
    faq: list[FaqMatch] = []  # FAQ entries, best first
    tickets: list[str] = []  # ticket numbers mentioned

    @property
    def is_emergency(self) -> bool:
        return self.emergency is not None
