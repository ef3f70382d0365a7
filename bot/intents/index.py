"""Phrase indexes built once from the knowledge: exact phrases, and their pinyin for homophone typos.

Lookup walks every start position of the text, and at each position tries only the lengths of
the phrases that begin with those two characters (or, by sound, that syllable): a dict lookup or
two for the position, then a dict hit per candidate length. Positions whose character starts no phrase cost a
single failed lookup, so a message costs about O(length) whatever the size of the knowledge.

A phrase written ``A+B`` is a conjunction: it is found when every part occurs in the text (parts
in any order, each found by characters). The hit spans the first part found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from pypinyin import Style, lazy_pinyin


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    if _is_han(ch):
        return lazy_pinyin(ch, style=Style.NORMAL)[0]
    return ch


_PINYIN: dict[str, str] = {}  # character → _char_pinyin(character), filled as characters are met


def pinyin_of(text: str) -> tuple[str, ...]:
    try:
        return tuple(map(_PINYIN.__getitem__, text))
    except KeyError:
        for ch in text:
            if ch not in _PINYIN:
                _PINYIN[ch] = _char_pinyin(ch)
        return tuple(map(_PINYIN.__getitem__, text))


class Hit(NamedTuple):
    phrase: str  # the indexed phrase (as written in the knowledge)
    start: int
    end: int
    payload: object
    fuzzy: bool  # found by sound, not by characters


_new_hit = tuple.__new__  # Hit(...) without the Python-level __new__ of the named tuple
_second = itemgetter(1)


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
        # A trie by characters over every phrase and first part, walked from each position of the
        # text: a node maps the next character to its node; under the key "" (never a character)
        # it holds what ends there: (phrase, a first part?, payloads). By sound, the phrases by
        # their first two syllables' lengths.
        self._trie: dict[str, dict] = {}  # type: ignore[type-arg]
        for p in sorted(keys):
            node = self._trie
            for ch in p:
                node = node.setdefault(ch, {})
            node[""] = (p, p in self._part_set, self._exact.get(p, ()))
        sound_lengths: dict[tuple[str, ...], set[int]] = {}
        for key in self._sound:
            sound_lengths.setdefault(key[:2], set()).add(len(key))
        self._sound_first2 = {k: tuple(sorted(ls, reverse=True)) for k, ls in sound_lengths.items()}

    def find(self, text: str) -> list[Hit]:
        """Every hit, in the order: by characters (position by position, the single character,
        then the longer phrases longest first), the combinations (by where their first part
        occurs), then by sound (position by position, longest first)."""
        out: list[Hit] = []
        append = out.append
        n = len(text)
        trie = self._trie
        by_sound = bool(self._sound)
        found: set[tuple[int, int]] = set()  # spans found by characters (only needed by sound)
        first_parts: dict[str, int] = {}  # first part of a combination → where it first occurs
        for i, ch in enumerate(text):
            node = trie.get(ch)
            if node is None:
                continue
            ending = node.get("")  # the single character first
            if ending is not None:
                sub, is_part, payloads = ending
                if is_part and sub not in first_parts:
                    first_parts[sub] = i
                if payloads:
                    if by_sound:
                        found.add((i, i + 1))
                    for p in payloads:
                        append(_new_hit(Hit, (sub, i, i + 1, p, False)))
            end = i + 1
            longer = None  # the longer phrases from i, shortest first
            while end < n:
                node = node.get(text[end])
                if node is None:
                    break
                end += 1
                ending = node.get("")
                if ending is not None:
                    if longer is None:
                        longer = [(end, ending)]
                    else:
                        longer.append((end, ending))
            if longer is None:
                continue
            for end, (sub, is_part, payloads) in reversed(longer):  # longest first
                if is_part and sub not in first_parts:
                    first_parts[sub] = i
                if payloads:
                    if by_sound:
                        found.add((i, end))
                    for p in payloads:
                        append(_new_hit(Hit, (sub, i, end, p, False)))
        if first_parts:
            combos = self._combos
            for first, start in sorted(first_parts.items(), key=_second):
                for k in self._by_first_part[first]:
                    parts, phrase, p = combos[k]
                    if all(part in text for part in parts[1:]):
                        append(_new_hit(Hit, (phrase, start, start + len(first), p, False)))
        if not by_sound:
            return out
        sound_first2, sounds = self._sound_first2, self._sound
        sound = pinyin_of(text)
        for i, pair in enumerate(zip(sound, sound[1:])):  # pair: sound[i : i + 2]
            lengths = sound_first2.get(pair)
            if lengths is None:
                continue
            for length in lengths:
                end = i + length
                if end > n or (i, end) in found:
                    continue
                candidates = sounds.get(sound[i:end])
                if candidates:
                    for phrase, p in candidates:
                        if phrase != text[i:end]:
                            append(_new_hit(Hit, (phrase, i, end, p, True)))
        return out
