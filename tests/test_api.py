"""The JSON API at /api/v1 against the real app and Redis: tokens, scope, actions, errors."""

from __future__ import annotations

from bot.api import create_token
from bot.api.openapi import SPEC
from bot.store.api import digest
from bot.tickets import State
from tests.console_helpers import file_ticket, make_user


async def token_for(services, **scope: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token, _ = await create_token(services.store, set(services.understander.knowledge.department), **scope)
    return {"Authorization": f"Bearer {token}"}


async def test_no_token_or_a_wrong_one_is_401_in_json(client, services) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer "}):
        resp = await client.get("/api/v1/tickets", headers=headers)
        assert resp.status == 401 and "error" in await resp.json()
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    spec = await client.get("/api/v1/openapi.json")  # the description needs no token
    assert spec.status == 200 and (await spec.json())["openapi"].startswith("3.0")


async def test_tokens_are_stored_hashed(client, services) -> None:
    token, token_id = await create_token(services.store, {"police"}, role="official", department="police")
    keys = await services.store.redis.keys(services.store.keys.api_token("*"))
    assert keys == [services.store.keys.api_token(digest(token))] and digest(token).startswith(token_id)
    assert token not in str(await services.store.redis.get(keys[0]))
    assert await services.store.api_tokens.revoke(token_id)
    resp = await client.get("/api/v1/departments", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401


async def test_an_official_sees_and_acts_on_its_own_department_only(client, services) -> None:
    police = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔垃圾砸到车")
    fire = await file_ticket(services, "fire_lane_blocked", "幸福家园", "消防通道被车堵死了")
    cop = await token_for(services, role="official", department="police", name="李警官")

    listed = await (await client.get("/api/v1/tickets", headers=cop)).json()
    assert [t["number"] for t in listed["tickets"]] == [police.number] and listed["total"] == 1
    assert (await client.get(f"/api/v1/tickets/{fire.number}", headers=cop)).status == 404
    resp = await client.post(f"/api/v1/tickets/{fire.number}/actions", json={"action": "accept"}, headers=cop)
    assert resp.status == 404 and "error" in await resp.json()
    assert (await services.tickets.get(fire.number)).state == State.OPEN

    one = await (await client.get(f"/api/v1/tickets/{police.number}", headers=cop)).json()
    assert one["contact"] == "13912345678" and one["actions"] == ["accept", "return"] and one["department_name"]

    url = f"/api/v1/tickets/{police.number}/actions"
    resp = await client.post(url, json={"action": "resolve", "note": "x"}, headers=cop)
    assert resp.status == 409  # not accepted yet
    resp = await client.post(url, json={"action": "accept"}, headers=cop)
    assert resp.status == 200 and (await resp.json())["state"] == State.ACCEPTED
    resp = await client.post(url, json={"action": "reply", "note": ""}, headers=cop)
    assert resp.status == 422 and "回复内容不能为空" in (await resp.json())["error"]
    resp = await client.post(url, json={"action": "reply", "note": "民警已上门"}, headers=cop)
    assert (await resp.json())["state"] == State.IN_PROGRESS
    resp = await client.post(url, json={"action": "reroute", "to": "fire"}, headers=cop)
    assert resp.status == 403
    resp = await client.post(url, json={"action": "resolve", "note": "已约谈住户"}, headers=cop)
    body = await resp.json()
    assert body["state"] == State.RESOLVED and body["history"][-1]["who"] == "api:李警官"
    assert (await services.tickets.get(police.number)).state == State.RESOLVED


async def test_admin_reroutes_staff_reads_without_phone_and_bad_input_is_400(client, services) -> None:
    ticket = await file_ticket(services, "fire_lane_blocked", "幸福家园", "消防通道被车堵死了", source="property", company="安泰物业")
    await make_user(services, "boss", "admin")
    admin = await token_for(services, user="boss")
    resp = await client.post(f"/api/v1/tickets/{ticket.number}/actions", json={"action": "reroute", "to": "police"}, headers=admin)
    assert resp.status == 200 and (await resp.json())["department"] == "police"
    assert (await services.tickets.get(ticket.number)).history[-1].who == "api:boss"
    resp = await client.post(f"/api/v1/tickets/{ticket.number}/actions", json={"action": "reroute", "to": "nowhere"}, headers=admin)
    assert resp.status == 422

    staff = await token_for(services, role="staff", company="安泰物业")
    one = await (await client.get(f"/api/v1/tickets/{ticket.number}", headers=staff)).json()
    assert one["contact"] is None and one["actions"] == []
    resp = await client.post(f"/api/v1/tickets/{ticket.number}/actions", json={"action": "accept"}, headers=staff)
    assert resp.status == 403

    for query in ({"state": "bogus"}, {"since": "yesterday"}, {"page": "x"}, {"per_page": "1000"}, {"overdue": "maybe"}):
        resp = await client.get("/api/v1/tickets", params=query, headers=admin)
        assert resp.status == 400 and "error" in await resp.json(), query
    url = f"/api/v1/tickets/{ticket.number}/actions"
    for body in (b"not json", b"[1, 2]", b'{"action": "fly"}', b'{"action": "accept", "note": 5}', b"\xff\xfe"):
        resp = await client.post(url, data=body, headers={**admin, "Content-Type": "application/json"})
        assert resp.status == 400 and "error" in await resp.json(), body
    resp = await client.get("/api/v1/tickets/WY1", headers=admin)
    assert resp.status == 404 and "error" in await resp.json()
    resp = await client.get("/api/v1/tickets", params={"state": State.CLOSED.value, "per_page": "5"}, headers=admin)
    assert (await resp.json())["total"] == 0


async def test_departments_and_matters(client, services) -> None:
    cop = await token_for(services, role="official", department="police")
    departments = await (await client.get("/api/v1/departments", headers=cop)).json()
    assert {"police", "fire"} <= {d["code"] for d in departments}
    matters = await (await client.get("/api/v1/matters", headers=cop)).json()
    assert any(m["id"] == "high_altitude_throwing" and m["department"] == "police" for m in matters)


def test_the_openapi_file_names_every_route_of_the_api() -> None:
    from aiohttp import web

    from bot.api import setup_api

    app = web.Application()
    setup_api(app)
    api = app._subapps[0]  # noqa: SLF001
    routes = {(r.method, r.resource.canonical.removeprefix("/api/v1")) for r in api.router.routes() if r.method != "HEAD"}
    documented = {(m.upper(), path) for path, ops in SPEC["paths"].items() for m in ops}
    assert routes - {("GET", "/openapi.json")} == documented and SPEC["servers"] == [{"url": "/api/v1"}]


async def test_open311_services_and_requests_without_personal_data(client, services) -> None:
    ticket = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼2单元", "楼上扔垃圾砸到车 我叫张三")
    listed = await (await client.get("/open311/v2/services.json")).json()
    assert any(s["service_code"] == "high_altitude_throwing" and s["metadata"] is False for s in listed)

    requests = await (await client.get("/open311/v2/requests.json")).json()
    assert [r["service_request_id"] for r in requests] == [ticket.number]
    r = requests[0]
    assert r["status"] == "open" and r["address"] == "阳光小区" and r["agency_responsible"]
    text = str(requests)
    assert "13912345678" not in text and "张三" not in text and "o_resident" not in text and "media-1" not in text

    assert await (await client.get("/open311/v2/requests.json", params={"status": "closed"})).json() == []
    assert len(await (await client.get("/open311/v2/requests.json", params={"service_request_id": ticket.number})).json()) == 1
    one = await client.get(f"/open311/v2/requests/{ticket.number}.json")
    assert one.status == 200 and (await one.json())[0]["service_code"] == "high_altitude_throwing"
    for query in ({"status": "maybe"}, {"start_date": "soon"}):
        resp = await client.get("/open311/v2/requests.json", params=query)
        assert resp.status == 400 and (await resp.json())[0]["code"] == 400
    assert (await client.get("/open311/v2/requests/WY1.json")).status == 404


async def test_the_token_commands(client, services, settings, tmp_path) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    config = tmp_path / "wuye.toml"
    config.write_text(f'[redis]\nurl = "{settings.redis.url}"\nkey_prefix = "{settings.redis.key_prefix}"\n'
                      f'[server]\ndata_dir = "{tmp_path / "cli-data"}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}

    def wuye(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bot", "admin", *args, "--config", str(config)],
                              capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = await asyncio.to_thread(wuye, "create-token", "--role", "official", "--department", "police", "--name", "李警官")
    token, token_id = out.split()[0], out.split()[3].rstrip(";")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/tickets", headers=headers)).status == 200
    assert "revoked" in await asyncio.to_thread(wuye, "revoke-token", token_id)
    assert (await client.get("/api/v1/tickets", headers=headers)).status == 401
