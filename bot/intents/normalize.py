"""Text as residents type it → one canonical form: simplified, half-width, lower case, no emoji,
dialect words in Mandarin (the knowledge's ``dialect.yaml``), Arabic numerals in addresses. Pure
and fast: every step is a table lookup, one automaton pass or one regex pass."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

import ahocorasick
import cn2an

_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Emoji, pictographs, dingbats, variation selectors, zero-width characters.
_NOISE = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0000FE00-\U0000FE0F\U0000200B-\U0000200F\U00002060\U0000FEFF"
    "\U0001F1E6-\U0001F1FF\u3010\u3011\u300a\u300b~^*#@_|<>\\[\\]{}]+"
)
_SPACES = re.compile(r"\s+")
_CN_DIGITS = "零〇一二两三四五六七八九十百"
# What follows a building, unit, floor or room number ("3号楼", "2单元", "B2层").
ADDRESS_SUFFIXES = "号楼|号|栋|幢|单元|层|楼|室|期|区|排|座"
# A Chinese numeral standing for a building, unit, floor or room number; not the 一 of 万一
# ("万一楼里着火了": in case), 唯一 or 统一.
_ADDRESS_NUMBER = re.compile(f"(?<![万唯统])([{_CN_DIGITS}]{{1,4}})(?={ADDRESS_SUFFIXES})")


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Character-level traditional → simplified table from OpenCC's own dictionary."""
    table: dict[int, str] = {}
    text = resources.files("opencc").joinpath("dictionary/TSCharacters.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if "\t" not in line:
            continue
        trad, simp = line.split("\t", 1)
        if len(trad) == 1:
            table[ord(trad)] = simp.split(" ")[0]
    return table


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Full-width → half-width, then traditional → simplified, as one table: a character's entry
    is what the two translations in turn make of it."""
    t2s = _t2s_table()
    table: dict[int, str] = dict(t2s)
    for cp, half in _FULL_TO_HALF.items():
        table[cp] = t2s.get(half, chr(half))
    return table


def _address_number(match: re.Match[str]) -> str:
    return _arabic(match.group(1))


@lru_cache(maxsize=4096)
def _arabic(numeral: str) -> str:
    """A numeral of at most four characters in Arabic digits (cn2an takes some 40 µs to read one;
    the same few, 一 to 三十, come back in message after message)."""
    try:
        return str(cn2an.cn2an(numeral, "smart"))
    except (ValueError, KeyError):  # not a number ("百"), or one cn2an cannot read ("零十一")
        return numeral


def _stands_alone(text: str, start: int, end: int) -> bool:
    """A Latin abbreviation (wy, ywh) counts only as a word of its own, and not where it begins a
    ticket number ("wy20261119-0021")."""
    return not (start and _LATIN_OR_DIGIT.match(text, start - 1)) and not _GOES_ON.match(text, end)


_LATIN_OR_DIGIT = re.compile(r"[a-z0-9]", re.IGNORECASE)
_GOES_ON = re.compile(r"[a-z0-9]|\s?\d", re.IGNORECASE)


class Normalizer:
    """``normalize(text)``: the canonical form, with the dialect words of ``dialect`` (written as
    residents type them: folded like any text, then replaced leftmost first, longest first)."""

    def __init__(self, dialect: Mapping[str, str] | None = None) -> None:
        fold = _fold_table()
        self._fold = fold
        # One automaton finds every dialect word in one pass (a regex of as many alternatives tries
        # each at every position); a word ends at (its length, its Mandarin, a Latin abbreviation?).
        words = {str(k).translate(fold).lower(): str(v).lower() for k, v in (dialect or {}).items()}
        self._dialect: ahocorasick.Automaton | None = None
        if words:
            self._dialect = ahocorasick.Automaton()
            for word, mandarin in words.items():
                self._dialect.add_word(word, (len(word), mandarin, word.isascii() and word.isalpha()))
            self._dialect.make_automaton()

    def __call__(self, text: str) -> str:
        text = text.translate(self._fold).lower()
        if self._dialect is not None:
            text = self._in_mandarin(text)
        text = _NOISE.sub(" ", text)
        text = _ADDRESS_NUMBER.sub(_address_number, text)
        return _SPACES.sub(" ", text).strip()

    def _in_mandarin(self, text: str) -> str:
        """The dialect words replaced, each at the leftmost place one begins, the longest there,
        and none inside a word already replaced."""
        found = sorted(
            (end + 1 - length, -length, mandarin)
            for end, (length, mandarin, latin) in self._dialect.iter(text)  # type: ignore[union-attr]
            if not latin or _stands_alone(text, end + 1 - length, end + 1)
        )
        if not found:
            return text
        out, pos = [], 0
        for start, minus_length, mandarin in found:
            if start >= pos:
                out += [text[pos:start], mandarin]
                pos = start - minus_length
        out.append(text[pos:])
        return "".join(out)
