"""The FAQ matcher: which knowledge-base entries a question asks, scored.

Every phrasing of every entry is a set of content tokens (jieba's, without the frame words of a
question); a token weighs its IDF over the entries. A question is scored against the entries
sharing the most weight with it (a shortlist), by cosine with each entry's best phrasing,
refined by the characters' similarity (rapidfuzz) and by the entry's keywords the phrase index
found in the message.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from rapidfuzz import fuzz, process

from bot.intents.normalize import Normalizer
from bot.knowledge import FaqEntry

PUNCT = re.compile(r"[\s,.!?;:，。！？；：、\"'“”‘’()（）…\-]+")
# Tokens too common to say anything about which FAQ entry is meant, and the frame words of a
# question ("…该找谁", "…归哪个部门管"): the content words decide the FAQ entry.
STOP = frozenset(
    "的 了 吗 呢 啊 吧 呀 嘛 么 哈 是 我 你 他 她 我们 在 有 和 就 都 也 要 会 能 怎么 什么 这 那 个 请问 一下 怎样 如何 "
    "可以 不 没 ? 谁 找 找谁 该 归 管 归谁 谁管 哪 哪个 哪里 部门 单位 啥 咋 咋样 怎么样 负责 来管 这事 事 问问 想 问 到底 究竟 "
    # pronouns (also in dialect), demonstratives and particles that say who asks, not what about
    "俺 俺们 咱 咱们 额 你们 他们 它 这个 那个 这种 那种 这些 那些 还 过 由 把 给 按规定 一般 已经 就是 一个".split()
)
_UNKNOWN_CHAR, _UNKNOWN_WORD = 0.3, 0.8  # weight of a token no FAQ entry uses, times the rarest weight
# Calibration: _SHIFT lifts a raw score of 0.45 (content words mostly shared with one phrasing) to
# 0.60, where the matcher alone was once trusted to answer; answering now also needs the FAQ
# model's agreement, and then 0.40 will do (see ``Understander.answers``).
_SHIFT = 0.15
_SHORTLIST = 12


class FaqIndex:
    def __init__(self, entries: list[FaqEntry], tokens: Callable[[str], list[str]], normalize: Normalizer) -> None:
        """``tokens``: a normalised text's content tokens (the understander's tokenizer, which
        knows the domain's words); ``normalize``: the understander's normaliser."""
        self._tokens = tokens
        phrasings: list[tuple[str, str, frozenset[str]]] = []  # (entry id, characters, tokens)
        self._order = {entry.id: i for i, entry in enumerate(entries)}
        postings: dict[str, set[str]] = defaultdict(set)
        for entry in entries:
            for phrasing in [entry.question, *entry.phrasings]:
                norm = normalize(phrasing)
                content = frozenset(tokens(norm))
                phrasings.append((entry.id, PUNCT.sub("", norm), content))
                for t in content:
                    postings[t].add(entry.id)
            for kw in entry.keywords:
                postings[normalize(kw)].add(entry.id)
        n = max(1, len(entries))
        self._idf = {t: math.log(1 + n / len(ids)) for t, ids in postings.items()}
        self._postings = {t: tuple(sorted(ids, key=self._order.__getitem__)) for t, ids in postings.items()}
        self._unknown_weight = math.log(1 + n)
        # Each phrasing's entry and norm, the phrasings holding each token, and each entry's
        # phrasings by their characters (rapidfuzz's choices).
        self._phrasing_entry: list[str] = []
        self._phrasing_norm: list[float] = []
        holding: dict[str, dict[str, list[int]]] = defaultdict(dict)
        self._choices: dict[str, list[str]] = defaultdict(list)
        for n_phrasing, (entry_id, chars, content) in enumerate(phrasings):
            self._phrasing_entry.append(entry_id)
            self._phrasing_norm.append(math.sqrt(sum(self._idf[t] ** 2 for t in content)) or 1.0)
            for t in content:
                holding[t].setdefault(entry_id, []).append(n_phrasing)
            self._choices[entry_id].append(chars)
        # token → entry → the phrasings of that entry holding the token
        self._phrasings_of = {t: {e: tuple(ns) for e, ns in by_entry.items()} for t, by_entry in holding.items()}

    def match(self, normalized: str, limit: int = 3, keyword_entries: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The best entries as (id, score), best first (ties: the entry written first)."""
        tokens = set(self._tokens(normalized))
        if not tokens:
            return []
        weights: dict[str, float] = {}
        votes: dict[str, float] = {}
        get = votes.get
        for t in sorted(tokens):  # a fixed order: the same sums, the same ties, every run
            idf = self._idf.get(t)
            if idf is None:
                # An unknown single character says little; an unknown word says the question is about something else.
                weights[t] = self._unknown_weight * (_UNKNOWN_CHAR if len(t) == 1 else _UNKNOWN_WORD)
                continue
            weights[t] = idf
            for entry_id in self._postings[t]:
                votes[entry_id] = get(entry_id, 0.0) + idf
        keyword_hits: dict[str, int] = defaultdict(int)
        for entry_id in keyword_entries:
            keyword_hits[entry_id] += 1
        if not votes and not keyword_hits:
            return []
        # Only the entries sharing the most weight with the message are compared phrasing by phrasing.
        order = self._order
        # Most votes first, ties to the entry written first (two stable sorts with C-level keys).
        shortlist = sorted(sorted(votes, key=order.__getitem__), key=votes.__getitem__, reverse=True)[:_SHORTLIST]
        candidates = [*shortlist, *(e for e in keyword_hits if e not in shortlist)]
        q_norm = math.sqrt(sum(w * w for w in weights.values()))
        chars = PUNCT.sub("", normalized)
        # What each candidate's phrasings share with the message: the sum of weight × IDF over the
        # common tokens, added up token by token from the smallest product (the same float whatever
        # the set order).
        idf_of = self._idf
        products = {t: weights[t] * idf_of[t] for t in tokens if t in idf_of}
        best: dict[str, float] = dict.fromkeys(candidates, 0.0)
        shared: dict[int, float] = {}
        get_shared = shared.get
        phrasings_of = self._phrasings_of
        for t in sorted(products, key=products.__getitem__):
            product = products[t]
            by_entry = phrasings_of.get(t)
            if by_entry:
                for entry_id in by_entry.keys() & best.keys():
                    for n_phrasing in by_entry[entry_id]:
                        shared[n_phrasing] = get_shared(n_phrasing, 0.0) + product
        # Each candidate's best phrasing by cosine.
        entry_of, norm_of = self._phrasing_entry, self._phrasing_norm
        for n_phrasing, total in shared.items():
            entry_id = entry_of[n_phrasing]
            cosine = total / norm_of[n_phrasing]
            if cosine > best[entry_id]:
                best[entry_id] = cosine
        coarse: list[tuple[float, str, float]] = []
        for entry_id in candidates:
            cosine = best[entry_id] / q_norm
            bonus = min(0.2, 0.1 * keyword_hits.get(entry_id, 0))
            coarse.append((cosine + bonus, entry_id, cosine))
        coarse.sort(key=lambda c: (-c[0], order[c[1]]))
        scored = []
        choices_of = self._choices
        for rough, entry_id, cosine in coarse[:5]:
            found = process.extractOne(chars, choices_of[entry_id], scorer=fuzz.ratio)
            similarity = found[1] / 100 if found else 0.0
            score = 0.75 * cosine + 0.25 * similarity + (rough - cosine) + _SHIFT
            scored.append((score, order[entry_id], entry_id))
        scored.sort(key=lambda s: (-s[0], s[1]))  # ties: the entry written first
        return [(entry_id, round(min(score, 1.0), 3)) for score, _, entry_id in scored[:limit]]
