"""Merging duplicate tickets (service, console, API) and the routing table with its re-route
corrections, against the real app and Redis."""

from __future__ import annotations

import csv
import io

import pytest

from bot.tickets import State, TransitionError
from bot.tickets.service import MatterMismatch
from tests.console_helpers import csrf_of, file_ticket, make_user, sign_in
from tests.test_api import token_for


async def two_reports(services):  # type: ignore[no-untyped-def]
    a = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔酒瓶砸到车", user="o_alice")
    b = await file_ticket(services, "high_altitude_throwing", "阳光小区5号楼", "又有人从楼上扔垃圾", user="o_bob")
    b.photos = ["media-b"]
    await services.store.tickets.save(b)
    return a, b


async def test_merge_moves_residents_texts_and_photos_and_closes_the_duplicate(services) -> None:
    a, b = await two_reports(services)
    merged = await services.tickets.merge(a.number, b.number, who="console:boss")
    assert merged.residents == ["o_alice", "o_bob"]
    assert merged.texts == ["楼上扔酒瓶砸到车", "又有人从楼上扔垃圾"] and merged.photos == ["media-1", "media-b"]
    assert merged.history[-1].action == "merged" and b.number in merged.history[-1].note
    dup = await services.tickets.get(b.number)
    assert dup.state == State.CLOSED and dup.merged_into == a.number
    assert dup.history[-1].action == "merged" and a.number in dup.history[-1].note and dup.history[-1].who == "console:boss"
    # Bob's status query now finds the ticket that is being handled.
    assert a.number in [t.number for t in await services.tickets.of_user("o_bob")]
    assert (await services.tickets.get(a.number)).state == State.OPEN

    with pytest.raises(TransitionError):  # the duplicate is closed now
        await services.tickets.merge(a.number, b.number, who="console:boss")
    with pytest.raises(ValueError):
        await services.tickets.merge(a.number, a.number, who="console:boss")
    with pytest.raises(LookupError):
        await services.tickets.merge(a.number, "WY20000101-0001", who="console:boss")


async def test_merging_different_matters_needs_a_confirmation(services) -> None:
    a = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔酒瓶")
    c = await file_ticket(services, "fire_lane_blocked", "阳光小区北门", "消防通道堵塞", user="o_carol")
    with pytest.raises(MatterMismatch):
        await services.tickets.merge(a.number, c.number, who="console:boss")
    assert (await services.tickets.get(c.number)).state == State.OPEN
    merged = await services.tickets.merge(a.number, c.number, who="console:boss", force=True)
    assert "o_carol" in merged.co_reporters


async def test_merge_in_the_console_for_admins_only(client, services) -> None:
    a, b = await two_reports(services)
    await make_user(services, "cop", "official", department="police")
    _, token = await sign_in(client, "cop")
    page = await (await client.get(f"/console/tickets/{a.number}")).text()
    assert "do-merge" not in page
    resp = await client.post(f"/console/tickets/{a.number}/merge", data={"duplicate": b.number, "_csrf": token}, allow_redirects=False)
    assert resp.status == 403 and (await services.tickets.get(b.number)).state == State.OPEN
    await client.post("/console/logout", data={"_csrf": token})

    await make_user(services, "boss", "admin")
    _, token = await sign_in(client, "boss")
    c = await file_ticket(services, "fire_lane_blocked", "阳光小区北门", "消防通道堵塞", user="o_carol")
    html = await (await client.post(f"/console/tickets/{a.number}/merge", data={"duplicate": c.number, "_csrf": token})).text()
    assert "事项不同" in html and (await services.tickets.get(c.number)).state == State.OPEN
    html = await (await client.post(f"/console/tickets/{a.number}/merge", data={"duplicate": b.number.lower(), "_csrf": token})).text()
    assert f"已把工单{b.number}并入本工单" in html and "又有人从楼上扔垃圾" in html and "合并工单" in html
    dup = await (await client.get(f"/console/tickets/{b.number}")).text()
    assert 'id="merged-into"' in dup and a.number in dup and "do-merge" not in dup
    html = await (await client.post(f"/console/tickets/{a.number}/merge", data={"duplicate": b.number, "_csrf": token})).text()
    assert "已关闭，不能合并" in html


async def test_merge_in_the_api(client, services) -> None:
    a, b = await two_reports(services)
    c = await file_ticket(services, "fire_lane_blocked", "阳光小区北门", "消防通道堵塞", user="o_carol")
    cop = await token_for(services, role="official", department="police")
    admin = await token_for(services, role="admin")
    url = f"/api/v1/tickets/{a.number}/merge"
    assert (await client.post(url, json={"duplicate": b.number}, headers=cop)).status == 403
    assert (await client.post(url, json={"duplicate": 5}, headers=admin)).status == 400
    assert (await client.post(url, json={"duplicate": "WY20000101-0001"}, headers=admin)).status == 404
    resp = await client.post(url, json={"duplicate": c.number}, headers=admin)
    assert resp.status == 409 and "事项不同" in (await resp.json())["error"]
    resp = await client.post(url, json={"duplicate": b.number}, headers=admin)
    body = await resp.json()
    assert resp.status == 200 and body["reporters"] == 2 and body["history"][-1]["action"] == "merged"
    dup = await (await client.get(f"/api/v1/tickets/{b.number}", headers=admin)).json()
    assert dup["state"] == State.CLOSED and dup["merged_into"] == a.number
    assert (await client.post(url, json={"duplicate": b.number}, headers=admin)).status == 409  # closed
    assert (await client.post(url, json={"duplicate": a.number}, headers=admin)).status == 422
    resp = await client.post(url, json={"duplicate": c.number, "force": True}, headers=admin)
    assert resp.status == 200 and (await resp.json())["reporters"] == 3


async def test_reroutes_are_recorded_shown_and_exported(client, services) -> None:
    t = await file_ticket(services, "theft", "幸福家园2号楼", "楼道里的电动车被人划了 电话13912345678")
    u = await file_ticket(services, "fire_lane_blocked", "阳光小区北门", "消防通道堵塞")
    await services.tickets.act(t.number, "return", who="official:police", note="不是盗窃，是损坏", department="police")
    await make_user(services, "boss", "admin")
    _, token = await sign_in(client, "boss")
    await client.post(f"/console/tickets/{t.number}/act", data={"action": "reroute", "to": "community", "note": "社区调解", "_csrf": token})
    admin = await token_for(services, user="boss")
    resp = await client.post(f"/api/v1/tickets/{u.number}/actions", json={"action": "reroute", "to": "police"}, headers=admin)
    assert resp.status == 200

    stored = await services.store.tickets.reroutes()
    assert [(r["ticket"], r["from"], r["to"], r["who"]) for r in stored] == [
        (u.number, "fire", "police", "api:boss"), (t.number, "police", "community", "console:boss")]
    assert "13912345678" not in stored[1]["words"] and "被人划了" in stored[1]["words"] and stored[1]["note"] == "社区调解"

    page = await client.get("/console/routing")
    html = await page.text()
    assert page.status == 200 and "被人划了" in html and "社区调解" in html and t.number in html
    assert 'id="m-high_altitude_throwing"' in html and "楼上扔东西" in html
    export = await client.get("/console/routing/reroutes.csv")
    rows = list(csv.reader(io.StringIO((await export.read()).decode("utf-8-sig"))))
    assert rows[0][:2] == ["时间", "工单编号"] and [r[1] for r in rows[1:]] == [u.number, t.number]
    assert rows[2][4:6] == ["县公安局", services.understander.knowledge.department["community"].name]
    await client.post("/console/logout", data={"_csrf": csrf_of(html)})

    await make_user(services, "ed", "editor")
    await sign_in(client, "ed")
    assert (await client.get("/console/routing")).status == 200
    await make_user(services, "cop", "official", department="police")
    await sign_in(client, "cop")
    assert (await client.get("/console/routing")).status == 403
    assert (await client.get("/console/routing/reroutes.csv")).status == 403
