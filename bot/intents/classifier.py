"""Text → Understanding: emergency first, then matters by keyword (characters, then sound),
FAQ by token overlap refined with rapidfuzz, and the intent from what was found and the cues."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

import jieba
from rapidfuzz import fuzz, process

from bot.intents.index import Hit, PhraseIndex
from bot.intents.model import Candidate, FaqMatch, Understanding
from bot.intents.normalize import normalize
from bot.knowledge import Knowledge

TICKET_NUMBER = re.compile(r"wy\s?(\d{8})\s?-?\s?(\d{1,6})", re.IGNORECASE)
_PUNCT = re.compile(r"[\s,.!?;:，。！？；：、\"'“”‘’()（）…\-]+")
# Tokens too common to say anything about which FAQ entry is meant.
_STOP = frozenset("的 了 吗 呢 啊 吧 是 我 你 他 她 我们 在 有 和 就 都 也 要 会 能 怎么 什么 这 那 个 请问 一下 怎样 如何 可以 不 没 ?".split())

STRONG, WEAK, NEGATIVE = "strong", "weak", "negative"


@dataclass(frozen=True, slots=True)
class _Gates:
    confidence: float
    margin: float
    faq: float


class Understander:
    def __init__(
        self, knowledge: Knowledge, *, confidence_gate: float = 0.45, margin_gate: float = 0.08, faq_gate: float = 0.62
    ) -> None:
        self.knowledge = knowledge
        self.gates = _Gates(confidence_gate, margin_gate, faq_gate)
        self._tokenizer = jieba.Tokenizer()
        for word in {*knowledge.userdict, *(k for m in knowledge.matters for k in m.keywords)}:
            self._tokenizer.add_word(word, freq=2000)
        self._matters = PhraseIndex(
            (phrase, (m.id, kind))
            for m in knowledge.matters
            for kind, phrases in ((STRONG, m.keywords), (WEAK, m.weak), (NEGATIVE, m.negative))
            for phrase in phrases
        )
        self._emergencies = PhraseIndex(
            (phrase, (e.id, kind))
            for e in knowledge.emergencies
            for kind, phrases in ((STRONG, e.keywords), (NEGATIVE, e.negative))
            for phrase in phrases
        )
        cues = knowledge.cues
        self._cues = PhraseIndex(
            ((phrase, name) for name in type(cues).model_fields for phrase in getattr(cues, name)), by_sound=False
        )
        self._fuzzy_keywords = [k for m in knowledge.matters for k in m.keywords if len(k) >= 4]
        self._fuzzy_owner = {k: m.id for m in knowledge.matters for k in m.keywords if len(k) >= 4}
        self._build_faq()

    # -- FAQ index ----------------------------------------------------------------------
    def _build_faq(self) -> None:
        self._faq_phrasings: list[tuple[str, str]] = []  # (tokens joined by space, entry id)
        postings: dict[str, set[str]] = defaultdict(set)
        for entry in self.knowledge.faq:
            for phrasing in [entry.question, *entry.phrasings]:
                tokens = self._tokens(normalize(phrasing))
                self._faq_phrasings.append((" ".join(tokens), entry.id))
                for t in tokens:
                    postings[t].add(entry.id)
            for kw in entry.keywords:
                postings[normalize(kw)].add(entry.id)
        n = max(1, len(self.knowledge.faq))
        self._faq_postings = {t: (ids, math.log(1 + n / len(ids))) for t, ids in postings.items()}
        self._faq_by_entry: dict[str, list[str]] = defaultdict(list)
        for text, entry_id in self._faq_phrasings:
            self._faq_by_entry[entry_id].append(text)

    def _tokens(self, text: str) -> list[str]:
        return [t for t in self._tokenizer.lcut(_PUNCT.sub(" ", text), HMM=False) if t.strip() and t not in _STOP]

    def match_faq(self, normalized: str, limit: int = 3) -> list[FaqMatch]:
        tokens = self._tokens(normalized)
        if not tokens:
            return []
        votes: dict[str, float] = defaultdict(float)
        total = 0.0
        for t in set(tokens):
            posting = self._faq_postings.get(t)
            weight = posting[1] if posting else math.log(1 + len(self.knowledge.faq))
            total += weight
            if posting:
                for entry_id in posting[0]:
                    votes[entry_id] += weight
        if not votes:
            return []
        shortlist = sorted(votes, key=votes.__getitem__, reverse=True)[:8]
        query = " ".join(tokens)
        scored = []
        for entry_id in shortlist:
            best = process.extractOne(query, self._faq_by_entry[entry_id], scorer=fuzz.token_set_ratio)
            similarity = best[1] / 100 if best else 0.0
            coverage = votes[entry_id] / total
            scored.append(FaqMatch(id=entry_id, score=round(0.6 * similarity + 0.4 * coverage, 3)))
        scored.sort(key=lambda m: m.score, reverse=True)
        return scored[:limit]

    # -- the pieces -----------------------------------------------------------------------
    def _emergency(self, text: str) -> str | None:
        hits = list(self._emergencies.find(text))
        ruled_out = {p[0] for h in hits if (p := h.payload)[1] == NEGATIVE}  # type: ignore[index]
        for h in hits:
            em_id, kind = h.payload  # type: ignore[misc]
            if kind == STRONG and em_id not in ruled_out and not self._negated(text, h.start):
                return em_id
        return None

    def _negated(self, text: str, start: int) -> bool:
        window = text[max(0, start - 3) : start]
        return any(neg in window for neg in self.knowledge.cues.negation)

    def _score_matters(self, text: str) -> dict[str, float]:
        hits = list(self._matters.find(text))
        ruled_out = {h.payload[0] for h in hits if h.payload[1] == NEGATIVE}  # type: ignore[index]
        scores: dict[str, float] = defaultdict(float)
        taken: list[tuple[int, int]] = []
        # Longest strong phrases first; a shorter phrase inside a longer one adds nothing.
        strong = sorted((h for h in hits if h.payload[1] == STRONG), key=lambda h: (h.fuzzy, h.start - h.end))  # type: ignore[index]
        first_seen: dict[str, int] = {}
        for h in strong:
            matter_id = h.payload[0]  # type: ignore[index]
            if matter_id in ruled_out or any(s < h.end and h.start < e for s, e in taken):
                continue
            if self._negated(text, h.start):
                continue
            taken.append((h.start, h.end))
            scores[matter_id] += (1.0 + 0.08 * (h.end - h.start)) * (0.8 if h.fuzzy else 1.0)
            first_seen.setdefault(matter_id, h.start)
        for h in hits:
            matter_id, kind = h.payload  # type: ignore[misc]
            if kind == WEAK and matter_id not in ruled_out:
                scores[matter_id] += 0.35
        if not scores:
            found = process.extractOne(text, self._fuzzy_keywords, scorer=fuzz.partial_ratio, score_cutoff=86)
            if found:
                matter_id = self._fuzzy_owner[found[0]]
                if matter_id not in ruled_out:
                    scores[matter_id] = 0.8
        # Ties go to the matter named first.
        return dict(sorted(scores.items(), key=lambda kv: (-kv[1], first_seen.get(kv[0], 999))))

    # -- the whole ----------------------------------------------------------------------
    def understand(self, text: str) -> Understanding:
        norm = normalize(text)
        tickets = [f"WY{d}-{int(n):04d}" for d, n in TICKET_NUMBER.findall(norm)]
        base = {"text": text, "normalized": norm, "tickets": tickets}

        emergency_id = self._emergency(norm)
        if emergency_id:
            em = next(e for e in self.knowledge.emergencies if e.id == emergency_id)
            return Understanding(
                **base, intent="emergency", emergency=em.id, department=em.department, confidence=1.0, margin=1.0
            )

        cues = {h.payload for h in self._cues.find(norm)}
        scores = self._score_matters(norm)
        ranked = list(scores.items())
        candidates = [
            Candidate(matter=m, department=self.knowledge.matter[m].department, score=round(s, 3)) for m, s in ranked[:4]
        ]
        asks = "question" in cues
        faq = self.match_faq(norm) if (asks or not ranked) else []
        faq_score = faq[0].score if faq else 0.0

        if tickets or ("status" in cues and not (ranked and "complaint" in cues)):
            return Understanding(**base, intent="status_query", confidence=0.95, margin=0.9, candidates=candidates, faq=faq)

        if ranked:
            main, s1 = ranked[0]
            s2 = ranked[1][1] if len(ranked) > 1 else 0.0
            matter = self.knowledge.matter[main]
            also_matters = [m for m, s in ranked[1:] if s >= 1.0]
            also = sorted({self.knowledge.matter[m].department for m in also_matters} - {matter.department})
            two_matters = s2 >= 1.0
            margin = 1.0 if two_matters else (s1 - s2) / s1
            confidence = (1 - math.exp(-1.2 * s1)) * (1.0 if two_matters else 0.5 + 0.5 * margin)
            intent = matter.intent
            if asks and faq_score >= self.gates.faq * 0.9 and "complaint" not in cues:
                intent = "policy_question"
            return Understanding(
                **base,
                intent=intent,
                matter=main,
                department=matter.department,
                also=also,
                also_matters=also_matters,
                confidence=round(min(confidence, 1.0), 3),
                margin=round(margin, 3),
                candidates=candidates,
                faq=faq,
            )

        if faq_score >= self.gates.faq or (asks and faq_score >= self.gates.faq * 0.75):
            second = faq[1].score if len(faq) > 1 else 0.0
            return Understanding(
                **base,
                intent="policy_question",
                department=self.knowledge.faq_by_id[faq[0].id].department,
                confidence=faq_score,
                margin=round(faq_score - second, 3),
                faq=faq,
            )
        if asks:
            return Understanding(**base, intent="policy_question", confidence=faq_score, margin=0.0, faq=faq)
        social = bool(cues & {"greeting", "thanks"})
        return Understanding(**base, intent="other", confidence=0.9 if social else 0.5, margin=0.5, faq=faq)

    def tokens(self, text: str) -> list[str]:
        """jieba tokens of the normalised text (for reports and benchmarks)."""
        return self._tokens(normalize(text))
