"""aiohttp-session storage on the app's own Redis connection and key prefix.

aiohttp-session's RedisStorage wants the client when the app is built (ours exists only once
the cleanup context has run), decodes bytes (ours returns str) and ignores the key prefix;
this storage finds the Store on each request instead."""

from __future__ import annotations

import json
import secrets

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from bot.app import SERVICES

COOKIE = "wuye_console"
MAX_AGE = 8 * 3600
# A visitor who has not signed in holds only a CSRF token: kept briefly, so that anonymous
# traffic to the sign-in page cannot fill Redis with 8-hour sessions.
ANONYMOUS_AGE = 30 * 60


class StoreStorage(AbstractStorage):
    def __init__(self, *, secure: bool = False) -> None:
        super().__init__(cookie_name=COOKIE, max_age=MAX_AGE, path="/console", httponly=True, samesite="Lax", secure=secure)

    async def load_session(self, request: web.Request) -> Session:
        sid = self.load_cookie(request)
        if sid:
            raw = await request.config_dict[SERVICES].store.console.load_session(sid)
            if raw is not None:
                return Session(sid, data=json.loads(raw), new=False, max_age=self.max_age)
        return Session(None, data=None, new=True, max_age=self.max_age)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        repo = request.config_dict[SERVICES].store.console
        sid = session.identity
        if sid is None:
            sid = secrets.token_urlsafe(32)
            session.set_new_identity(sid)
        data = self._get_session_data(session)
        if not data:
            await repo.drop_session(sid)
            self.save_cookie(response, "", max_age=session.max_age)
            return
        ttl = (session.max_age or MAX_AGE) if data.get("session", {}).get("user") else ANONYMOUS_AGE
        await repo.save_session(sid, json.dumps(data, ensure_ascii=False), ttl)
        self.save_cookie(response, sid, max_age=session.max_age)
