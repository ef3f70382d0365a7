"""Phrase indexes built once from the knowledge: exact phrases, and their pinyin for homophone typos.

Two Aho-Corasick automata (pyahocorasick, in C) do the finding, one pass over the text each: one
over the phrases' characters, one over their sounds. For sound, every syllable is one private-use
character (its code), so a text's sound is ``text.translate(codes)`` and a phrase heard in it is a
substring like any other. A message costs O(its length + the hits), whatever the size of the
knowledge.

A phrase written ``A+B`` is a conjunction: it is found when every part occurs in the text (parts
in any order, each found by characters). The hit spans the first part found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import NamedTuple

import ahocorasick
from pypinyin import Style, lazy_pinyin


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    if _is_han(ch):
        return lazy_pinyin(ch, style=Style.NORMAL)[0]
    return ch


_PRIVATE_USE = range(0xE000, 0xF900)


class _SoundCodes(dict):  # type: ignore[type-arg]
    """A ``str.translate`` table, filled as characters are met: a Han character → the code of its
    syllable (homophones share one), any other character → itself (a private-use one → U+FFFD, so
    that no text can pass for a sound)."""

    def __init__(self) -> None:
        super().__init__()
        self._syllables: dict[str, str] = {}

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        if _is_han(ch):
            syllable = _char_pinyin(ch)
            code = self._syllables.get(syllable)
            if code is None:
                code = self._syllables[syllable] = chr(_PRIVATE_USE[len(self._syllables)])
        else:
            code = "\ufffd" if cp in _PRIVATE_USE else ch
        self[cp] = code
        return code


_CODES = _SoundCodes()


def sound_of(text: str) -> str:
    """The text as one code character per syllable (Han characters) or itself (anything else)."""
    return text.translate(_CODES)


class Hit(NamedTuple):
    phrase: str  # the indexed phrase (as written in the knowledge)
    start: int
    end: int
    payload: object
    fuzzy: bool  # found by sound, not by characters


_new_hit = tuple.__new__  # Hit(...) without the Python-level __new__ of the named tuple


def _where(item: tuple[str, tuple[int, object]]) -> int:
    return item[1][0]


def _automaton(words: dict[str, object], usage: Mapping[str, int]) -> ahocorasick.Automaton | None:
    """An automaton whose every word ends at its value (None: no words). A node tries its next
    characters one by one in the order they were added (the root has thousands): the words are
    added commonest characters first, by ``usage``."""
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word in sorted(words, key=lambda w: (tuple(-usage.get(c, 0) for c in w), w)):
        automaton.add_word(word, words[word])
    automaton.make_automaton()
    return automaton


def _rank(word: str) -> int:
    """Order of hits at one start: the single character first, then the longer words longest first."""
    return -len(word) if len(word) > 1 else -(1 << 30)


class PhraseIndex:
    """Finds indexed phrases in a text by characters, and (for phrases of 3+ characters, or 2+ when
    ``by_sound`` returns 2 for the payload) by sound."""

    def __init__(
        self,
        phrases: Iterable[tuple[str, object]],
        *,
        by_sound: bool | Callable[[object], bool | int] = True,
        usage: Mapping[str, int] | None = None,
    ) -> None:
        """``usage``: how often each character occurs in messages (for speed only, see _automaton)."""
        exact: dict[str, list[object]] = {}
        sound: dict[str, list[tuple[str, object]]] = {}  # a phrase's sound → (phrase, payload)
        # first part of an A+B phrase → (its other parts, the phrase, its payload), in order
        combos: dict[str, list[tuple[tuple[str, ...], str, object]]] = {}
        for phrase, payload in phrases:
            phrase = phrase.strip().lower()
            if not phrase:
                continue
            if "+" in phrase:
                parts = tuple(p.strip() for p in phrase.split("+") if p.strip())
                if len(parts) > 1:
                    combos.setdefault(parts[0], []).append((parts[1:], phrase, payload))
                    continue
                phrase = parts[0] if parts else ""
                if not phrase:
                    continue
            exact.setdefault(phrase, []).append(payload)
            # Two-character phrases by sound would match too much (many homophones).
            heard = by_sound(payload) if callable(by_sound) else by_sound
            if heard and len(phrase) >= (2 if heard == 2 else 3) and all(_is_han(c) for c in phrase):
                sound.setdefault(sound_of(phrase), []).append((phrase, payload))
        # The first parts of the A+B phrases are found in the same pass as the phrases: a
        # combination is checked only when its first part occurs (no pass over every combination
        # per message). What ends where a word ends: (the word, the combinations it begins, its
        # payloads); by sound, (the sound, its phrases and payloads).
        usage = usage or {}
        self._chars = _automaton({
            w: (len(w), _rank(w), w, tuple(combos.get(w, ())), tuple(exact.get(w, ())))
            for w in set(exact) | set(combos)
        }, usage)
        heard: Counter[str] = Counter()
        for ch, n in usage.items():
            heard[sound_of(ch)] += n
        self._sounds = _automaton({k: (len(k), _rank(k), k, tuple(v)) for k, v in sound.items()}, heard)

    def find(self, text: str) -> list[Hit]:
        """Every hit, in the order: by characters (position by position, the single character,
        then the longer phrases longest first), the combinations (by where their first part
        occurs), then by sound (position by position, longest first)."""
        out: list[Hit] = []
        append = out.append
        found: set[tuple[int, int]] = set()  # spans found by characters
        first_parts: dict[str, tuple[int, tuple]] = {}  # first part → (where it first occurs, its combinations)
        if self._chars is not None:
            # (start, rank, end, what ends there): sorted as tuples, by start then rank
            matches = [(end + 1 - v[0], v[1], end + 1, v) for end, v in self._chars.iter(text)]
            matches.sort()
            for start, _, end, (_, _, word, combos, payloads) in matches:
                if combos and word not in first_parts:
                    first_parts[word] = (start, combos)
                if payloads:
                    found.add((start, end))
                    for p in payloads:
                        append(_new_hit(Hit, (word, start, end, p, False)))
        if first_parts:
            contains = text.__contains__
            for first, (start, combos) in sorted(first_parts.items(), key=_where):  # stable: ties as found
                end = start + len(first)
                for rest, phrase, p in combos:
                    if all(map(contains, rest)):
                        append(_new_hit(Hit, (phrase, start, end, p, False)))
        if self._sounds is not None:
            heard_at = [(end + 1 - v[0], v[1], end + 1, v) for end, v in self._sounds.iter(sound_of(text))]
            heard_at.sort()
            for start, _, end, (_, _, _, heard) in heard_at:
                if (start, end) in found:
                    continue
                for phrase, p in heard:
                    if phrase != text[start:end]:
                        append(_new_hit(Hit, (phrase, start, end, p, True)))
        return out
