"""Handlers are plain async functions registered on a ``Router``; each receives, by parameter
name, only what it asks for (``message``, ``understanding``, ``conversation``, ``knowledge``,
``tickets``, ...), in the manner of aiogram."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.models import Reply

Handler = Callable[..., Awaitable["Reply | None"]]


@dataclass
class _Registered:
    func: Handler
    wants: tuple[str, ...]

    async def __call__(self, context: dict[str, Any]) -> Reply | None:
        missing = [name for name in self.wants if name not in context]
        if missing:
            raise TypeError(f"{self.func.__qualname__} asks for {missing}, which the engine does not provide")
        return await self.func(**{name: context[name] for name in self.wants})


@dataclass
class Router:
    """Four tables: by intent (text understood), by message kind (image, event, ...), by the step
    a conversation is waiting on (a draft's question, a rating, a clarification), and by command
    word (绑定, 受理, 办结 ...: a command handler returns None when the sender may not use it)."""

    intents: dict[str, _Registered] = field(default_factory=dict)
    kinds: dict[str, _Registered] = field(default_factory=dict)
    steps: dict[str, _Registered] = field(default_factory=dict)
    commands: dict[str, _Registered] = field(default_factory=dict)  # by the message's first word

    def _register(self, table: dict[str, _Registered], keys: tuple[str, ...]) -> Callable[[Handler], Handler]:
        def decorator(func: Handler) -> Handler:
            wants = tuple(inspect.signature(func).parameters)
            for key in keys:
                if key in table:
                    raise ValueError(f"{key!r} already handled by {table[key].func.__qualname__}")
                table[key] = _Registered(func, wants)
            return func

        return decorator

    def intent(self, *names: str) -> Callable[[Handler], Handler]:
        return self._register(self.intents, names)

    def kind(self, *kinds: str) -> Callable[[Handler], Handler]:
        return self._register(self.kinds, kinds)

    def step(self, *steps: str) -> Callable[[Handler], Handler]:
        return self._register(self.steps, steps)

    def command(self, *words: str) -> Callable[[Handler], Handler]:
        return self._register(self.commands, words)

    def command_for(self, text: str) -> _Registered | None:
        """The command the text starts with: the word, then nothing, a space, a digit or a ticket number."""
        text = text.strip()
        for word, registered in self.commands.items():
            if text.startswith(word):
                rest = text[len(word) :]
                if not rest or rest[0].isspace() or rest[0].isdigit() or rest[:2].lower() == "wy":
                    return registered
        return None

    def include(self, other: "Router") -> None:
        for mine, theirs in (
            (self.intents, other.intents),
            (self.kinds, other.kinds),
            (self.steps, other.steps),
            (self.commands, other.commands),
        ):
            for key, registered in theirs.items():
                if key in mine:
                    raise ValueError(f"{key!r} registered twice")
                mine[key] = registered
