"""Read-only Open311 GeoReport v2 (JSON): matters as services, tickets as service requests.

Public, as GeoReport's GET calls are, so nothing personal goes out: no resident id, phone,
words or photos; the address is the compound only (house numbers cut), coordinates are rounded
to about 100 m, and the description is the matter's name.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web

from bot.calendar import CHINA
from bot.knowledge import Knowledge
from bot.tickets.model import State, Ticket

PREFIX = "/open311/v2"
LIMIT = 1000  # GeoReport: at most 1000 requests per answer
WINDOW = dt.timedelta(days=90)  # GeoReport: the last 90 days unless dates are given
CLOSED = {State.RESOLVED, State.RATED, State.CLOSED}
_HOUSE = re.compile(r"[\d一二三四五六七八九十百零〇]+\s*(号楼|栋|幢|单元|号|室|楼|层).*$")


def _error(status: int, description: str) -> web.Response:
    return web.json_response([{"code": status, "description": description}], status=status)


def _services(request: web.Request):  # type: ignore[no-untyped-def]
    from bot.app import SERVICES

    return request.config_dict[SERVICES]


def compound(place: str) -> str:
    """阳光小区3号楼2单元 → 阳光小区."""
    return _HOUSE.sub("", place).strip()


def service(matter: Any, knowledge: Knowledge) -> dict[str, Any]:
    dept = knowledge.department.get(matter.department)
    return {
        "service_code": matter.id,
        "service_name": matter.name,
        "description": f"{matter.name}（{dept.name if dept else matter.department}）",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(matter.keywords[:5]),
        "group": "报修" if matter.intent == "repair" else "投诉",
    }


def request_of(t: Ticket, knowledge: Knowledge) -> dict[str, Any]:
    matter = knowledge.matter.get(t.matter)
    dept = knowledge.department.get(t.department)
    updated = t.history[-1].at if t.history else t.created
    out: dict[str, Any] = {
        "service_request_id": t.number,
        "status": "closed" if t.state in CLOSED else "open",
        "status_notes": str(t.state),
        "service_name": matter.name if matter else t.matter,
        "service_code": t.matter,
        "description": matter.name if matter else t.matter,
        "agency_responsible": dept.name if dept else t.department,
        "service_notice": "",
        "requested_datetime": t.created.isoformat(),
        "updated_datetime": updated.isoformat(),
        "expected_datetime": t.deadline.isoformat(),
        "address": compound(t.place or (t.location.label if t.location else "")),
        "address_id": "",
        "zipcode": "",
    }
    if t.location:
        out["lat"], out["long"] = round(t.location.latitude, 3), round(t.location.longitude, 3)
    return out


async def services_json(request: web.Request) -> web.Response:
    knowledge = _services(request).understander.knowledge
    return web.json_response([service(m, knowledge) for m in knowledge.matters])


def _when(value: str, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a W3C date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


async def requests_json(request: web.Request) -> web.Response:
    services = _services(request)
    knowledge = services.understander.knowledge
    q = request.query
    try:
        start, end = _when(q.get("start_date", ""), "start_date"), _when(q.get("end_date", ""), "end_date")
    except web.HTTPBadRequest as exc:
        return _error(400, exc.text or "bad date")
    ids = {i.strip() for i in q.get("service_request_id", "").split(",") if i.strip()}
    codes = {c.strip() for c in q.get("service_code", "").split(",") if c.strip()}
    statuses = {s.strip() for s in q.get("status", "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        return _error(400, "status must be open or closed")
    repo = services.store.tickets
    tickets = await repo.load_many(sorted(ids)[:LIMIT] if ids else await repo.all(LIMIT * 5))
    if not ids and start is None and end is None:
        start = dt.datetime.now(dt.UTC) - WINDOW
    out = []
    for t in sorted(tickets, key=lambda t: t.created, reverse=True):
        r = request_of(t, knowledge)
        if codes and t.matter not in codes:
            continue
        if statuses and r["status"] not in statuses:
            continue
        if (start and t.created < start) or (end and t.created > end):
            continue
        out.append(r)
        if len(out) >= LIMIT:
            break
    return web.json_response(out)


async def request_json(request: web.Request) -> web.Response:
    services = _services(request)
    number = request.match_info["id"]
    ticket = await services.tickets.get(number) if re.fullmatch(r"WY\d{8}-\d{4,8}", number) else None
    if ticket is None:
        return _error(404, f"no service request {number}")
    return web.json_response([request_of(ticket, services.understander.knowledge)])


def setup_open311(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/services.json", services_json)
    app.router.add_get(f"{PREFIX}/requests.json", requests_json)
    app.router.add_get(PREFIX + "/requests/{id}.json", request_json)
