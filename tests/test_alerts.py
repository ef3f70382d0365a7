"""Reaching officials, staff and residents: roles, routed alerts through a fake WeChat/WeCom
server, retries, the shared token and the customer-service quota."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest

from bot.app import SERVICES, make_app
from bot.roles import Role
from bot.store import Store, connect
from bot.testing import WechatSender
from bot.wxapi.clients import OfficialAccount
from tests.conftest import wait_for
from tests.test_conversation import Resident, ticket_number


async def file_complaint(resident: Resident, first: str, place: str = "阳光小区3号楼2单元") -> str:
    await resident.say(first)
    await resident.say(place)
    await resident.say("没有")
    await resident.say("13912345678")
    return ticket_number(await resident.say("1"))


async def test_police_alert_reaches_wecom_robot_within_a_second(aiohttp_client, wired, understander, fake, sender) -> None:
    client = await aiohttp_client(make_app(wired, understander))
    number = await file_complaint(Resident(client, sender), "楼上有人高空抛物 把花盆扔下来了 我电话13800001111")
    await wait_for(lambda: fake.of("robot:POLICE"), timeout=1.0)
    content = fake.of("robot:POLICE")[0]["markdown"]["content"]
    assert number in content and "高空抛物" in content and "阳光小区3号楼" in content and "办理时限" in content
    assert "花盆" in content  # what happened, in the resident's words ...
    assert "13912345678" not in content and "13800001111" not in content  # ... without their phone numbers


def test_redact_masks_phones_and_id_numbers() -> None:
    from bot.privacy import redact

    assert redact("电话13912345678，座机0917-5551234") == "电话139****5678，座机0917****1234"
    assert redact("身份证610323199001011234") == "身份证610323****1234"
    assert redact("3号楼2单元501室 共12户") == "3号楼2单元501室 共12户"


async def test_alerts_survive_an_outage_and_a_restart(aiohttp_client, wired, understander, fake, sender) -> None:
    fake.failing = True
    client = await aiohttp_client(make_app(wired, understander))
    numbers = [await file_complaint(Resident(client, sender), "楼上高空抛物", place=f"幸福里{i}号楼") for i in range(3)]
    await asyncio.sleep(0.3)  # the sender is retrying against the failing server
    assert fake.of("robot:POLICE") == []
    await client.close()  # the app dies with the alerts unacknowledged

    fake.failing = False
    client = await aiohttp_client(make_app(wired, understander))  # a new process takes over
    await wait_for(lambda: len(fake.of("robot:POLICE")) >= 3, timeout=10)
    delivered = [b["markdown"]["content"] for b in fake.of("robot:POLICE")]
    for number in numbers:
        assert sum(number in c for c in delivered) == 1


async def test_dead_letter_after_max_attempts(aiohttp_client, wired, understander, fake, sender) -> None:
    wired.outbox.max_attempts = 2
    fake.failing = True
    client = await aiohttp_client(make_app(wired, understander))
    services = client.server.app[SERVICES]
    await file_complaint(Resident(client, sender), "楼上高空抛物")
    for _ in range(100):
        if await services.outbox.dead_letters():
            break
        await asyncio.sleep(0.05)
    dead = await services.outbox.dead_letters()
    assert dead and dead[0]["alert"]["event"] == "opened" and "502" in dead[0]["error"]
    fake.failing = False
    assert await services.outbox.revive(0)
    await wait_for(lambda: fake.of("robot:POLICE"))


async def test_signed_webhook(aiohttp_client, wired, understander, fake, sender) -> None:
    client = await aiohttp_client(make_app(wired, understander))
    await file_complaint(Resident(client, sender), "消防通道被车堵死了", place="阳光小区1号楼")
    await wait_for(lambda: fake.of("hook"))
    hook = fake.of("hook")[0]
    body, headers = hook["body"].encode(), hook["headers"]
    expected = hmac.new(b"s3cret", headers["X-Wuye-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Wuye-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["department"] == "fire" and "residents" not in payload


async def test_two_processes_share_one_token(wired, fake) -> None:
    async def one_process() -> list[None]:
        import aiohttp

        redis = connect(url=wired.redis.url)
        async with aiohttp.ClientSession() as session:
            oa = OfficialAccount(session, Store(redis, wired.redis.key_prefix), api_base=fake.base, app_id="wx1", app_secret="s")
            await asyncio.gather(*(oa.send_text(f"o_{i}", "你好") for i in range(5)))
        await redis.aclose()
        return []

    await asyncio.gather(one_process(), one_process())
    assert fake.token_fetches == 1 and fake.max_concurrent_fetches == 1
    assert len(fake.of("custom")) == 10

    fake.expire_tokens()  # WeChat expired it early: 40001 → one refresh, one retry
    await one_process()
    assert fake.token_fetches == 2 and len(fake.of("custom")) == 15


async def test_staff_report_official_commands_and_resident_updates(aiohttp_client, wired, understander, fake, sender) -> None:
    client = await aiohttp_client(make_app(wired, understander))
    services = client.server.app[SERVICES]
    code = await services.roles.invite(Role(kind="staff", company="安泰物业", compounds=["阳光小区"]))
    staff = Resident(client, sender)
    assert "安泰物业" in await staff.say(f"绑定 {code}")
    assert "绑定码无效" in await Resident(client, sender).say(f"绑定 {code}")  # one use only

    reply = await staff.say("5号楼楼道有人飞线充电 电线从窗户拉下来")
    assert "县消防救援大队" in reply
    assert "劝阻" in await staff.photo("media-wire")
    assert "回复1确认" in await staff.say("已劝阻无效")
    number = ticket_number(await staff.say("1"))
    ticket = await services.tickets.get(number)
    assert ticket.source == "property" and ticket.company == "安泰物业" and ticket.photos == ["media-wire"]
    await wait_for(lambda: fake.of("robot:FIRE"))
    alert = fake.of("robot:FIRE")[0]["markdown"]["content"]
    assert "安泰物业" in alert and staff.user not in alert

    official = Resident(client, sender)
    official_code = await services.roles.invite(Role(kind="official", department="fire"))
    assert "县消防救援大队" in await official.say(f"绑定 {official_code}")
    assert number in await official.say("我的待办")
    assert "已受理" in await official.say(f"受理 {number}")
    assert "已办结" in await official.say(f"办结 {number} 已拆除飞线并约谈住户")

    police = Resident(client, sender)
    police_code = await services.roles.invite(Role(kind="official", department="police"))
    await police.say(f"绑定 {police_code}")
    assert "不属于本单位" in await police.say(f"退回 {number} 不归我们管")

    # The reporter is told through customer-service messages, within the quota.
    await wait_for(lambda: any("已办结" in b["text"]["content"] for b in fake.of("custom") if b["touser"] == staff.user))


async def test_quota_spent_falls_back_to_notice(aiohttp_client, wired, understander, fake, sender) -> None:
    wired.wechat.notice_template_id = "TPL-NOTICE"
    wired.wechat.cs_quota = 1
    client = await aiohttp_client(make_app(wired, understander))
    services = client.server.app[SERVICES]
    alice = Resident(client, sender)
    number = await file_complaint(alice, "有人在小区里私搭乱建")
    await services.tickets.act(number, "accept", who="official:urban_mgmt")
    await services.tickets.act(number, "reply", who="official:urban_mgmt", note="已到现场查看")
    await wait_for(lambda: len(fake.of("custom")) + len(fake.of("notice")) >= 2)
    assert len(fake.of("custom")) == 1 and len(fake.of("notice")) == 1

    fake.quota_errors.add(alice.user)  # WeChat says 45015 even though our ledger allows it
    await alice.say("好的")
    await services.tickets.act(number, "resolve", who="official:urban_mgmt", note="已拆除")
    await wait_for(lambda: len(fake.of("notice")) >= 2)


async def test_late_reply_goes_out_as_customer_service_message(aiohttp_client, wired, understander, fake) -> None:
    wired.wechat.reply_budget = 0.1
    client = await aiohttp_client(make_app(wired, understander))
    services = client.server.app[SERVICES]
    original = services.engine._dispatch  # the handling proper, after de-duplication

    async def slow(message, *args):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)
        return await original(message, *args)

    services.engine._dispatch = slow
    sender = WechatSender("wuye-test-token", wired.wechat.encoding_aes_key.get_secret_value(), wired.wechat.app_id)
    alice = Resident(client, sender)
    assert await alice.say("物业费不交会怎样") == ""
    await wait_for(lambda: any("催告" in b["text"]["content"] for b in fake.of("custom")))
