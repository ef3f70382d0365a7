"""The JSON API at /api/v1 (token auth): the ledger, one ticket, actions, departments, matters.

The same scope rules as the console (``bot.console.ledger``): an official sees and acts on its
own department's tickets only (another's answers 404), staff read their company's, admins all.
Every error is JSON ``{"error": "..."}`` with a 4xx status. Described by ``openapi.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import secrets
from typing import Any

from aiohttp import web

from bot import calendar
from bot.console import ledger
from bot.console.accounts import Account, Accounts
from bot.knowledge import Knowledge
from bot.store import Store
from bot.tickets.model import State, Ticket, TransitionError
from bot.tickets.service import MatterMismatch, NotAllowed

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
PRINCIPAL = web.RequestKey("api_principal", Account) if hasattr(web, "RequestKey") else "api_principal"
ACTIONS = ("accept", "reply", "resolve", "return", "reroute", "close")
MAX_PER_PAGE = 100
_OPEN = (f"{PREFIX}/openapi.json",)
NUMBER = re.compile(r"WY\d{8}-\d{4,8}")


class ApiAccount(Account):
    """Who a token acts as: a console account's scope, recorded in ticket history as ``api:``."""

    @property
    def who(self) -> str:
        return f"api:{self.username}"


# -- tokens ---------------------------------------------------------------------------------------
async def create_token(store: Store, departments: set[str], *, role: str = "", department: str = "", company: str = "",
                       name: str = "", user: str = "") -> tuple[str, str]:
    """A new token (shown once) and its id. ``user``: act as that console account (its role
    at each request); else ``role`` with its scope."""
    if user:
        if await Accounts(store, departments).get(user) is None:
            raise ValueError(f"no console account {user!r}")
        grant = {"user": user}
    else:
        if role not in ("admin", "official", "staff"):
            raise ValueError("--role must be admin, official or staff (or give --user)")
        if role == "official" and department not in departments:
            raise ValueError(f"an official needs a known department code, not {department!r}")
        if role == "staff" and not company:
            raise ValueError("a staff token needs --company")
        grant = {"kind": role, "department": department if role == "official" else "",
                 "company": company if role == "staff" else "", "name": name}
    grant["created"] = dt.datetime.now(dt.UTC).isoformat()
    token = "wy_" + secrets.token_urlsafe(32)
    return token, await store.api_tokens.add(token, grant)


async def principal(store: Store, departments: set[str], token: str) -> Account | None:
    grant = await store.api_tokens.grant(token)
    if grant is None:
        return None
    if grant.get("user"):
        account = await Accounts(store, departments).get(grant["user"])
        return ApiAccount.model_validate(account.model_dump()) if account else None
    label = grant.get("name") or f"{grant['kind']}-{grant.get('department') or grant.get('company') or 'all'}"
    return ApiAccount(username=label, kind=grant["kind"], department=grant.get("department", ""),
                      company=grant.get("company", ""), name=grant.get("name", ""), password_hash="",
                      created=dt.datetime.fromisoformat(grant["created"]))


# -- plumbing -------------------------------------------------------------------------------------
def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _services(request: web.Request):  # type: ignore[no-untyped-def]
    from bot.app import SERVICES

    return request.config_dict[SERVICES]


@web.middleware
async def json_errors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Token check, and every failure as JSON: a client never sees HTML or a traceback."""
    try:
        if request.path not in _OPEN:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error(401, "missing bearer token", **{"WWW-Authenticate": 'Bearer realm="wuye"'})
            services = _services(request)
            account = await principal(services.store, set(services.understander.knowledge.department), token.strip())
            if account is None:
                return error(401, "invalid or revoked token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
            request[PRINCIPAL] = account
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason)
    except Exception:  # a bug: logged, and still JSON
        log.exception("API %s %s failed", request.method, request.path)
        return error(500, "internal error")


class BadRequest(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=message)


# -- serialisation ----------------------------------------------------------------------------------
def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def summary(t: Ticket, knowledge: Knowledge, now: dt.datetime) -> dict[str, Any]:
    matter = knowledge.matter.get(t.matter)
    dept = knowledge.department.get(t.department)
    return {
        "number": t.number,
        "matter": t.matter,
        "matter_name": matter.name if matter else t.matter,
        "department": t.department,
        "department_name": dept.name if dept else t.department,
        "state": str(t.state),
        "place": t.place or (t.location.label if t.location else ""),
        "source": t.source,
        "company": t.company,
        "created": _iso(t.created),
        "deadline": _iso(t.deadline),
        "overdue": ledger.is_overdue(t, now),
        "time_left": ledger.time_left(t, now),
    }


def detail(t: Ticket, knowledge: Knowledge, account: Account, now: dt.datetime) -> dict[str, Any]:
    return {
        **summary(t, knowledge, now),
        "level": t.level,
        "also": t.also,
        "texts": t.texts,
        "photos": t.photos,
        "location": t.location.model_dump(mode="json") if t.location else None,
        "dispatched": _iso(t.dispatched),
        "escalations": t.escalations,
        "rating": t.rating,
        "reporters": len(t.residents),
        "contact": t.contact if ledger.sees_contact(account, t) else None,
        "history": [e.model_dump(mode="json") for e in t.history],
        "merged_into": t.merged_into,
        "actions": ledger.allowed_actions(account, t),
    }


# -- handlers -------------------------------------------------------------------------------------
def _reader(request: web.Request) -> Account:
    account: Account = request[PRINCIPAL]
    if account.kind == "editor":
        raise web.HTTPForbidden(text="editor accounts do not see tickets")
    return account


def _int(query: Any, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


async def list_tickets(request: web.Request) -> web.Response:
    account = _reader(request)
    services = _services(request)
    knowledge = services.understander.knowledge
    query = request.query
    if query.get("state") and query["state"] not in {s.value for s in State}:
        raise BadRequest(f"unknown state; one of {', '.join(s.value for s in State)}")
    filters = ledger.Filters.parse(query)
    if filters.errors:
        raise BadRequest("since and until must be dates (YYYY-MM-DD)")
    if query.get("overdue", "") not in ("", "0", "1", "true", "false", "on"):
        raise BadRequest("overdue must be true or false")
    if account.kind == "official":
        filters.department = ""  # one department anyway
    page = _int(query, "page", 1, 1, 1_000_000)
    per_page = _int(query, "per_page", ledger.PAGE, 1, MAX_PER_PAGE)
    now = calendar.now()
    tickets = filters.apply(await ledger.visible(services, account), knowledge, now)
    shown = tickets[(page - 1) * per_page : page * per_page]
    return web.json_response({
        "total": len(tickets), "page": page, "per_page": per_page, "pages": max(math.ceil(len(tickets) / per_page), 1),
        "tickets": [summary(t, knowledge, now) for t in shown],
    })


async def _visible_ticket(request: web.Request) -> tuple[Account, Ticket]:
    account = _reader(request)
    number = request.match_info["number"]
    ticket = await _services(request).tickets.get(number) if NUMBER.fullmatch(number) else None
    if ticket is None or not ledger.can_see(account, ticket):
        raise web.HTTPNotFound(text=f"no ticket {number} for this token")
    return account, ticket


async def get_ticket(request: web.Request) -> web.Response:
    account, ticket = await _visible_ticket(request)
    return web.json_response(detail(ticket, _services(request).understander.knowledge, account, calendar.now()))


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


async def act(request: web.Request) -> web.Response:
    account, ticket = await _visible_ticket(request)
    body = await _json_object(request)
    action, note, to = body.get("action"), body.get("note", ""), body.get("to", "")
    if action not in ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
    if not isinstance(note, str) or not isinstance(to, str):
        raise BadRequest("note and to must be strings")
    if not ledger.can_act(account, ticket):
        raise web.HTTPForbidden(text="this token may read this ticket but not act on it")
    if action not in ledger.allowed_actions(account, ticket):
        if action in ("reroute", "close") and account.kind != "admin":
            raise web.HTTPForbidden(text=f"only an administrator may {action}")
        raise web.HTTPConflict(text=f"cannot {action} a ticket in state {ticket.state}")
    services = _services(request)
    try:
        done = await services.tickets.act(ticket.number, action, who=account.who, note=note.strip()[:2000],
                                          department=None if account.kind == "admin" else account.department, to=to)
    except NotAllowed:
        raise web.HTTPNotFound(text=f"no ticket {ticket.number} for this token") from None
    except TransitionError as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    except ValueError as exc:
        raise web.HTTPUnprocessableEntity(text=str(exc)) from None
    return web.json_response(detail(done, services.understander.knowledge, account, calendar.now()))


async def merge(request: web.Request) -> web.Response:
    account, ticket = await _visible_ticket(request)
    body = await _json_object(request)
    duplicate, force = body.get("duplicate"), body.get("force", False)
    if not isinstance(duplicate, str) or not isinstance(force, bool):
        raise BadRequest("duplicate must be a ticket number and force a boolean")
    if account.kind != "admin":
        raise web.HTTPForbidden(text="only an administrator may merge tickets")
    if not NUMBER.fullmatch(duplicate):
        raise web.HTTPNotFound(text=f"no ticket {duplicate[:40]} for this token")
    services = _services(request)
    try:
        done = await services.tickets.merge(ticket.number, duplicate, who=account.who, force=force)
    except LookupError:
        raise web.HTTPNotFound(text=f"no ticket {duplicate} for this token") from None
    except (MatterMismatch, TransitionError) as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    except ValueError as exc:
        raise web.HTTPUnprocessableEntity(text=str(exc)) from None
    return web.json_response(detail(done, services.understander.knowledge, account, calendar.now()))


async def departments(request: web.Request) -> web.Response:
    knowledge = _services(request).understander.knowledge
    return web.json_response([{"code": d.code, "name": d.name, "level": d.level, "duties": d.duties} for d in knowledge.departments])


async def matters(request: web.Request) -> web.Response:
    knowledge = _services(request).understander.knowledge
    return web.json_response([
        {"id": m.id, "name": m.name, "intent": m.intent, "department": m.department, "cooperating": m.cooperating, "tier": m.tier}
        for m in knowledge.matters
    ])


async def openapi_json(request: web.Request) -> web.Response:
    from bot.api.openapi import SPEC

    return web.json_response(SPEC)


def setup_api(app: web.Application) -> None:
    api = web.Application(middlewares=[json_errors])
    r = api.router
    r.add_get("/openapi.json", openapi_json)
    r.add_get("/tickets", list_tickets)
    r.add_get("/tickets/{number}", get_ticket)
    r.add_post("/tickets/{number}/actions", act)
    r.add_post("/tickets/{number}/merge", merge)
    r.add_get("/departments", departments)
    r.add_get("/matters", matters)
    app.add_subapp(PREFIX, api)
