"""The web console through aiohttp's test client against the real app and a real Redis."""

from __future__ import annotations

import asyncio
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from bot.app import SERVICES, make_app
from bot.console.accounts import MAX_FAILURES
from bot.tickets import State
from tests.conftest import wait_for
from tests.console_helpers import PASSWORD, csrf_of, file_ticket, make_user, sign_in
from tests.test_conversation import Resident, ticket_number


async def test_sign_in_ok_bad_password_and_sign_out(client, services) -> None:
    await make_user(services, "boss", "admin", name="王主任")
    resp = await client.get("/console/tickets", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/login")

    bad, _ = await sign_in(client, "boss", "wrong password")
    assert bad.status == 401 and "用户名或密码错误" in await bad.text()
    unknown, _ = await sign_in(client, "nobody", PASSWORD)
    assert unknown.status == 401

    ok, token = await sign_in(client, "boss")
    assert ok.status == 303 and ok.headers["Location"] == "/console/tickets"
    page = await client.get("/console/tickets")
    assert page.status == 200 and "王主任" in await page.text()
    stored = await services.store.redis.keys(services.store.keys.console_session("*"))
    assert stored, "sessions live in Redis under the app's prefix"

    out = await client.post("/console/logout", data={"_csrf": token}, allow_redirects=False)
    assert out.status == 303
    again = await client.get("/console/tickets", allow_redirects=False)
    assert again.status == 303 and "/console/login" in again.headers["Location"]


async def test_lockout_after_five_failures_even_with_the_right_password(client, services) -> None:
    await make_user(services, "clerk", "official", department="police")
    for _ in range(MAX_FAILURES - 1):
        resp, _ = await sign_in(client, "clerk", "nope-nope")
        assert resp.status == 401
    resp, _ = await sign_in(client, "clerk", "nope-nope")
    assert resp.status == 429 and "锁定" in await resp.text()
    resp, _ = await sign_in(client, "clerk")  # the right password, inside the window
    assert resp.status == 429
    ttl = await services.store.redis.ttl(services.store.keys.console_failures("clerk"))
    assert 14 * 60 < ttl <= 15 * 60
    await services.store.console.clear_failures("clerk")  # the window passing, as an administrator would wait it out
    resp, _ = await sign_in(client, "clerk")
    assert resp.status == 303


async def test_post_without_csrf_token_is_refused(client, services) -> None:
    await make_user(services, "boss", "admin")
    ticket = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔垃圾砸到车")
    page = await client.get("/console/login")
    resp = await client.post("/console/login", data={"username": "boss", "password": PASSWORD}, allow_redirects=False)
    assert resp.status == 403
    _, token = await sign_in(client, "boss")
    for data in ({"action": "accept"}, {"action": "accept", "_csrf": "forged"}):
        resp = await client.post(f"/console/tickets/{ticket.number}/act", data=data, allow_redirects=False)
        assert resp.status == 403
    assert (await services.tickets.get(ticket.number)).state == State.OPEN
    resp = await client.post("/console/logout", allow_redirects=False)
    assert resp.status == 403
    assert page.status == 200


async def test_official_of_fire_cannot_see_or_act_on_a_police_ticket(client, sender, services) -> None:
    alice = Resident(client, sender)
    await alice.say("楼上老有人高空抛物 今天差点砸到我孩子")
    await alice.say("阳光小区3号楼2单元")
    await alice.photo("media-abc")
    await alice.say("13912345678")
    number = ticket_number(await alice.say("1"))
    fire_ticket = await file_ticket(services, "fire_lane_blocked", "幸福家园", "消防通道被车堵死了")

    await make_user(services, "firefighter", "official", department="fire")
    _, token = await sign_in(client, "firefighter")
    assert (await client.get(f"/console/tickets/{number}")).status == 404
    resp = await client.post(f"/console/tickets/{number}/act", data={"action": "accept", "_csrf": token}, allow_redirects=False)
    assert resp.status in (403, 404)
    assert (await services.tickets.get(number)).state == State.OPEN
    ledger = await (await client.get("/console/tickets")).text()
    assert fire_ticket.number in ledger and number not in ledger
    export = await client.get("/console/tickets/export.csv")
    assert number not in (await export.read()).decode("utf-8-sig")

    # The police see it, with the whole history: messages, photo media id, phone.
    await client.post("/console/logout", data={"_csrf": token})
    await make_user(services, "cop", "official", department="police")
    await sign_in(client, "cop")
    page = await client.get(f"/console/tickets/{number}")
    html = await page.text()
    assert page.status == 200 and "media-abc" in html and "阳光小区3号楼2单元" in html and "13912345678" in html
    assert "高空抛物" in html and "派发" in html


async def test_accept_reply_then_resolve_moves_the_ticket(client, services) -> None:
    ticket = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔垃圾砸到车")
    await make_user(services, "cop", "official", department="police")
    _, token = await sign_in(client, "cop")
    url = f"/console/tickets/{ticket.number}"
    assert "do-resolve" not in await (await client.get(url)).text()  # not before it is accepted

    resp = await client.post(f"{url}/act", data={"action": "accept", "_csrf": token})
    html = await resp.text()
    assert resp.status == 200 and "已受理" in html and "已受理，工单状态" in html
    assert (await services.tickets.get(ticket.number)).state == State.ACCEPTED

    resp = await client.post(f"{url}/act", data={"action": "reply", "note": "民警已上门", "_csrf": token})
    assert (await services.tickets.get(ticket.number)).state == State.IN_PROGRESS

    resp = await client.post(f"{url}/act", data={"action": "resolve", "note": "", "_csrf": token})
    assert "办结时请写明处理结果" in await resp.text()
    resp = await client.post(f"{url}/act", data={"action": "resolve", "note": "已约谈住户", "_csrf": token})
    done = await services.tickets.get(ticket.number)
    assert done.state == State.RESOLVED
    assert [(e.action, e.who) for e in done.history[-3:]] == [
        ("accepted", "console:cop"), ("replied", "console:cop"), ("resolved", "console:cop")]
    html = await resp.text()
    assert "已约谈住户" in html and "控制台：cop" in html


async def test_return_and_admin_reroute(client, services) -> None:
    ticket = await file_ticket(services, "fire_lane_blocked", "幸福家园", "消防通道被车堵死了")
    await make_user(services, "fireman", "official", department="fire")
    await make_user(services, "boss", "admin")
    _, token = await sign_in(client, "fireman")
    url = f"/console/tickets/{ticket.number}"
    assert "do-reroute" not in await (await client.get(url)).text()  # officials cannot reroute
    resp = await client.post(f"{url}/act", data={"action": "reroute", "to": "police", "_csrf": token})
    assert resp.status == 200 and (await services.tickets.get(ticket.number)).department == "fire"
    await client.post(f"{url}/act", data={"action": "return", "note": "车辆乱停应由公安处理", "_csrf": token})
    assert (await services.tickets.get(ticket.number)).state == State.RETURNED

    await client.post("/console/logout", data={"_csrf": token})
    _, token = await sign_in(client, "boss")
    assert "do-reroute" in await (await client.get(url)).text()
    await client.post(f"{url}/act", data={"action": "reroute", "to": "police", "_csrf": token})
    moved = await services.tickets.get(ticket.number)
    assert moved.department == "police" and moved.state == State.OPEN


async def test_ledger_filters_search_overdue_and_pagination(client, services) -> None:
    a = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔酒瓶")
    b = await file_ticket(services, "illegal_construction", "幸福家园5号楼", "楼顶加盖房子")
    c = await file_ticket(services, "fire_lane_blocked", "阳光小区北门", "消防通道堵塞")
    await services.tickets.act(b.number, "accept", who="official:urban_mgmt")
    # c is overdue: its deadline moved into the past.
    late = await services.tickets.get(c.number)
    late.deadline = late.deadline.replace(year=late.deadline.year - 1)
    await services.store.tickets.save(late)
    await make_user(services, "boss", "admin")
    await sign_in(client, "boss")

    async def shown(**query: str) -> set[str]:
        html = await (await client.get("/console/tickets", params=query)).text()
        return set(re.findall(r'href="/console/tickets/(WY\d{8}-\d{4})"', html)) & {a.number, b.number, c.number}

    assert await shown() == {a.number, b.number, c.number}
    assert await shown(state="已受理") == {b.number}
    assert await shown(department="police") == {a.number}
    assert await shown(matter="illegal_construction") == {b.number}
    assert await shown(place="阳光小区") == {a.number, c.number}
    assert await shown(overdue="1") == {c.number}
    assert await shown(q=a.number) == {a.number}
    assert await shown(q="加盖") == {b.number}
    today = a.created.date().isoformat()
    assert await shown(since=today, until=today) == {a.number, b.number, c.number}
    assert await shown(until="2000-01-01") == set()
    html = await (await client.get("/console/tickets", params={"overdue": "1"})).text()
    assert re.search(r'class="late".*?超期\d+天', html, re.S)
    assert re.search(r"剩余\d+天", await (await client.get("/console/tickets", params={"q": a.number})).text())

    for i in range(21):
        await file_ticket(services, "cleaning", f"花园小区{i}号楼", "垃圾没人清运")
    first = await (await client.get("/console/tickets")).text()
    assert "第 1 / 2 页" in first and 'href="/console/tickets?page=2"' in first
    second = await (await client.get("/console/tickets", params={"page": "2"})).text()
    assert len(re.findall(r'href="/console/tickets/WY', second)) == 24 - 20


async def test_staff_see_their_company_tickets_only_and_cannot_act(client, services) -> None:
    ours = await file_ticket(services, "ebike_flying_wire", "阳光小区", "有人飞线充电劝阻无效", source="property", company="安居物业")
    theirs = await file_ticket(services, "ebike_flying_wire", "幸福家园", "飞线充电", source="property", company="别家物业")
    await make_user(services, "anju", "staff", company="安居物业")
    _, token = await sign_in(client, "anju")
    html = await (await client.get("/console/tickets")).text()
    assert ours.number in html and theirs.number not in html
    page = await (await client.get(f"/console/tickets/{ours.number}")).text()
    assert "do-accept" not in page and "13912345678" not in page
    resp = await client.post(f"/console/tickets/{ours.number}/act", data={"action": "accept", "_csrf": token})
    assert resp.status == 403
    assert (await client.get(f"/console/tickets/{theirs.number}")).status == 404


async def test_excel_and_csv_exports_follow_the_filters(client, services) -> None:
    a = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "=HYPERLINK(\"http://x\")楼上扔酒瓶")
    b = await file_ticket(services, "illegal_construction", "幸福家园5号楼", "楼顶加盖房子")
    await make_user(services, "boss", "admin")
    await sign_in(client, "boss")
    resp = await client.get("/console/tickets/export.xlsx", params={"department": "police"})
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["工单编号", "派发时间", "事项"]
    assert [r[0] for r in values[1:]] == [a.number]
    assert values[1][2] == "高空抛物" and values[1][3] == "县公安局" and values[1][5] == "待受理"
    assert values[1][10].startswith("=HYPERLINK") and sheet.cell(2, 11).data_type == "s"  # text, not a formula
    assert values[1][7].startswith("剩余")

    text = (await (await client.get("/console/tickets/export.csv", params={"q": "加盖"})).read()).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("工单编号,") and len(lines) == 2 and lines[1].startswith(b.number)


async def test_dead_letter_list_and_retry_delivers(aiohttp_client, wired, understander, fake, sender) -> None:
    wired.outbox.max_attempts = 2
    fake.failing = True
    client = await aiohttp_client(make_app(wired, understander))
    services = client.server.app[SERVICES]
    ticket = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔酒瓶")
    for _ in range(200):
        if await services.outbox.dead_letters():
            break
        await asyncio.sleep(0.05)
    await services.outbox.bury({"id": "other:1", "event": "opened", "ticket": "WY20250101-0002", "department": "fire"}, "timeout")
    await make_user(services, "cop", "official", department="police")
    await make_user(services, "boss", "admin")
    await sign_in(client, "cop")
    assert (await client.get("/console/alerts")).status == 403

    client.session.cookie_jar.clear()
    _, token = await sign_in(client, "boss")
    html = await (await client.get("/console/alerts")).text()
    assert ticket.number in html and "502" in html and "timeout" in html
    first_id = (await services.outbox.dead_letters())[0]["alert"]["id"]
    # A stale button (that id is no longer at that index) retries nothing.
    await client.post("/console/alerts/retry", data={"index": "1", "id": first_id, "_csrf": token})
    assert len(await services.outbox.dead_letters()) == 2
    fake.failing = False
    resp = await client.post("/console/alerts/retry", data={"index": "0", "id": first_id, "_csrf": token})
    assert "已重新放入发送队列" in await resp.text()
    assert [d["alert"]["id"] for d in await services.outbox.dead_letters()] == ["other:1"]
    await wait_for(lambda: any(ticket.number in b["markdown"]["content"] for b in fake.of("robot:POLICE")))


async def test_editor_sees_no_tickets(client, services) -> None:
    await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔酒瓶")
    await make_user(services, "writer", "editor")
    await sign_in(client, "writer")
    assert (await client.get("/console/tickets")).status == 403
    assert (await client.get("/console/tickets/export.xlsx")).status == 403


async def test_sign_in_redirects_back_but_never_off_site(client, services) -> None:
    await make_user(services, "boss", "admin")
    resp = await client.get("/console/alerts", allow_redirects=False)
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/console/login" and parse_qs(location.query)["next"] == ["/console/alerts"]
    page = await client.get(resp.headers["Location"])
    token = csrf_of(await page.text())
    for target, expected in (("/console/alerts", "/console/alerts"), ("https://evil.example/", "/console/tickets"),
                             ("//evil.example/console/", "/console/tickets")):
        client.session.cookie_jar.clear()
        page = await client.get("/console/login")
        token = csrf_of(await page.text())
        resp = await client.post("/console/login", data={"username": "boss", "password": PASSWORD, "_csrf": token, "next": target},
                                 allow_redirects=False)
        assert resp.headers["Location"] == expected


@pytest.mark.parametrize("kind,scope", [("official", {"department": "nowhere"}), ("staff", {})])
async def test_accounts_need_a_valid_scope(services, kind: str, scope: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        await make_user(services, "x1", kind, **scope)


def test_cli_create_user_reads_the_password_from_stdin(tmp_path, redis_server) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {**os.environ, "WUYE_REDIS__URL": redis_server, "WUYE_REDIS__KEY_PREFIX": "cli-console:",
           "WUYE_SERVER__DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "bot", "admin", "create-user", "chief", "--role", "official",
                          "--department", "police", "--password-stdin"], input="s3cret-pass\n", capture_output=True,
                         text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "chief" in run.stdout and "s3cret-pass" not in run.stdout + run.stderr
    again = subprocess.run([sys.executable, "-m", "bot", "admin", "create-user", "chief", "--role", "admin",
                            "--password-stdin"], input="s3cret-pass\n", capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 2 and "已存在" in again.stderr

    import redis

    r = redis.Redis.from_url(redis_server, decode_responses=True)
    stored = json.loads(r.get("cli-console:console:user:chief"))
    assert stored["kind"] == "official" and stored["department"] == "police"
    assert stored["password_hash"].startswith("$argon2") and "s3cret-pass" not in json.dumps(stored)


async def test_dashboard_counts_rates_and_svg_charts(client, services) -> None:
    from bot.roles import Role

    a = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔酒瓶")
    b = await file_ticket(services, "illegal_construction", "幸福家园5号楼", "楼顶加盖房子")
    await file_ticket(services, "fire_lane_blocked", "阳光小区北门", "消防通道堵塞")
    await file_ticket(services, "cleaning", "阳光小区2号楼", "楼道垃圾三天没人清", user="o_other")
    for number, dept in ((a.number, "police"), (b.number, "urban_mgmt")):
        await services.tickets.act(number, "accept", who=f"official:{dept}")
        await services.tickets.act(number, "resolve", who=f"official:{dept}", note="已处理")
    await services.tickets.rate(a.number, a.user, "满意")
    # 安泰物业's staff serve 阳光小区: the cleaning ticket there is a valid complaint against it.
    code = await services.roles.invite(Role(kind="staff", company="安泰物业", compounds=["阳光小区"]))
    await services.roles.bind("o_staff", code)
    await make_user(services, "boss", "admin")
    await sign_in(client, "boss")
    html = await (await client.get("/console/dashboard")).text()
    assert re.search(r'id="kpi-total">4<', html) and 'id="kpi-resolution">50%<' in html and 'id="kpi-satisfaction">100%<' in html
    assert 'id="kpi-response">100%<' in html and 'id="kpi-returned">0%<' in html and 'id="kpi-ontime">100%<' in html
    assert html.count("<svg") == 4 and "县公安局" in html and "阳光小区" in html
    assert "去年同期无投诉数据" in html  # nothing filed last year
    board = html[html.index('id="board"'):]
    assert re.search(r"<td>1</td><td>安泰物业</td><td>1</td>", board)
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing is fetched from elsewhere"


async def test_anonymous_sessions_are_short_lived(client, services) -> None:  # type: ignore[no-untyped-def]
    """The sign-in page's CSRF session lasts minutes; a signed-in session lasts the working day."""
    from bot.console.session import ANONYMOUS_AGE, MAX_AGE

    redis, pattern = services.store.redis, services.store.keys.console_session("*")
    await client.get("/console/login")
    (anonymous,) = await redis.keys(pattern)
    assert 0 < await redis.ttl(anonymous) <= ANONYMOUS_AGE

    await make_user(services, "boss", "admin")
    ok, _ = await sign_in(client, "boss")
    assert ok.status == 303
    ttls = [await redis.ttl(k) for k in await redis.keys(pattern)]
    assert any(ANONYMOUS_AGE < t <= MAX_AGE for t in ttls)
