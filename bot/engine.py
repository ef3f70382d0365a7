"""One message's way: de-duplicate, lock the user, understand, hand to the handler, budget the reply."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.dialogue import Conversation
from bot.intents import Understander
from bot.metrics import Metrics
from bot.models import Message, Reply
from bot.router import Router
from bot.store import BusyError, Duplicate, Store, Unavailable

log = logging.getLogger(__name__)

FollowUp = Callable[[Message, Reply], Awaitable[None]]

# Marks a stored answer that was "success" because the engine ran over budget.
LATE = "\x00late"


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        understander: Understander,
        router: Router,
        metrics: Metrics,
        services: dict[str, Any],
        reply_budget: float,
        dedup_ttl: int,
        conversation_ttl: int,
        lock_wait: float,
    ) -> None:
        self.store = store
        self.understander = understander
        self.router = router
        self.metrics = metrics
        self.services = services  # what handlers may ask for by name, beyond the message itself
        self.reply_budget = reply_budget
        self.dedup_ttl = dedup_ttl
        self.conversation_ttl = conversation_ttl
        self.lock_wait = lock_wait
        self.follow_ups: list[FollowUp] = []
        self._late: set[asyncio.Task[Reply]] = set()

    # -- the door calls this ------------------------------------------------------------
    async def handle(self, message: Message) -> Reply:
        """The reply to send now. A retry of a delivery gets the first delivery's reply."""
        self.metrics.messages.labels(kind=message.kind).inc()
        task = asyncio.create_task(self._run(message, claim=True))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self.reply_budget)
        except Duplicate:
            self.metrics.duplicates.inc()
            stored = await self.store.dedup.answer(message.id, wait=self.reply_budget + 0.5)
            if stored is None or stored == LATE:
                return Reply.silent()
            return Reply.model_validate_json(stored)
        except Unavailable:
            raise  # nothing was recorded; the door answers 503
        except TimeoutError:
            self.metrics.over_budget.inc()
            self._late.add(task)
            task.add_done_callback(lambda t: self._deliver_late(message, t))
            await self.store.dedup.finish(message.id, LATE, self.dedup_ttl)
            return Reply.silent()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Redis went away mid-way: refuse, so that WeChat's retry (or the next one) tries again.
            with contextlib.suppress(RedisError):
                await self.store.dedup.forget(message.id)
            raise Unavailable(str(exc)) from exc
        except Exception:
            log.exception("handling %s failed", message.id)
            with contextlib.suppress(RedisError):
                await self.store.dedup.forget(message.id)  # a retry may try again
            return Reply(text=self.understander.knowledge.text("error"))
        await self.store.dedup.finish(message.id, reply.model_dump_json(), self.dedup_ttl)
        return reply

    def _deliver_late(self, message: Message, task: asyncio.Task[Reply]) -> None:
        self._late.discard(task)
        if task.cancelled() or task.exception() is not None:
            log.error("late handling of %s failed: %r", message.id, None if task.cancelled() else task.exception())
            return
        reply = task.result()
        if reply.text is None:
            return
        for hook in self.follow_ups:
            follow = asyncio.create_task(hook(message, reply))
            self._late.add(follow)  # type: ignore[arg-type]
            follow.add_done_callback(self._late.discard)  # type: ignore[arg-type]

    async def drain(self) -> None:
        """Wait for late replies still being worked on (at shutdown, and in tests)."""
        while self._late:
            await asyncio.gather(*list(self._late), return_exceptions=True)

    # -- the work itself ----------------------------------------------------------------
    async def process(self, message: Message) -> Reply:
        """Handle one message without de-duplication or budget (the terminal chat uses this)."""
        return await self._run(message, claim=False)

    async def _run(self, message: Message, *, claim: bool) -> Reply:
        """Claim (optionally), lock the user, read the conversation, dispatch, write it back."""
        started = time.perf_counter()
        try:
            held = await self.store.sessions.open(
                message.user, claim=message.id if claim else None, dedup_ttl=self.dedup_ttl, wait=self.lock_wait
            )
        except BusyError:
            return Reply(text=self.understander.knowledge.text("busy"))
        conversation = Conversation(message.user, copy.deepcopy(held.state))
        try:
            reply = await self._dispatch(message, conversation)
        except BaseException:
            await asyncio.shield(self.store.sessions.close(held, None, self.conversation_ttl))  # keep the old state
            raise
        # Most messages change nothing: then only the lock is released.
        changed = conversation.data != held.state
        await self.store.sessions.close(held, conversation.data if changed else None, self.conversation_ttl)
        self.metrics.latency.observe(time.perf_counter() - started)
        return reply

    async def first_reply(self, message: Message) -> tuple[Any, Reply]:
        """What the bot would answer if this were the user's first message; nothing is saved."""
        conversation = Conversation(message.user)
        context_holder: dict[str, Any] = {}
        reply = await self._dispatch(message, conversation, context_holder)
        return context_holder.get("understanding"), reply

    async def _dispatch(self, message: Message, conversation: Conversation, context: dict[str, Any] | None = None) -> Reply:
        context = context if context is not None else {}
        context |= {
            **self.services,
            "message": message,
            "conversation": conversation,
            "knowledge": self.understander.knowledge,
            "understander": self.understander,
        }
        step = self.router.steps.get(conversation.step or "")
        if message.kind == "text" and (command := self.router.command_for(message.text)):
            if (reply := await command(context)) is not None:
                return reply
        if message.kind in ("text", "voice") and message.text.strip():
            understanding = self.understander.understand(message.text)
            context["understanding"] = understanding
            self.metrics.intents.labels(intent=understanding.intent).inc()
            if understanding.intent == "emergency":  # the number first, whatever the conversation
                return await self.router.intents["emergency"](context)
            if step and (reply := await step(context)) is not None:
                return reply  # None: the step handler declined; the message is read afresh
            return await self.router.intents[understanding.intent](context)

        kind = message.kind
        if kind == "voice":  # voice without recognition text
            kind = "voice_unrecognised"
        if kind in ("image", "location") and step and (reply := await step(context)) is not None:
            return reply
        handler = self.router.kinds.get(f"event:{message.event}" if kind == "event" else kind)
        return await (handler or self.router.kinds["unknown"])(context)
