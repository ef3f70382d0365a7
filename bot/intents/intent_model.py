"""A small statistical second opinion on the intent: multinomial Naive Bayes over the set of
character 1–3-grams of the normalised message (with begin/end marks, so "吗$" and "^请问" count).

Trained at start-up from ``knowledge/intent_examples.jsonl`` (text, intent): a few hundred short
messages train in a few tens of milliseconds. Scoring is a handful of dictionary look-ups per
class done in C (``map(dict.get, …)``), so the model costs a few microseconds per message.

The model does not decide alone: ``Understander`` asks it only about the intents among
complaint / repair / policy_question / status_query / other and weighs it against the rules
(see ``classifier.py``); emergencies and departments stay with the rules.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from operator import add

from bot.intents.normalize import normalize

# Whitespace and the punctuation that says nothing about the intent; "?" and "!" stay.
_DROP = re.compile(r"[\s,.;:，。；：、\"'“”‘’()（）…\-~]+")
_QMARK = re.compile(r"[？?]+")
_BANG = re.compile(r"[！!]+")
_ALNUM = re.compile(r"[0-9a-zA-Z]+")
# The intents the model weighs; emergencies stay with the rules (recall first).
MODEL_INTENTS = ("complaint", "repair", "policy_question", "status_query", "other")


def prepare(normalized: str) -> str:
    """The characters the model sees: punctuation dropped, repeated ?/! folded into one, and every
    run of digits or Latin letters one mark ("#"): a phone, ticket or room number says nothing."""
    text = _ALNUM.sub("#", _DROP.sub("", normalized))
    return "^" + _BANG.sub("!", _QMARK.sub("?", text)) + "$"


def grams(prepared: str) -> list[str]:
    """Bigrams, then trigrams, then the characters between the marks (string additions in C)."""
    bigrams = list(map(add, prepared, prepared[1:]))  # prepared[i : i + 2]
    trigrams = list(map(add, bigrams, prepared[2:]))  # prepared[i : i + 3]: a bigram and the next character
    return bigrams + trigrams + list(prepared[1:-1])


class IntentModel:
    """Binary-feature multinomial Naive Bayes; ``scores`` gives log-posteriors by intent."""

    def __init__(self, examples: Iterable[tuple[str, str]], *, alpha: float = 0.1, min_count: int = 2) -> None:
        docs: dict[str, list[set[str]]] = {c: [] for c in MODEL_INTENTS}
        for text, intent in examples:
            if intent in docs:
                docs[intent].append(set(grams(prepare(normalize(text)))))
        self.intents = tuple(c for c in MODEL_INTENTS if docs[c])
        vocab: set[str] = set().union(*(d for c in self.intents for d in docs[c])) if self.intents else set()
        v = len(vocab) or 1
        total_docs = sum(len(docs[c]) for c in self.intents) or 1
        counts = {c: Counter(g for d in docs[c] for g in d) for c in self.intents}
        denoms = {c: math.log(sum(counts[c].values()) + alpha * v) for c in self.intents}
        # Per known gram, one row of weights (one per intent), relative to a gram the intent never
        # had: scoring looks each gram up once and sums the columns.
        # Grams of one message only are left out: they name that message, not a way of speaking.
        kept = sorted(g for g in vocab if sum(counts[c][g] for c in self.intents) >= min_count)
        self._rows = {g: tuple(math.log((counts[c][g] + alpha) / alpha) for c in self.intents) for g in kept}
        self._unknown = tuple(math.log(alpha) - denoms[c] for c in self.intents)
        self._prior = tuple(math.log(len(docs[c]) / total_docs) for c in self.intents)
        self._zero = (tuple(0.0 for _ in self.intents),)

    def __bool__(self) -> bool:
        return bool(self.intents)

    def scores(self, normalized: str) -> dict[str, float]:
        """Log-likelihood of each intent, up to one constant: differences are log-posterior ratios."""
        rows = list(filter(None, map(self._rows.get, grams(prepare(normalized))))) or self._zero
        n = len(rows) if rows is not self._zero else 0
        return {
            c: p + n * u + sum(col)
            for c, p, u, col in zip(self.intents, self._prior, self._unknown, zip(*rows))
        }

    def posterior(self, normalized: str) -> dict[str, float]:
        """Probabilities of the intents (for reports)."""
        raw = self.scores(normalized)
        top = max(raw.values())
        z = sum(math.exp(s - top) for s in raw.values())
        return {c: math.exp(s - top) / z for c, s in raw.items()}


def load_examples(lines: Iterable[str]) -> list[tuple[str, str]]:
    """(text, intent) pairs of a JSON-lines file; blank lines and ``#`` comments skipped."""
    import json

    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        d = json.loads(line)
        out.append((str(d["text"]), str(d["intent"])))
    return out
