"""Residents' personal data (phone numbers, ID card numbers) kept out of alerts and logs."""

from __future__ import annotations

import re

# Mainland mobile numbers, landlines with area code, and 18-character ID card numbers.
_PATTERNS = (
    re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"),
    re.compile(r"(?<!\d)(0\d{2,3})-?\d{3,4}(\d{4})(?!\d)"),
    re.compile(r"(?<![\dXx])(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])"),
)


def redact(text: str) -> str:
    """'电话13912345678' → '电话139****5678'."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return text
