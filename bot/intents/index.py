"""Phrase indexes built once from the knowledge: exact phrases, and their pinyin for homophone typos.

Lookup walks every start position of the text, and at each position tries only the lengths of
the phrases that begin with those two characters (or, by sound, that syllable): a dict lookup or
two for the position, then a dict hit per candidate length. Positions whose character starts no phrase cost a
single failed lookup, so a message costs about O(length) whatever the size of the knowledge.

A phrase written ``A+B`` is a conjunction: it is found when every part occurs in the text (parts
in any order, each found by characters). The hit spans the first part found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple

from pypinyin import Style, lazy_pinyin


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    if _is_han(ch):
        return lazy_pinyin(ch, style=Style.NORMAL)[0]
    return ch


def pinyin_of(text: str) -> tuple[str, ...]:
    return tuple(map(_char_pinyin, text))


class Hit(NamedTuple):
    phrase: str  # the indexed phrase (as written in the knowledge)
    start: int
    end: int
    payload: object
    fuzzy: bool  # found by sound, not by characters


class PhraseIndex:
    """Finds indexed phrases in a text by characters, and (for phrases of 3+ characters, or 2+ when
    ``by_sound`` returns 2 for the payload) by sound."""

    def __init__(
        self, phrases: Iterable[tuple[str, object]], *, by_sound: bool | Callable[[object], bool | int] = True
    ) -> None:
        self._exact: dict[str, list[object]] = {}
        self._sound: dict[tuple[str, ...], list[tuple[str, object]]] = {}
        self._combos: list[tuple[tuple[str, ...], str, object]] = []
        for phrase, payload in phrases:
            phrase = phrase.strip().lower()
            if not phrase:
                continue
            if "+" in phrase:
                parts = tuple(p.strip() for p in phrase.split("+") if p.strip())
                if len(parts) > 1:
                    self._combos.append((parts, phrase, payload))
                    continue
                phrase = parts[0] if parts else ""
                if not phrase:
                    continue
            self._exact.setdefault(phrase, []).append(payload)
            # Two-character phrases by sound would match too much (many homophones).
            sound = by_sound(payload) if callable(by_sound) else by_sound
            if sound and len(phrase) >= (2 if sound == 2 else 3) and all(_is_han(c) for c in phrase):
                self._sound.setdefault(pinyin_of(phrase), []).append((phrase, payload))
        # The parts of the A+B phrases, found in the same scan as the phrases: a combination is
        # checked only when its first part occurs (no pass over every combination per message).
        self._by_first_part: dict[str, list[int]] = {}
        for n, (parts, _, _) in enumerate(self._combos):
            self._by_first_part.setdefault(parts[0], []).append(n)
        self._part_set = frozenset(self._by_first_part)
        keys = set(self._exact) | self._part_set
        # Single characters by themselves; longer phrases by their first two characters.
        self._singles = {p: self._exact.get(p, ()) for p in keys if len(p) == 1}
        lengths: dict[str, set[int]] = {}
        for p in keys:
            if len(p) > 1:
                lengths.setdefault(p[:2], set()).add(len(p))
        self._first2 = {k: tuple(sorted(ls, reverse=True)) for k, ls in lengths.items()}
        sound_lengths: dict[tuple[str, ...], set[int]] = {}
        for key in self._sound:
            sound_lengths.setdefault(key[:2], set()).add(len(key))
        self._sound_first2 = {k: tuple(sorted(ls, reverse=True)) for k, ls in sound_lengths.items()}

    def find(self, text: str) -> Iterator[Hit]:
        exact, first2, singles, n = self._exact, self._first2, self._singles, len(text)
        part_set = self._part_set
        found: set[tuple[int, int]] = set()
        first_parts: dict[str, int] = {}  # first part of a combination → where it first occurs
        for i, ch in enumerate(text):
            payloads = singles.get(ch)
            if payloads is not None:
                if ch in part_set and ch not in first_parts:
                    first_parts[ch] = i
                if payloads:
                    found.add((i, i + 1))
                    for p in payloads:
                        yield Hit(ch, i, i + 1, p, False)
            lengths = first2.get(text[i : i + 2])
            if lengths is None:
                continue
            for length in lengths:
                if i + length > n:
                    continue
                sub = text[i : i + length]
                if sub in part_set and sub not in first_parts:
                    first_parts[sub] = i
                payloads = exact.get(sub)
                if payloads:
                    found.add((i, i + length))
                    for p in payloads:
                        yield Hit(sub, i, i + length, p, False)
        if first_parts:
            combos = self._combos
            for first, start in sorted(first_parts.items(), key=lambda kv: kv[1]):
                for k in self._by_first_part[first]:
                    parts, phrase, p = combos[k]
                    if all(part in text for part in parts[1:]):
                        yield Hit(phrase, start, start + len(first), p, False)
        if not self._sound:
            return
        sound_first2, sounds = self._sound_first2, self._sound
        sound = pinyin_of(text)
        for i in range(n - 1):
            lengths = sound_first2.get(sound[i : i + 2])
            if lengths is None:
                continue
            for length in lengths:
                if i + length > n or (i, i + length) in found:
                    continue
                candidates = sounds.get(sound[i : i + length])
                if candidates:
                    for phrase, p in candidates:
                        if phrase != text[i : i + length]:
                            yield Hit(phrase, i, i + length, p, True)
