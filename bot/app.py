"""The aiohttp application: resources on typed AppKeys, started and stopped in cleanup contexts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot import knowledge as knowledge_mod
from bot.alerts.sender import AlertSender
from bot.api import setup_api
from bot.api.open311 import setup_open311
from bot.channels.wechat import WechatDoor
from bot.channels.wecom import WecomDoor
from bot.config import Settings
from bot.console import setup_console
from bot.engine import Engine
from bot.intents import Understander
from bot.knowledge import FaqOverlay, Knowledge
from bot.metrics import Metrics
from bot.models import Message, Reply
from bot.store import EmbeddedRedis, Store, connect
from bot.store.outbox import Outbox
from bot.roles import Roles
from bot.tickets import TicketService
from handlers import build_router

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a running bot holds; one per app (or per CLI command)."""

    settings: Settings
    store: Store
    understander: Understander
    tickets: TicketService
    roles: Roles
    outbox: Outbox
    engine: Engine
    metrics: Metrics
    sender: AlertSender
    packaged: Knowledge  # knowledge/ as shipped, without the console's FAQ overlay
    instance: str = field(default_factory=lambda: secrets.token_hex(8))  # tells our own reload requests apart

    async def reload_knowledge(self) -> None:
        """Re-read knowledge/ and the FAQ overlay and swap them in everywhere at once; messages
        being handled finish with the old one. A broken file or overlay raises and leaves the
        running knowledge in place."""
        overlay = await self.store.faq.overlay()
        packaged, merged = await asyncio.to_thread(load_knowledge, self.settings, overlay)
        fresh = await asyncio.to_thread(understander_for, self.settings, merged)
        self.packaged = packaged
        self.understander = self.engine.understander = fresh
        self.tickets.knowledge = self.sender.knowledge = fresh.knowledge
        self.roles.departments = set(fresh.knowledge.department)
        log.info("knowledge reloaded: %d matters, %d FAQ entries", len(fresh.knowledge.matters), len(fresh.knowledge.faq))

    async def faq_changed(self) -> int:
        """After a console edit: reload here, then ask every other process sharing the Redis to."""
        await self.reload_knowledge()
        return int(await self.store.redis.publish(self.store.keys.reload_channel(), f"faq:{self.instance}"))


SERVICES = web.AppKey("services", Services)


def load_knowledge(settings: Settings, overlay: FaqOverlay | None = None) -> tuple[Knowledge, Knowledge]:
    """knowledge/ as packaged, and with the FAQ overlay (console edits) applied and validated."""
    packaged = knowledge_mod.load(settings.understanding.knowledge_dir)
    return packaged, knowledge_mod.with_overlay(packaged, overlay or FaqOverlay())


def understander_for(settings: Settings, know: Knowledge) -> Understander:
    u = settings.understanding
    return Understander(know, confidence_gate=u.confidence_gate, margin_gate=u.margin_gate, faq_gate=u.faq_gate)


def make_understander(settings: Settings, overlay: FaqOverlay | None = None) -> Understander:
    return understander_for(settings, load_knowledge(settings, overlay)[1])


async def _startup_understander(settings: Settings, store: Store, given: Understander | None) -> tuple[Knowledge, Understander]:
    """The packaged knowledge and the understander a process starts with: the FAQ overlay in
    Redis applies to every process (server, chat, classify). An overlay that no longer agrees
    with knowledge/ is logged and left out, so the bot still starts."""
    overlay = await store.faq.overlay()
    if given is not None and overlay.empty:
        return given.knowledge, given
    packaged, _ = await asyncio.to_thread(load_knowledge, settings)
    try:
        merged = knowledge_mod.with_overlay(packaged, overlay)
    except ValueError:
        log.exception("the FAQ edits stored in Redis do not agree with knowledge/; starting without them")
        merged = packaged
    return packaged, await asyncio.to_thread(understander_for, settings, merged)


@asynccontextmanager
async def running(settings: Settings, understander: Understander | None = None) -> AsyncIterator[Services]:
    """Start Redis (embedded unless ``redis.url``), load knowledge, build the engine; stop it all after."""
    embedded = None
    if settings.redis.url:
        redis = connect(url=settings.redis.url)
    else:
        embedded = EmbeddedRedis(settings.server.data_dir)
        redis = connect(socket_path=await embedded.start())
    try:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        store = Store(redis, settings.redis.key_prefix)
        packaged, understander = await _startup_understander(settings, store, understander)
        tickets = TicketService(store, understander.knowledge, settings.tickets)
        roles = Roles(store, set(understander.knowledge.department))
        metrics = Metrics()
        engine = Engine(
            store=store,
            understander=understander,
            router=build_router(),
            metrics=metrics,
            services={"tickets": tickets, "outbox": store.outbox, "roles": roles, "settings": settings},
            reply_budget=settings.wechat.reply_budget,
            dedup_ttl=settings.wechat.dedup_ttl,
            conversation_ttl=settings.dialogue.draft_ttl,
            lock_wait=settings.dialogue.lock_timeout,
        )
        sender = AlertSender(settings, store, understander.knowledge, session)
        yield Services(settings, store, understander, tickets, roles, store.outbox, engine, metrics, sender, packaged)
    finally:
        await session.close()
        await redis.aclose()
        if embedded:
            await embedded.stop()


DOOR = web.AppKey("wechat_door", WechatDoor)
WECOM_DOOR = web.AppKey("wecom_door", WecomDoor)


def make_app(settings: Settings, understander: Understander | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.server.max_body)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with running(settings, understander) as services:
            app[SERVICES] = services
            app[DOOR] = WechatDoor(settings.wechat, services.engine, services.metrics, services.store.quota)
            if settings.wecom.door_enabled:
                app[WECOM_DOOR] = WecomDoor(settings.wecom, services.engine, services.metrics)

            async def late_reply(message: Message, reply: Reply) -> None:
                # Over the reply budget: the answer goes out as a customer-service message.
                await services.outbox.add(
                    {"id": f"late:{message.id}", "event": "late_reply", "residents": [message.user], "note": reply.text}
                )

            services.engine.follow_ups.append(late_reply)
            # Loops stop on an event, not by cancellation: redis-py may swallow a
            # CancelledError that lands mid-command, which would leave shutdown hanging.
            stop = asyncio.Event()
            background = [
                asyncio.create_task(_escalation_loop(services, stop)),
                asyncio.create_task(services.sender.run(stop)),
                asyncio.create_task(_reload_on_request(services, stop)),
            ]
            yield
            stop.set()
            _, stuck = await asyncio.wait(background, timeout=5)
            for task in stuck:
                task.cancel()
            await services.engine.drain()

    app.cleanup_ctx.append(services_ctx)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get(settings.wechat.path, wechat_get)
    app.router.add_post(settings.wechat.path, wechat_post)
    if settings.wecom.door_enabled:
        app.router.add_get(settings.wecom.path, wecom_get)
        app.router.add_post(settings.wecom.path, wecom_post)
    setup_console(app)
    setup_api(app)
    setup_open311(app)
    return app


async def wechat_get(request: web.Request) -> web.Response:
    return await request.app[DOOR].verify_url(request)


async def wechat_post(request: web.Request) -> web.Response:
    return await request.app[DOOR].receive(request)


async def wecom_get(request: web.Request) -> web.Response:
    return await request.app[WECOM_DOOR].verify_url(request)


async def wecom_post(request: web.Request) -> web.Response:
    return await request.app[WECOM_DOOR].receive(request)


async def _reload_on_request(services: Services, stop: asyncio.Event) -> None:
    """``wuye reload`` and console FAQ edits publish on a Redis channel: every process sharing
    the Redis reloads (the editing process has already reloaded and skips its own request)."""
    while not stop.is_set():
        try:
            async with services.store.redis.pubsub() as pubsub:
                await pubsub.subscribe(services.store.keys.reload_channel())
                while not stop.is_set():
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.25)
                    if message is not None and message.get("data") != f"faq:{services.instance}":
                        try:
                            await services.reload_knowledge()
                        except Exception:
                            log.exception("knowledge reload failed; the previous knowledge stays in use")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis lost: subscribe again after a pause
            log.warning("reload channel unavailable (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def _escalation_loop(services: Services, stop: asyncio.Event) -> None:
    interval = services.settings.tickets.scheduler_interval
    while not stop.is_set():
        try:
            for number, step in await services.tickets.escalate_due():
                log.info("escalated %s: %s", number, step)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("escalation round failed; retrying next round")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    redis_ok = await services.store.ping()
    knowledge_ok = bool(services.understander.knowledge.matters)
    status = 200 if redis_ok and knowledge_ok else 503
    return web.json_response({"redis": redis_ok, "knowledge": knowledge_ok}, status=status)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")
