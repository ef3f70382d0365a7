"""What understanding a message yields: plain records, built on the hot path without validation
(the rules and models make every value of its field's type)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.knowledge import Intent

INTENTS: tuple[Intent, ...] = ("emergency", "complaint", "repair", "policy_question", "status_query", "other")


@dataclass(slots=True)
class Candidate:
    matter: str
    department: str
    score: float


@dataclass(slots=True)
class FaqMatch:
    id: str
    score: float  # 0..1, the FAQ matcher's
    confirmed: bool = False  # the FAQ model picks this entry too: it may be answered


@dataclass(slots=True)
class Understanding:
    text: str
    normalized: str
    intent: Intent
    confidence: float  # 0..1
    margin: float  # over the second-best reading
    matter: str | None = None
    department: str | None = None
    also: list[str] = field(default_factory=list)  # departments of other matters the message names
    also_matters: list[str] = field(default_factory=list)
    emergency: str | None = None  # id of the emergency kind
    candidates: list[Candidate] = field(default_factory=list)  # matters, best first
    faq: list[FaqMatch] = field(default_factory=list)  # FAQ entries, best first
    tickets: list[str] = field(default_factory=list)  # ticket numbers mentioned

    @property
    def is_emergency(self) -> bool:
        return self.emergency is not None
