"""Understanding: text in, ``Understanding`` out. Pure functions over the knowledge; no I/O."""

from __future__ import annotations

from bot.intents.classifier import Understander
from bot.intents.model import Candidate, FaqMatch, Intent, Understanding
from bot.intents.normalize import Normalizer

__all__ = ["Understander", "Understanding", "Candidate", "FaqMatch", "Intent", "Normalizer"]
