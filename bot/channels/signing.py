"""Callback signatures and freshness, shared by the WeChat and WeCom doors."""

from __future__ import annotations

import hashlib
import hmac
import time


class Rejected(Exception):
    """A request refused at the door: ``status`` is the HTTP status, ``reason`` a short word for logs/metrics."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def verify(expected_parts: tuple[str, ...], given: str) -> None:
    """Constant-time comparison, so timing tells an attacker nothing about the right signature."""
    if not given or not hmac.compare_digest(sha1_signature(*expected_parts), given.lower()):
        raise Rejected(403, "signature", "invalid signature")


def check_fresh(timestamp: str, window: int, now: float | None = None) -> None:
    """Refuse replays: the timestamp must be within ``window`` seconds (0 turns the check off)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        raise Rejected(403, "timestamp", "missing or malformed timestamp") from None
    if window and abs((now or time.time()) - ts) > window:
        raise Rejected(403, "timestamp", "stale timestamp")
