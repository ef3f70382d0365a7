"""The console's pages and form handlers."""

from __future__ import annotations

import datetime as dt
import hmac
import math
import secrets
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from bot import calendar
from bot.app import SERVICES, Services
from bot.calendar import CHINA
from bot.console import ledger
from bot.console.faq import read_form
from bot.console.accounts import KIND_NAMES, MAX_FAILURES, Account, Accounts, Locked
from bot.tickets.model import State, Ticket, TransitionError, action_names
from bot.tickets.service import MatterMismatch, NotAllowed

# The signed-in account (a typed key where aiohttp has them, 3.13+; a plain one before).
ACCOUNT = web.RequestKey("console_account", Account) if hasattr(web, "RequestKey") else "console_account"
OPEN_PATHS = ("/console/login", "/console/static/")
ACTIONS = {"accept": "受理", "reply": "回复", "resolve": "办结", "return": "退回", "reroute": "改派", "close": "关闭"}


def services_of(request: web.Request) -> Services:
    return request.config_dict[SERVICES]


def accounts_of(request: web.Request) -> Accounts:
    s = services_of(request)
    return Accounts(s.store, set(s.understander.knowledge.department))


def now() -> dt.datetime:
    return calendar.now()


# -- middlewares ------------------------------------------------------------------------------
async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@web.middleware
async def guard(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Every POST carries the session's CSRF token; every page but sign-in needs an account."""
    if request.path.startswith("/console/static/"):
        return await handler(request)
    session = await get_session(request)
    if request.method == "POST":
        form = await read_form(request)
        sent = str(form.get("_csrf", "")) or request.headers.get("X-CSRF-Token", "")
        expected = session.get("csrf", "")
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            return await error_page(request, 403, "表单已过期或来源不明（CSRF校验失败），请刷新页面后重试。")
    if not request.path.startswith(OPEN_PATHS):
        username = session.get("user")
        account = await accounts_of(request).get(username) if username else None
        if account is None:
            session.pop("user", None)
            if request.method == "GET":
                raise web.HTTPSeeOther("/console/login?" + urlencode({"next": request.path_qs}))
            raise web.HTTPSeeOther("/console/login")
        request[ACCOUNT] = account
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPForbidden) as exc:
        return await error_page(request, exc.status, exc.text or "")


async def render(request: web.Request, template: str, context: dict[str, object], status: int = 200) -> web.Response:
    """A page, with what every page needs (the account, the CSRF token, a one-time notice)."""
    session = await get_session(request)
    base = {
        "account": request.get(ACCOUNT),
        "csrf": await csrf_token(request),
        "flash": session.pop("flash", None),
        "kind_names": KIND_NAMES,
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return await render(request, "error.html", {"status": status, "message": message}, status=status)


def flash(session, kind: str, text: str) -> None:  # type: ignore[no-untyped-def]
    session["flash"] = [kind, text]


# -- sign-in ----------------------------------------------------------------------------------
def _next_of(value: str) -> str:
    """Only a console path: never an open redirect."""
    return value if value.startswith("/console/") and not value.startswith("//") else "/console/tickets"


async def login_page(request: web.Request) -> web.Response:
    if (await get_session(request)).get("user"):
        raise web.HTTPSeeOther("/console/")
    return await render(request, "login.html", {"next": _next_of(request.query.get("next", ""))})


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _next_of(str(form.get("next", "")))
    try:
        account = await accounts_of(request).authenticate(username, password) if username and password else None
    except Locked as exc:
        minutes = max(math.ceil(exc.seconds / 60), 1)
        return await render(
            request, "login.html", {"error": f"连续{MAX_FAILURES}次密码错误，账号已锁定，请{minutes}分钟后再试。", "username": username, "next": target},
            status=429,
        )
    if account is None:
        return await render(
            request, "login.html", {"error": "用户名或密码错误。", "username": username, "next": target}, status=401
        )
    # A fresh session id at sign-in (no fixation); the anonymous one is dropped from Redis.
    old = await get_session(request)
    if old.identity:
        await services_of(request).store.console.drop_session(old.identity)
    session = await new_session(request)
    session["user"] = account.username
    session["csrf"] = secrets.token_urlsafe(32)
    raise web.HTTPSeeOther(_landing(account) if target == "/console/tickets" else target)


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    if session.identity:
        await services_of(request).store.console.drop_session(session.identity)
    session.invalidate()
    raise web.HTTPSeeOther("/console/login")


def _landing(account: Account | None) -> str:
    if account is None:  # /console on the main app: the sub-app's root knows the account
        return "/console/"
    return "/console/faq" if account.kind == "editor" else "/console/tickets"


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(_landing(request.get(ACCOUNT)))


# -- the ledger -------------------------------------------------------------------------------
def _forbid_editor(request: web.Request) -> Account:
    account: Account = request[ACCOUNT]
    if account.kind == "editor":
        raise web.HTTPForbidden(text="知识库编辑账号不查看工单。")
    return account


async def _filtered(request: web.Request) -> tuple[ledger.Filters, list[Ticket], dt.datetime]:
    account = _forbid_editor(request)
    services = services_of(request)
    filters = ledger.Filters.parse(request.query)
    if account.kind == "official":
        filters.department = ""  # one department anyway
    moment = now()
    tickets = filters.apply(await ledger.visible(services, account), services.understander.knowledge, moment)
    return filters, tickets, moment


async def tickets_page(request: web.Request) -> web.Response:
    filters, tickets, moment = await _filtered(request)
    knowledge = services_of(request).understander.knowledge
    pages = max(math.ceil(len(tickets) / ledger.PAGE), 1)
    filters.page = min(filters.page, pages)
    shown = tickets[(filters.page - 1) * ledger.PAGE : filters.page * ledger.PAGE]
    return await render(request, "ledger.html", {
        "filters": filters,
        "tickets": shown,
        "total": len(tickets),
        "pages": pages,
        "states": [s.value for s in State],
        "departments": knowledge.departments,
        "matters": sorted(knowledge.matters, key=lambda m: m.name),
        "knowledge": knowledge,
        "time_left": lambda t: ledger.time_left(t, moment),
        "overdue": lambda t: ledger.is_overdue(t, moment),
        "page_url": lambda n: "/console/tickets?" + urlencode(filters.query(page=n)),
        "export_query": urlencode(filters.query()),
    })


async def export(request: web.Request) -> web.Response:
    filters, tickets, moment = await _filtered(request)
    head, body = ledger.rows(tickets, services_of(request).understander.knowledge, request[ACCOUNT], moment)
    stamp = moment.strftime("%Y%m%d-%H%M")
    if request.match_info["fmt"] == "csv":
        data, ctype, name = ledger.to_csv(head, body), "text/csv; charset=utf-8", f"wuye-ledger-{stamp}.csv"
    else:
        data = ledger.to_xlsx(head, body)
        ctype, name = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"wuye-ledger-{stamp}.xlsx"
    return web.Response(body=data, headers={"Content-Type": ctype, "Content-Disposition": f'attachment; filename="{name}"'})


# -- one ticket -------------------------------------------------------------------------------
async def _ticket_for(request: web.Request) -> Ticket:
    account = _forbid_editor(request)
    ticket = await services_of(request).tickets.get(request.match_info["number"])
    if ticket is None or not ledger.can_see(account, ticket):
        raise web.HTTPNotFound(text="没有找到该工单，或不属于本单位。")
    return ticket


allowed_actions = ledger.allowed_actions


def who_label(who: str, knowledge) -> str:  # type: ignore[no-untyped-def]
    kind, _, rest = who.partition(":")
    if kind == "official" and rest in knowledge.department:
        return knowledge.department[rest].name
    if kind == "console":
        return f"控制台：{rest}"
    if kind == "api":
        return f"接口：{rest}"
    return {"resident": "居民", "system": "系统", "property_company": "物业企业", "official": "工作人员"}.get(who, who)


async def ticket_page(request: web.Request) -> web.Response:
    ticket = await _ticket_for(request)
    account: Account = request[ACCOUNT]
    knowledge = services_of(request).understander.knowledge
    moment = now()
    return await render(request, "ticket.html", {
        "t": ticket,
        "matter": knowledge.matter.get(ticket.matter),
        "department": knowledge.department.get(ticket.department),
        "departments": knowledge.departments,
        "actions": allowed_actions(account, ticket),
        "action_names": action_names,
        "who": lambda w: who_label(w, knowledge),
        "time_left": ledger.time_left(ticket, moment),
        "overdue": ledger.is_overdue(ticket, moment),
        "show_contact": ledger.sees_contact(account, ticket),
        "can_merge": ledger.can_merge(account, ticket),
    })


async def act(request: web.Request) -> web.Response:
    ticket = await _ticket_for(request)
    account: Account = request[ACCOUNT]
    form = await request.post()
    action = str(form.get("action", ""))
    note = str(form.get("note", "")).strip()[:2000]
    session = await get_session(request)
    here = f"/console/tickets/{ticket.number}"
    if action not in allowed_actions(account, ticket):
        if not ledger.can_act(account, ticket):
            return await error_page(request, 403, "本账号不能办理该工单。")
        flash(session, "error", f"工单当前状态为「{ticket.state}」，不能{ACTIONS.get(action, action)}。")
        raise web.HTTPSeeOther(here)
    department = None if account.kind == "admin" else account.department
    try:
        done = await services_of(request).tickets.act(
            ticket.number, action, who=account.who, note=note, department=department, to=str(form.get("to", ""))
        )
    except NotAllowed:
        return await error_page(request, 403, "本账号不能办理该工单。")
    except (TransitionError, ValueError) as exc:
        flash(session, "error", str(exc))
    else:
        flash(session, "ok", f"已{ACTIONS[action]}，工单状态：{done.state}")
    raise web.HTTPSeeOther(here)


async def merge(request: web.Request) -> web.Response:
    ticket = await _ticket_for(request)
    account: Account = request[ACCOUNT]
    if account.kind != "admin":
        return await error_page(request, 403, "仅管理员可合并工单。")
    form = await request.post()
    duplicate = str(form.get("duplicate", "")).strip().upper()
    force = str(form.get("force", "")) in ("1", "on", "true")
    session = await get_session(request)
    here = f"/console/tickets/{ticket.number}"
    try:
        done = await services_of(request).tickets.merge(ticket.number, duplicate, who=account.who, force=force)
    except MatterMismatch as exc:
        flash(session, "error", f"{exc}：勾选「事项不同也合并」。")
    except (LookupError, TransitionError, ValueError) as exc:
        flash(session, "error", str(exc).strip("'\""))
    else:
        flash(session, "ok", f"已把工单{duplicate}并入本工单，反映人数：{len(done.residents)}")
    raise web.HTTPSeeOther(here)


# -- dashboard --------------------------------------------------------------------------------
def _spec_words(spec: str) -> str:
    amount, unit = calendar.parse_spec(spec)
    return f"{amount}{ {'h': '小时', 'd': '天', 'wd': '个工作日'}[unit] }"


async def company_scope(services: Services) -> tuple[dict[str, str], set[str]]:
    """Which property company serves which compound (from bound staff), and every known company."""
    compounds: dict[str, str] = {}
    companies: set[str] = set()
    for _, role in await services.roles.all():
        if role.kind == "staff" and role.company:
            companies.add(role.company)
            for name in role.compounds:
                compounds.setdefault(name, role.company)
    return compounds, companies


async def dashboard_page(request: web.Request) -> web.Response:
    from bot.console import dashboard, stats

    account = _forbid_editor(request)
    services = services_of(request)
    knowledge = services.understander.knowledge
    tickets = await ledger.visible(services, account)
    compounds, companies = await company_scope(services)
    if account.kind != "admin":  # the board shows only companies among the tickets this account sees
        companies = set()
    figures = stats.compute(tickets, knowledge, sign_within=services.settings.tickets.sign_within, now=now(),
                            compound_companies=compounds, known_companies=companies)
    return await render(request, "dashboard.html", {
        "f": figures,
        "goal": stats.GOAL,
        "sign_within": _spec_words(services.settings.tickets.sign_within),
        "department_name": knowledge.department[account.department].name if account.department in knowledge.department else "",
        "by_year": dashboard.year_on_year(figures.yoy),
        "by_department": dashboard.per_department(figures, knowledge),
        "by_matter": dashboard.per_matter(figures, knowledge),
        "by_compound": dashboard.per_compound(figures),
    })


# -- routing table and its corrections ----------------------------------------------------------
def _admin_or_editor(request: web.Request) -> Account:
    account: Account = request[ACCOUNT]
    if account.kind not in ("admin", "editor"):
        raise web.HTTPForbidden(text="仅管理员和知识库编辑可查看。")
    return account


def _reroute_rows(entries: list[dict], knowledge) -> list[dict]:  # type: ignore[type-arg,no-untyped-def]
    def dept(code: str) -> str:
        return knowledge.department[code].name if code in knowledge.department else code

    rows = []
    for e in entries:
        matter = knowledge.matter.get(e.get("matter", ""))
        at = dt.datetime.fromisoformat(e["at"]) if e.get("at") else None
        rows.append({**e, "matter_name": matter.name if matter else e.get("matter", ""), "from_name": dept(e.get("from", "")),
                     "to_name": dept(e.get("to", "")), "when": local_time(at), "who_name": who_label(e.get("who", ""), knowledge)})
    return rows


async def routing_page(request: web.Request) -> web.Response:
    _admin_or_editor(request)
    services = services_of(request)
    knowledge = services.understander.knowledge
    reroutes = _reroute_rows(await services.store.tickets.reroutes(200), knowledge)
    return await render(request, "routing.html", {
        "matters": knowledge.matters,
        "department": knowledge.department,
        "documents": knowledge.documents,
        "reroutes": reroutes,
        "tiers": {"emergency": "紧急", "utility": "公用事业", "ordinary": "一般", "complex": "复杂"},
    })


async def reroutes_csv(request: web.Request) -> web.Response:
    _admin_or_editor(request)
    services = services_of(request)
    rows = _reroute_rows(await services.store.tickets.reroutes(), services.understander.knowledge)
    head = ["时间", "工单编号", "事项", "事项ID", "原部门", "改派至", "改派人", "说明", "小区/地点", "居民原话"]
    body = [[r["when"], r.get("ticket", ""), r["matter_name"], r.get("matter", ""), r["from_name"], r["to_name"], r["who_name"],
             r.get("note", ""), r.get("place", ""), r.get("words", "")] for r in rows]
    name = f"wuye-reroutes-{now().strftime('%Y%m%d-%H%M')}.csv"
    return web.Response(body=ledger.to_csv(head, body), headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'})


# -- dead letters -----------------------------------------------------------------------------
def _admin(request: web.Request) -> Account:
    account: Account = request[ACCOUNT]
    if account.kind != "admin":
        raise web.HTTPForbidden(text="仅管理员可查看。")
    return account


async def alerts_page(request: web.Request) -> web.Response:
    _admin(request)
    letters = await services_of(request).outbox.dead_letters()
    return await render(request, "alerts.html", {"letters": list(enumerate(letters))})


async def retry(request: web.Request) -> web.Response:
    _admin(request)
    form = await request.post()
    session = await get_session(request)
    outbox = services_of(request).outbox
    try:
        index = int(str(form.get("index", "")))
    except ValueError:
        index = -1
    letters = await outbox.dead_letters()
    # The list may have moved since the page was drawn: retry only the letter the button showed.
    if not 0 <= index < len(letters) or str(letters[index].get("alert", {}).get("id", "")) != str(form.get("id", "")):
        flash(session, "error", "该提醒已不在列表中（可能已被重试），请刷新后再试。")
    elif await outbox.revive(index):
        flash(session, "ok", "已重新放入发送队列。")
    else:
        flash(session, "error", "重试失败：该提醒已不在列表中。")
    raise web.HTTPSeeOther("/console/alerts")


# -- template helpers -------------------------------------------------------------------------
def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(CHINA).strftime(fmt) if value else ""


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone
