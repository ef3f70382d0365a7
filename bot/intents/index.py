"""Phrase indexes built once from the knowledge: exact phrases, and their pinyin for homophone typos.

Lookup walks every start position of the text and tries each phrase length present in the
index (a dict hit per try), so a message costs O(length × distinct lengths) whatever the size
of the knowledge base.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    if "\u4e00" <= ch <= "\u9fff":
        return lazy_pinyin(ch, style=Style.NORMAL)[0]
    return ch


def pinyin_of(text: str) -> tuple[str, ...]:
    return tuple(_char_pinyin(ch) for ch in text)


@dataclass(frozen=True, slots=True)
class Hit:
    phrase: str  # the indexed phrase (as written in the knowledge)
    start: int
    end: int
    payload: object
    fuzzy: bool  # found by sound, not by characters


class PhraseIndex:
    """Finds indexed phrases in a text by characters, and (for phrases of 3+ characters) by sound."""

    def __init__(self, phrases: Iterable[tuple[str, object]], *, by_sound: bool = True) -> None:
        self._exact: dict[str, list[object]] = {}
        self._sound: dict[tuple[str, ...], list[tuple[str, object]]] = {}
        for phrase, payload in phrases:
            phrase = phrase.strip().lower()
            if not phrase:
                continue
            self._exact.setdefault(phrase, []).append(payload)
            # Two-character phrases by sound would match too much (many homophones).
            if by_sound and len(phrase) >= 3 and all("\u4e00" <= c <= "\u9fff" for c in phrase):
                self._sound.setdefault(pinyin_of(phrase), []).append((phrase, payload))
        self._lengths = sorted({len(p) for p in self._exact}, reverse=True)
        self._sound_lengths = sorted({len(p) for p in self._sound}, reverse=True)

    def find(self, text: str) -> Iterator[Hit]:
        exact, n = self._exact, len(text)
        found: set[tuple[int, int]] = set()
        for i in range(n):
            for length in self._lengths:
                if i + length > n:
                    continue
                payloads = exact.get(text[i : i + length])
                if payloads:
                    found.add((i, i + length))
                    for p in payloads:
                        yield Hit(text[i : i + length], i, i + length, p, False)
        if not self._sound:
            return
        sound = None
        for i in range(n):
            for length in self._sound_lengths:
                if i + length > n or (i, i + length) in found:
                    continue
                if sound is None:
                    sound = pinyin_of(text)
                candidates = self._sound.get(sound[i : i + length])
                if candidates:
                    for phrase, p in candidates:
                        yield Hit(phrase, i, i + length, p, True)
