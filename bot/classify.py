"""``wuye classify``: one JSON line out for each line in (plain text, or JSON with "text")."""

from __future__ import annotations

import json
from typing import IO, Any

from bot.app import running
from bot.config import Settings
from bot.engine import Engine
from bot.models import Message


def read_line(line: str) -> str:
    line = line.strip()
    if line.startswith("{"):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            return line
        if isinstance(data, dict):
            return str(data.get("text") or "")
    return line


async def classify_one(engine: Engine, text: str, seq: int) -> dict[str, Any]:
    message = Message(channel="classify", id=f"classify:{seq}", user="classify", kind="text", text=text)
    understanding, reply = await engine.first_reply(message)
    if understanding is None:  # empty line
        return {"text": text, "intent": "other", "department": None, "also": [], "matter": None,
                "emergency": False, "confidence": 0.0, "reply": reply.text or ""}
    return {
        "text": text,
        "intent": understanding.intent,
        "department": understanding.department,
        "also": understanding.also,
        "matter": understanding.matter,
        "emergency": understanding.is_emergency,
        "confidence": understanding.confidence,
        "margin": understanding.margin,
        "faq": understanding.faq[0].id if understanding.faq else None,
        "reply": reply.text or "",
    }


async def classify_lines(settings: Settings, source: IO[str], sink: IO[str]) -> None:
    async with running(settings) as services:
        for seq, line in enumerate(source):
            result = await classify_one(services.engine, read_line(line), seq)
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
        sink.flush()
