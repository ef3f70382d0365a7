"""Small statistical second opinions: multinomial Naive Bayes over the set of character
1–3-grams of the normalised message (with begin/end marks, so "吗$" and "^请问" count).

Trained at start-up (see ``opinions.py``) from ``knowledge/examples.jsonl`` and the knowledge's
own phrases. Each known gram's row (its value for every label) is packed into one integer, and
an Aho-Corasick automaton (pyahocorasick, in C) over the known grams hands over the row of every
gram it finds in one pass over the message: scoring is that pass and one sum of integers, with
no string built or looked up in Python per gram. Models that read the same message share one
automaton (``Panel``): its rows hold theirs side by side, so one pass and one sum serve them all.

The models do not decide alone: ``Understander`` weighs them against the rules (see
``classifier.py``).
"""

from __future__ import annotations

import heapq
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable
from itertools import chain
from operator import add, itemgetter

import ahocorasick

# Whitespace and the punctuation that says nothing about the intent ("?" and "!" stay), and the
# characters of the begin/end marks (only the marks may be "^" and "$").
_DROP = re.compile(r"[\s,.;:，。；：、\"'“”‘’()（）…\-~^$]+")
_QMARK = re.compile(r"[？?]+")
_BANG = re.compile(r"[！!]+")
_ALNUM = re.compile(r"[0-9a-zA-Z]+")


def prepare(normalized: str) -> str:
    """The characters the model sees: punctuation dropped, repeated ?/! folded into one, and every
    run of digits or Latin letters one mark ("#"): a phone, ticket or room number says nothing."""
    text = _ALNUM.sub("#", _DROP.sub("", normalized))
    if "?" in text or "？" in text:
        text = _QMARK.sub("?", text)
    if "!" in text or "！" in text:
        text = _BANG.sub("!", text)
    return "^" + text + "$"


def features(normalized: str) -> list[str]:
    """What the models see of a normalised message."""
    return grams(prepare(normalized))


def grams(prepared: str, characters: bool = True) -> list[str]:
    """Bigrams, then trigrams, then (unless ``characters`` is false) the characters between the
    marks (string additions in C)."""
    bigrams = list(map(add, prepared, prepared[1:]))  # prepared[i : i + 2]
    trigrams = list(map(add, bigrams, prepared[2:]))  # prepared[i : i + 3]: a bigram and the next character
    return bigrams + trigrams + list(prepared[1:-1]) if characters else bigrams + trigrams


# Packed rows (see NaiveBayes): values to 1/_SCALE of a nat, _FIELD bits a label: room for the
# sums of some eighty grams (a message of twenty-odd characters; longer ones are summed in parts).
# A message reads each of its grams' rows from memory, and that, not the arithmetic, is most of
# the cost: 16-bit fields halve it against 32 (a 117-label FAQ row is 236 bytes, not 472), and
# 1/64 of a nat changed one matter in the readings of 2,914 texts. A sum's fields are unpacked at
# once as an array of unsigned shorts (one C call, however many labels).
_SCALE = 1 << 6
_FIELD = 16
_MASK = (1 << _FIELD) - 1
_FIELDS = "H"
assert array(_FIELDS).itemsize * 8 == _FIELD


class NaiveBayes:
    """Binary-feature multinomial Naive Bayes; ``scores`` gives log-likelihoods by label.

    ``docs`` are (normalised text, label) pairs. The prior counts only the docs marked as messages
    (``prior_from``): phrase lists added for vocabulary should not make a label likelier.
    """

    def __init__(
        self,
        docs: Iterable[tuple[str, str]],
        *,
        labels: Iterable[str] | None = None,
        prior_from: Iterable[str] | None = None,
        alpha: float = 0.1,
        min_count: int = 2,
        characters: bool = True,
    ) -> None:
        # characters=False: bigrams and trigrams only; a single character is then an unknown gram,
        # which adds nothing to any label (for what a message is about, single characters say
        # little, and they are most of the look-ups that hit: leaving them out halves the cost).
        grouped: dict[str, list[set[str]]] = {}
        for text, label in docs:
            grouped.setdefault(label, []).append(set(grams(prepare(text), characters)))
        order = list(labels) if labels is not None else sorted(grouped)
        self.labels = tuple(c for c in order if grouped.get(c))
        # how many of each label's docs hold each gram, and of all docs (counted in C)
        counts = {c: Counter(chain.from_iterable(grouped[c])) for c in self.labels}
        overall = Counter(chain.from_iterable(d for c in self.labels for d in grouped[c]))
        v = len(overall) or 1  # the vocabulary
        denoms = {c: math.log(sum(counts[c].values()) + alpha * v) for c in self.labels}
        # Per known gram, log P(gram | label) for each label. Grams seen in fewer than min_count
        # docs are left out: they name a message, not a way of speaking (and an unknown gram would
        # add the same to every label).
        # the commonest first: an automaton tries a node's next characters in the order added
        kept = sorted((g for g, n in overall.items() if n >= min_count), key=lambda g: (-overall[g], g))
        unknown = tuple(math.log(alpha) - denoms[c] for c in self.labels)
        bonus = [math.log((k + alpha) / alpha) for k in range(max(overall.values(), default=0) + 1)]
        # Each gram's row (its value for each label) packed into one integer, a fixed-width field
        # per label (the value in units of 1/_SCALE above _floor) and a count field at the bottom,
        # so that adding the integers of a message's grams (one C-level sum) adds every label's
        # column at once. A label's value for a gram depends only on how many of the label's docs
        # hold it: the fields are computed once per (label, count) and added up per gram.
        shifts = [_FIELD * (i + 1) for i in range(len(self.labels))]  # each label's field, above the count field
        self._bytes = _FIELD // 8 * (len(self.labels) + 1)  # a sum of rows, the count field included
        kept_set = set(kept)
        held = [{g: k for g, k in counts[c].items() if g in kept_set} for c in self.labels]
        used = [set(h.values()) | ({0} if len(h) < len(kept) else set()) for h in held]
        values = [bonus[k] + u for u, ks in zip(unknown, used) for k in ks] or [0.0]
        self._floor = min(values) - 1.0
        self._max_grams = _MASK // math.ceil((max(values) - self._floor + 1.0) * _SCALE)
        fields = [
            {k: round((bonus[k] + u - self._floor) * _SCALE) << shift for k in ks | {0}}
            for u, ks, shift in zip(unknown, used, shifts)
        ]
        packed = dict.fromkeys(kept, 1 + sum(f[0] for f in fields))  # the count field, every label at 0
        for f, h in zip(fields, held):
            zero = f[0]
            for g, k in h.items():
                packed[g] += f[k] - zero
        self._packed = packed
        self._finder: ahocorasick.Automaton | None = None  # built when first scored (see _rows)
        prior = Counter(prior_from) if prior_from is not None else Counter({c: len(grouped[c]) for c in self.labels})
        total = sum(prior[c] + 1 for c in self.labels) or 1
        self._prior = tuple(math.log((prior[c] + 1) / total) for c in self.labels)
        self._uniform = len(set(self._prior)) <= 1  # no label likelier beforehand (see likeliest)

    def __bool__(self) -> bool:
        return bool(self.labels)

    def scores(self, normalized: str) -> dict[str, float]:
        """Log-likelihood of each label, up to one constant: differences are log-posterior ratios."""
        # in parts of _max_grams rows, as many as a sum holds before a field overflows into the next
        sums = _summed(self._rows(prepare(normalized)), self._max_grams)
        if len(sums) == 1:
            return self._unpacked(sums[0], self._prior)
        scores: Iterable[float] = self._prior
        for total in sums:
            scores = self._unpacked(total, scores).values()
        return dict(zip(self.labels, scores))

    def likeliest(self, normalized: str, k: int = 2) -> list[str]:
        """The ``k`` likeliest labels, likeliest first, as ``scores`` ranks them (ties: the label
        listed first). With every label equally likely beforehand, the packed fields alone rank
        them, and no score need be computed (for a model of many labels, most of the cost)."""
        rows = self._rows(prepare(normalized))
        if not self._uniform or len(rows) > self._max_grams:
            scores = self.scores(normalized)
            return heapq.nlargest(k, scores, key=scores.__getitem__)
        if not rows:  # no gram known: every label as likely
            return list(self.labels[:k])
        fields = self._fields(sum(rows))
        del fields[0]  # the count field: the same for every label
        found = []
        for _ in range(min(k, len(fields))):  # max and index run in C; the first of equals wins
            i = fields.index(max(fields))
            found.append(self.labels[i])
            fields[i] = 0  # below every field of a known gram's sum: each sits above the floor
        return found

    def _rows(self, prepared: str) -> list[int]:
        """The packed rows of the known grams of a ``prepare``d message, one per occurrence."""
        if self._finder is None:
            self._finder = _finder(self._packed)
        return _found(self._finder, prepared)

    def _unpacked(self, total: int, base: Iterable[float]) -> dict[str, float]:
        """``base`` plus the columns a sum of packed rows holds."""
        fields = self._fields(total)
        floor = fields[0] * self._floor  # the count field: each row's values sit above the floor
        return {c: b + floor + v / _SCALE for c, b, v in zip(self.labels, base, fields[1:])}

    def _fields(self, total: int) -> array[int]:
        """A sum of packed rows as its fields, the count field first (one C call for all)."""
        fields = array(_FIELDS, total.to_bytes(self._bytes, sys.byteorder))
        if sys.byteorder == "big":
            fields.reverse()
        return fields

    def posterior(self, normalized: str) -> dict[str, float]:
        """Probabilities of the labels (for reports)."""
        raw = self.scores(normalized)
        top = max(raw.values())
        z = sum(math.exp(s - top) for s in raw.values())
        return {c: math.exp(s - top) / z for c, s in raw.items()}


_second = itemgetter(1)


def _finder(rows: dict[str, int]) -> ahocorasick.Automaton:
    """An automaton that finds every gram of ``rows`` in a text, with its row."""
    automaton = ahocorasick.Automaton()
    for gram, row in rows.items():
        automaton.add_word(gram, row)
    if rows:
        automaton.make_automaton()
    return automaton


def _summed(rows: list[int], step: int) -> list[int]:
    """The rows summed in parts of ``step`` (one sum for all but a very long message)."""
    if len(rows) <= step:
        return [sum(rows)]
    return [sum(rows[i : i + step]) for i in range(0, len(rows), step)]


def _found(finder: ahocorasick.Automaton, prepared: str) -> list[int]:
    """The rows of every gram occurrence ``finder`` knows in ``prepared``: the features of
    ``grams(prepared)`` that have a row. The marks have none of their own; inside the marks every
    character, bigram and trigram, and across them "^x", "^xy", "x$" and "xy$"."""
    if finder.kind == ahocorasick.EMPTY:
        return []
    return list(map(_second, finder.iter(prepared)))


class Panel:
    """Several models scored from one automaton: each gram's packed rows side by side in one
    integer (a model's rows above the bits of the models before it), so the same pass over the
    message and one sum serve them all. A model's part of the sum is exactly the sum its own rows
    would give."""

    def __init__(self, **models: NaiveBayes | None) -> None:
        self._models = {name: m for name, m in models.items() if m}
        self._places: dict[str, tuple[int, int]] = {}  # model → (offset, mask) of its bits
        rows: dict[str, int] = {}
        offset = 0
        for name, model in self._models.items():
            width = _FIELD * (len(model.labels) + 1)
            self._places[name] = (offset, (1 << width) - 1)
            for gram, row in model._packed.items():
                rows[gram] = rows.get(gram, 0) | (row << offset)
            offset += width
        self._finder = _finder(rows)
        # A part of the sum holds at most this many rows of any one model.
        self._step = max(1, min((m._max_grams for m in self._models.values()), default=1))

    def __contains__(self, name: str) -> bool:
        return name in self._models

    def read(self, prepared: str) -> list[int]:
        """The sums of a ``prepare``d message's rows (one sum, or parts for a very long message)."""
        if 3 * len(prepared) <= self._step and self._finder.kind != ahocorasick.EMPTY:
            # at most three grams end at a character: one sum, with no list of rows built
            return [sum(map(_second, self._finder.iter(prepared)))]
        return _summed(_found(self._finder, prepared), self._step)

    def scores(self, name: str, sums: list[int]) -> dict[str, float]:
        """One model's ``scores`` from a message's ``read``."""
        model = self._models[name]
        offset, mask = self._places[name]
        if len(sums) == 1:
            return model._unpacked((sums[0] >> offset) & mask, model._prior)
        scores: Iterable[float] = model._prior
        for total in sums:
            scores = model._unpacked((total >> offset) & mask, scores).values()
        return dict(zip(model.labels, scores))
