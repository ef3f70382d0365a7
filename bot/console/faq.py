"""The FAQ editor (/console/faq), for editors and administrators.

Edits never touch ``knowledge/faq.yaml``: they go to the overlay in Redis (``bot.store.faq``),
after the entry passes the ``FaqEntry`` model and the knowledge consistency validator with the
overlay applied (``bot.knowledge.with_overlay``). Then this process reloads and asks every other
process sharing the Redis to (``Services.faq_changed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

import yaml
from aiohttp import web
from aiohttp_session import get_session
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from bot import calendar
from bot.console.accounts import Account
from bot.knowledge import FaqEntry, FaqOverlay, Knowledge, read_yaml, with_overlay
from bot.models import Message

MAX_UPLOAD = 2 * 1024 * 1024  # an exported FAQ base is ~100 KB
IMPORT_PATH = "/console/faq/import"
# The POSTed form, read once (a typed key where aiohttp has them, 3.13+; a plain one before).
FORM = web.RequestKey("console_form", MultiDictProxy) if hasattr(web, "RequestKey") else "console_form"
ENTRY_ID = re.compile(r"^[a-z0-9_]{2,64}$")
RESERVED = {"new"}  # a console path, not an entry
LABELS = {
    "id": "编号", "question": "标准问题", "phrasings": "问法", "keywords": "关键词", "answer": "答案",
    "sources": "出处", "department": "指引部门", "valid_from": "生效日期", "valid_until": "失效日期",
}
ACTION_NAMES = {"create": "新增", "edit": "修改", "delete": "删除", "import": "导入"}
_SPLIT = re.compile(r"[\n,，、;；]+")


class FormError(ValueError):
    pass


# -- reading forms (the guard reads them first, for the CSRF token) ----------------------------
async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The POSTed form. A multipart upload (the FAQ import) is read here with its own size
    limit, larger than the server's ``max_body`` that guards the WeChat door."""
    if FORM in request:
        return request[FORM]
    if request.content_type == "multipart/form-data" and request.path == IMPORT_PATH:
        try:
            form = await _read_multipart(request)
        except (ValueError, AssertionError, RuntimeError):  # not multipart after all
            raise web.HTTPBadRequest(text="无法读取上传的表单") from None
    else:
        form = await request.post()
    request[FORM] = form
    return form


async def _read_multipart(request: web.Request) -> MultiDictProxy[Any]:
    fields: MultiDict[Any] = MultiDict()
    size = 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        data = bytearray()
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=size)
            data += chunk
        name = part.name or ""  # type: ignore[union-attr]
        fields.add(name, bytes(data) if part.filename else data.decode("utf-8", "replace"))  # type: ignore[union-attr]
    return MultiDictProxy(fields)


# -- access -------------------------------------------------------------------------------------
def editor(request: web.Request) -> Account:
    from bot.console.views import ACCOUNT

    account: Account = request[ACCOUNT]
    if account.kind not in ("editor", "admin"):
        raise web.HTTPForbidden(text="仅知识库编辑和管理员可以编辑问答库。")
    return account


# -- forms ↔ entries ------------------------------------------------------------------------------
def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _words(value: str) -> list[str]:
    return [w.strip() for w in _SPLIT.split(value) if w.strip()]


def entry_data(form: MultiDictProxy[Any], entry_id: str) -> dict[str, Any]:
    """The form as the fields of a FaqEntry (not yet validated)."""
    text = lambda name: str(form.get(name, "")).strip()  # noqa: E731
    docs, clauses = form.getall("doc", []), form.getall("clause", [])
    return {
        "id": entry_id,
        "question": text("question"),
        "phrasings": _lines(str(form.get("phrasings", ""))),
        "keywords": _words(str(form.get("keywords", ""))),
        "answer": text("answer"),
        "sources": [{"doc": str(d), "clause": str(c).strip()} for d, c in zip(docs, clauses, strict=False) if str(c).strip()],
        "department": text("department") or None,
        "valid_from": text("valid_from") or None,
        "valid_until": text("valid_until") or None,
    }


def _pydantic_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = err["loc"]
        field = LABELS.get(str(loc[0]), str(loc[0])) if loc else ""
        if err["type"] == "too_short":
            out.append(f"{field}：至少要填一项")
        elif err["type"] in ("date_from_datetime_parsing", "date_parsing", "date_type"):
            out.append(f"{field}：日期格式应为 YYYY-MM-DD")
        elif err["type"] == "literal_error":
            out.append(f"{field}：未知文件，只能是 {err.get('ctx', {}).get('expected', '')}")
        else:
            out.append(f"{field}：{err['msg']}")
    return out


def validate_entry(data: dict[str, Any]) -> FaqEntry:
    """A FaqEntry, or FormError with every problem in Chinese."""
    problems = []
    if not ENTRY_ID.match(str(data.get("id") or "")) or data.get("id") in RESERVED:
        problems.append("编号：只能用小写字母、数字和下划线，2-64位（如 parking_fee_rules）")
    if not data.get("question"):
        problems.append("标准问题：不能为空")
    if not data.get("answer"):
        problems.append("答案：不能为空")
    try:
        entry = FaqEntry.model_validate(data)
    except ValidationError as exc:
        raise FormError("；".join([*problems, *_pydantic_errors(exc)])) from None
    if problems:
        raise FormError("；".join(problems))
    if entry.valid_from and entry.valid_until and entry.valid_from > entry.valid_until:
        raise FormError("失效日期不能早于生效日期")
    return entry


def check(packaged: Knowledge, overlay: FaqOverlay) -> Knowledge:
    """The knowledge the overlay would give, or FormError naming what disagrees."""
    try:
        return with_overlay(packaged, overlay)
    except ValidationError as exc:
        raise FormError("与知识库不一致：" + "；".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None
    except ValueError as exc:
        raise FormError(f"与知识库不一致：{exc}") from None


def changed_fields(before: FaqEntry | None, after: FaqEntry | None) -> list[str]:
    if before is None or after is None:
        return []
    return [name for name in FaqEntry.model_fields if getattr(before, name) != getattr(after, name)]


def record(account: Account, action: str, entry_id: str, before: FaqEntry | None = None, after: FaqEntry | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "who": account.username,
        "action": action,
        "id": entry_id,
        "fields": changed_fields(before, after),
        "before": before.model_dump(mode="json") if before else None,
        "after": after.model_dump(mode="json") if after else None,
        **extra,
    }


# -- YAML import/export -----------------------------------------------------------------------
def to_yaml(entries: list[FaqEntry]) -> bytes:
    data = [e.model_dump(mode="json", exclude_defaults=True) for e in entries]
    head = f"# wuye-bot FAQ export {calendar.now().strftime('%Y-%m-%d %H:%M')}: knowledge/faq.yaml with the console's edits\n"
    return (head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)).encode("utf-8")


def overlay_from_yaml(raw: bytes, packaged: Knowledge) -> tuple[FaqOverlay, int]:
    """The overlay that turns the packaged FAQ into the uploaded one (only differences are kept,
    so later changes to knowledge/faq.yaml still show through), and the number of entries."""
    try:
        data = read_yaml(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FormError(f"文件不是有效的 UTF-8 YAML：{str(exc).splitlines()[0]}") from None
    if not isinstance(data, list) or not data:
        raise FormError("文件应是问答条目的列表（与导出的文件格式相同）")
    entries = []
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise FormError(f"第{n}条不是一个条目")
        try:
            entries.append(validate_entry(item))
        except FormError as exc:
            raise FormError(f"第{n}条（{item.get('id', '?')}）：{exc}") from None
    ids = [e.id for e in entries]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise FormError(f"编号重复：{', '.join(dupes)}")
    shipped = packaged.faq_by_id
    overlay = FaqOverlay(
        entries={e.id: e for e in entries if shipped.get(e.id) != e},
        deleted={i for i in shipped if i not in set(ids)},
    )
    check(packaged, overlay)
    return overlay, len(entries)


# -- pages ----------------------------------------------------------------------------------------
def _services(request: web.Request):  # type: ignore[no-untyped-def]
    from bot.console.views import services_of

    return services_of(request)


async def _render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    from bot.console.views import render

    return await render(request, template, context, status)


def _matches(entry: FaqEntry, words: list[str]) -> bool:
    hay = " ".join([entry.id, entry.question, entry.answer, *entry.phrasings, *entry.keywords]).lower()
    return all(w in hay for w in words)


async def try_question(services, text: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the running bot makes of a question: the FAQ entries it matches, and its reply."""
    understander = services.understander
    understanding = understander.understand(text)
    by_id = understander.knowledge.faq_by_id
    matches = [{"id": m.id, "score": m.score, "question": by_id[m.id].question if m.id in by_id else "",
                "passes": m.score >= understander.gates.faq, "confirmed": m.confirmed} for m in understanding.faq]
    if services.engine.router.command_for(text):
        reply = "（这是一条指令，不在此演示）"
    else:
        message = Message(channel="console", id=f"console-try:{secrets.token_hex(6)}", user="console-try", kind="text", text=text)
        _, answer = await services.engine.first_reply(message)
        reply = answer.text or ""
    return {"text": text, "intent": understanding.intent, "matches": matches, "gate": understander.gates.faq, "reply": reply}


async def faq_page(request: web.Request) -> web.Response:
    editor(request)
    services = _services(request)
    knowledge = services.understander.knowledge
    overlay = await services.store.faq.overlay()
    q = request.query.get("q", "").strip()[:100]
    words = q.lower().split()
    entries = [e for e in knowledge.faq if _matches(e, words)]
    shipped = services.packaged.faq_by_id
    status = {e.id: ("新增" if e.id not in shipped else "已修改") for e in knowledge.faq if e.id in overlay.entries}
    asked = request.query.get("try", "").strip()[:500]
    tried = await try_question(services, asked) if asked else None
    history = await services.store.faq.history(30)
    return await _render(request, "faq.html", {
        "entries": entries, "total": len(knowledge.faq), "q": q, "status": status, "deleted": sorted(overlay.deleted),
        "tried": tried, "asked": asked, "history": history, "labels": LABELS, "action_names": ACTION_NAMES,
        "parse_time": lambda s: dt.datetime.fromisoformat(s),
        "departments": knowledge.department,
    })


def _form_context(services, entry: dict[str, Any], *, new: bool, error: str = "") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    knowledge = services.understander.knowledge
    sources = list(entry.get("sources") or [])
    sources += [{"doc": "", "clause": ""}] * max(2 - len(sources), 1)
    return {
        "e": entry, "new": new, "error": error, "sources": sources, "documents": knowledge.documents,
        "departments": knowledge.departments, "shipped": entry.get("id") in services.packaged.faq_by_id,
    }


def version(entry: FaqEntry | None) -> str:
    """What the editor saw: a save is refused if the entry changed (or went) since."""
    return hashlib.sha1(entry.model_dump_json().encode()).hexdigest() if entry else ""


def _as_form(entry: FaqEntry) -> dict[str, Any]:
    data = entry.model_dump(mode="json")
    data["phrasings_text"] = "\n".join(entry.phrasings)
    data["keywords_text"] = "、".join(entry.keywords)
    data["base"] = version(entry)
    return data


def _echo(data: dict[str, Any]) -> dict[str, Any]:
    """Give the submitted form back after an error, as typed."""
    return {**data, "phrasings_text": "\n".join(data["phrasings"]), "keywords_text": "、".join(data["keywords"]),
            "department": data["department"] or "", "valid_from": data["valid_from"] or "", "valid_until": data["valid_until"] or ""}


async def new_page(request: web.Request) -> web.Response:
    editor(request)
    blank = {"id": "", "question": "", "phrasings_text": "", "keywords_text": "", "answer": "", "sources": [],
             "department": "", "valid_from": "", "valid_until": ""}
    return await _render(request, "faq_edit.html", _form_context(_services(request), blank, new=True))


async def edit_page(request: web.Request) -> web.Response:
    editor(request)
    services = _services(request)
    entry = services.understander.knowledge.faq_by_id.get(request.match_info["id"])
    if entry is None:
        raise web.HTTPNotFound(text="没有这个问答条目。")
    return await _render(request, "faq_edit.html", _form_context(services, _as_form(entry), new=False))


async def save(request: web.Request) -> web.Response:
    """Create (POST /console/faq/new) or edit (POST /console/faq/{id})."""
    account = editor(request)
    services = _services(request)
    form = await read_form(request)
    new = "id" not in request.match_info
    entry_id = str(form.get("id", "")).strip() if new else request.match_info["id"]
    current = services.understander.knowledge.faq_by_id.get(entry_id)
    if not new and current is None:
        raise web.HTTPNotFound(text="没有这个问答条目。")
    data = entry_data(form, entry_id)
    try:
        if new and current is not None:
            raise FormError(f"编号 {entry_id} 已被使用，请换一个")
        entry = validate_entry(data)
        overlay = await services.store.faq.overlay()
        # Compare with Redis, not this process's copy: another editor may have saved meanwhile.
        stored = overlay.entries.get(entry.id) or (
            None if entry.id in overlay.deleted else services.packaged.faq_by_id.get(entry.id)
        )
        if new and stored is not None:
            raise FormError(f"编号 {entry_id} 已被使用，请换一个")
        if not new and version(stored) != str(form.get("base", "")):
            raise FormError("这条问答在您打开之后已被他人修改或删除，请刷新页面后再改。")
        overlay.entries[entry.id] = entry
        overlay.deleted.discard(entry.id)
        check(services.packaged, overlay)
    except FormError as exc:
        echoed = {**_echo(data), "base": str(form.get("base", ""))}
        return await _render(request, "faq_edit.html", _form_context(services, echoed, new=new, error=str(exc)), status=422)
    session = await get_session(request)
    if entry == current:
        session["flash"] = ["ok", "没有改动。"]
        raise web.HTTPSeeOther(f"/console/faq/{entry.id}")
    await services.store.faq.put(entry, record(account, "create" if new else "edit", entry.id, current, entry))
    await services.faq_changed()
    session["flash"] = ["ok", f"已保存「{entry.question}」，机器人已按新内容回答。"]
    raise web.HTTPSeeOther(f"/console/faq/{entry.id}")


async def delete(request: web.Request) -> web.Response:
    account = editor(request)
    services = _services(request)
    entry_id = request.match_info["id"]
    current = services.understander.knowledge.faq_by_id.get(entry_id)
    if current is None:
        raise web.HTTPNotFound(text="没有这个问答条目。")
    await services.store.faq.delete(entry_id, packaged=entry_id in services.packaged.faq_by_id,
                                     record=record(account, "delete", entry_id, current, None))
    await services.faq_changed()
    (await get_session(request))["flash"] = ["ok", f"已删除「{current.question}」。"]
    raise web.HTTPSeeOther("/console/faq")


async def export(request: web.Request) -> web.Response:
    editor(request)
    body = to_yaml(_services(request).understander.knowledge.faq)
    name = f"wuye-faq-{calendar.now().strftime('%Y%m%d-%H%M')}.yaml"
    return web.Response(body=body, headers={"Content-Type": "application/x-yaml; charset=utf-8",
                                            "Content-Disposition": f'attachment; filename="{name}"'})


async def import_(request: web.Request) -> web.Response:
    account = editor(request)
    services = _services(request)
    form = await read_form(request)
    upload = form.get("file")
    session = await get_session(request)
    if not isinstance(upload, bytes) or not upload.strip():
        session["flash"] = ["error", "请选择要导入的 YAML 文件。"]
        raise web.HTTPSeeOther("/console/faq")
    try:
        overlay, count = overlay_from_yaml(upload, services.packaged)
    except FormError as exc:
        session["flash"] = ["error", f"导入失败，未作任何修改：{exc}"]
        raise web.HTTPSeeOther("/console/faq") from None
    await services.store.faq.replace(overlay, record(
        account, "import", "", count=count, changed=len(overlay.entries), removed=len(overlay.deleted)))
    await services.faq_changed()
    session["flash"] = ["ok", f"已导入 {count} 条问答（与内置问答库相比：改动或新增 {len(overlay.entries)} 条，删除 {len(overlay.deleted)} 条）。"]
    raise web.HTTPSeeOther("/console/faq")


def setup(console: web.Application) -> None:
    r = console.router
    r.add_get("/faq", faq_page)
    r.add_get("/faq/export.yaml", export)
    r.add_post("/faq/import", import_)
    r.add_get("/faq/new", new_page)
    r.add_post("/faq/new", save)
    r.add_get(r"/faq/{id:[a-z0-9_]{2,64}}", edit_page)
    r.add_post(r"/faq/{id:[a-z0-9_]{2,64}}", save)
    r.add_post(r"/faq/{id:[a-z0-9_]{2,64}}/delete", delete)
