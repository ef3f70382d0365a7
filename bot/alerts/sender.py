"""Deliver the outbox: each alert to its department's channels and to the residents concerned.

At least once: an alert is acknowledged only after every channel took it, and a channel that
already took it is skipped on a retry (so receivers see each alert id once per channel).
Failures are retried with exponential backoff; after ``max_attempts`` the alert goes to the
dead-letter list the console shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.config import Settings
from bot.knowledge import Knowledge
from bot.store import Store
from bot.wxapi.clients import OfficialAccount, WeCom, send_signed_webhook
from bot.wxapi.http import ApiError

log = logging.getLogger(__name__)

WECOM_PREFIX = "wecom:"
OUT_OF_WINDOW = 45015  # "response out of time limit or subscription is canceled"
FOR_DEPARTMENT = frozenset({"opened", "reopened", "chased", "supervised", "returned", "resolved", "question"})
FOR_RESIDENT = frozenset({"accepted", "replied", "resolved", "reopened", "late_reply", "answer"})

Send = Callable[[], Awaitable[None]]


class AlertSender:
    def __init__(self, settings: Settings, store: Store, knowledge: Knowledge, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.store = store
        self.knowledge = knowledge
        self.session = session
        self.consumer = f"{socket.gethostname()}-{id(self):x}"
        self._stop = asyncio.Event()
        wechat = settings.wechat
        self.oa = OfficialAccount(
            session, store, api_base=wechat.api_base, app_id=wechat.app_id, app_secret=wechat.app_secret.get_secret_value()
        )
        wecom = settings.wecom
        self.wecom = WeCom(
            session, store, api_base=wecom.api_base, corp_id=wecom.corp_id, agent_id=wecom.agent_id, secret=wecom.secret.get_secret_value()
        )
        unknown = set(settings.alerts) - set(knowledge.department)
        if unknown:
            raise ValueError(f"[alerts.*] names unknown department codes: {sorted(unknown)}")

    # -- the loop -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Read the outbox and deliver each alert in its own task, so that one unreachable
        channel retrying with backoff never holds up the alerts of other departments."""
        self._stop = stop
        inflight: dict[str, asyncio.Task[None]] = {}
        group_ready = False
        while not stop.is_set():
            room = self.settings.outbox.max_inflight - len(inflight)
            if room <= 0:
                await asyncio.wait(inflight.values(), return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                if not group_ready:  # at start, and again after an error (Redis may have lost it)
                    await self.store.outbox.ensure_group()
                    group_ready = True
                entries = await self.store.outbox.read(self.consumer, claim_idle=self.settings.outbox.claim_idle, count=room)
            except asyncio.CancelledError:
                raise
            except Exception:
                group_ready = False
                log.exception("reading the outbox failed")
                await self._pause(1)
                continue
            for entry_id, alert in entries:
                if entry_id in inflight:
                    continue
                task = asyncio.create_task(self._deliver_with_retries(entry_id, alert))
                inflight[entry_id] = task
                task.add_done_callback(lambda _t, e=entry_id: inflight.pop(e, None))
        if inflight:  # each stops at its next pause; what is unacknowledged is claimed after a restart
            await asyncio.wait(inflight.values(), timeout=2)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _deliver_with_retries(self, entry_id: str, alert: dict[str, Any]) -> None:
        cfg = self.settings.outbox
        for attempt in range(1, cfg.max_attempts + 1):
            try:
                await self.deliver(alert)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug in one alert must not stop the others
                if not isinstance(exc, (aiohttp.ClientError, ApiError, TimeoutError, OSError)):
                    log.exception("alert %s: unexpected failure", alert.get("id"))
                if attempt == cfg.max_attempts:
                    log.error("alert %s dead after %d attempts: %s", alert.get("id"), attempt, exc)
                    await self.store.outbox.bury(alert, f"{type(exc).__name__}: {exc}")
                    break
                delay = min(cfg.backoff_cap, cfg.backoff_base * 2 ** (attempt - 1))
                log.warning("alert %s attempt %d failed (%s); retrying in %.1fs", alert.get("id"), attempt, exc, delay)
                await self._pause(delay)
                if self._stop.is_set():
                    return  # left pending: another sender (or this one after a restart) takes it over
                await self.store.outbox.keep(self.consumer, entry_id)
            else:
                break
        await self.store.outbox.ack(entry_id)

    async def deliver(self, alert: dict[str, Any]) -> None:
        for channel, send in self.routes(alert):
            if await self.store.outbox.delivered(alert["id"], channel):
                continue
            await send()
            await self.store.outbox.mark_delivered(alert["id"], channel)

    # -- where an alert goes ---------------------------------------------------------------
    def routes(self, alert: dict[str, Any]) -> list[tuple[str, Send]]:
        routes: list[tuple[str, Send]] = []
        event = alert["event"]
        if event in FOR_DEPARTMENT:
            routes += self._department_routes(alert)
        if event in FOR_RESIDENT:
            text = self._resident_text(alert)
            for user in alert.get("residents", []):
                routes.append((f"resident:{user}", lambda user=user: self._to_resident(user, text, alert)))
        return routes

    def _department_routes(self, alert: dict[str, Any]) -> list[tuple[str, Send]]:
        channels = self.settings.alerts.get(alert["department"])
        if channels is None:
            return []
        markdown = self.department_markdown(alert)
        plain = markdown.replace("**", "").replace("> ", "")
        routes: list[tuple[str, Send]] = []
        if channels.wecom_webhook:
            routes.append(("wecom_robot", lambda: self.wecom.send_robot_markdown(channels.wecom_webhook, markdown)))
        if channels.wecom_users:
            routes.append(("wecom_app", lambda: self.wecom.send_app_text(channels.wecom_users, plain)))
        if channels.webhook:
            secret = channels.webhook_secret.get_secret_value()
            routes.append(("webhook", lambda: send_signed_webhook(self.session, channels.webhook, secret, self.public_payload(alert))))
        if channels.template_id:
            routes.append(("oa_template", lambda: self._to_officials(alert, channels.template_id)))
        return routes

    async def _to_officials(self, alert: dict[str, Any], template_id: str) -> None:
        for openid in await self.store.roles.members("official", alert["department"]):
            data = {"first": self._title(alert), "keyword1": alert.get("ticket", ""), "keyword2": alert.get("matter", ""),
                    "keyword3": self._deadline(alert), "remark": alert.get("place", "")}
            await self.oa.send_template(openid, template_id, data, client_msg_id=f"{alert['id']}:{openid}")

    async def _to_resident(self, user: str, text: str, alert: dict[str, Any]) -> None:
        """A customer-service message while the user's quota lasts, else a subscription notice.
        Someone who wrote through WeCom hears back as a WeCom application message."""
        if user.startswith(WECOM_PREFIX):
            await self.wecom.send_app_text([user.removeprefix(WECOM_PREFIX)], text)
            return
        if await self.store.quota.spend(user):
            try:
                await self.oa.send_text(user, text)
                return
            except ApiError as exc:
                if exc.errcode != OUT_OF_WINDOW:
                    raise
                await self.store.quota.exhaust(user)
        template = self.settings.wechat.notice_template_id
        if not template:
            log.warning("alert %s: resident outside the message window and no notice template configured", alert["id"])
            return
        await self.oa.send_notice(user, template, {"thing1": text[:20], "character_string2": alert.get("ticket", "")})

    # -- wording -------------------------------------------------------------------------------
    def _title(self, alert: dict[str, Any]) -> str:
        return self.knowledge.texts.get(f"alert_title_{alert['event']}", alert["event"])

    @staticmethod
    def _deadline(alert: dict[str, Any]) -> str:
        raw = alert.get("deadline")
        return dt.datetime.fromisoformat(raw).strftime("%Y-%m-%d %H:%M") if raw else ""

    def department_markdown(self, alert: dict[str, Any]) -> str:
        """What officials read. No resident name or phone number: those are in the ticket, for its handlers."""
        source = {"resident": "居民反映", "property": f"物业企业报告（{alert.get('company') or '物业'}）", "official": "部门录入"}
        return self.knowledge.text(
            "alert_markdown",
            title=self._title(alert),
            ticket=alert.get("ticket", ""),
            matter=alert.get("matter", ""),
            place=alert.get("place") or "未填写",
            details=alert.get("details") or "未填写",
            deadline=self._deadline(alert),
            level=alert.get("level", ""),
            source=source.get(alert.get("source", "resident"), ""),
            note=alert.get("note", ""),
        )

    def _resident_text(self, alert: dict[str, Any]) -> str:
        event = alert["event"]
        if event in ("late_reply", "answer"):
            return alert.get("note", "")
        department = self.knowledge.department[alert["department"]].name if alert.get("department") in self.knowledge.department else ""
        return self.knowledge.text(f"resident_{event}", ticket=alert.get("ticket", ""), department=department, note=alert.get("note", ""))

    @staticmethod
    def public_payload(alert: dict[str, Any]) -> dict[str, Any]:
        """The webhook body: the alert without residents' identities."""
        return {k: v for k, v in alert.items() if k != "residents"}
