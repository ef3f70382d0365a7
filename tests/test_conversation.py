"""Whole conversations through the real /wechat endpoint (safe mode, real Redis)."""

from __future__ import annotations

import asyncio
import re

from bot.app import SERVICES, make_app
from bot.testing import WechatSender, next_msg_id, text_xml, xml_of
from bot.tickets import State


class Resident:
    """One resident talking to the door, the way WeChat would deliver their messages."""

    def __init__(self, client, sender: WechatSender, user: str | None = None) -> None:  # type: ignore[no-untyped-def]
        self.client, self.sender = client, sender
        self.user = user or f"o_{next_msg_id()}"

    async def push(self, xml: str) -> str:
        query, body = self.sender.push(xml, "safe")
        resp = await self.client.post("/wechat", params=query, data=body)
        assert resp.status == 200, await resp.text()
        return self.sender.read_reply(await resp.text()).get("Content", "")

    async def say(self, text: str) -> str:
        return await self.push(text_xml(text, user=self.user))

    async def photo(self, media_id: str) -> str:
        return await self.push(xml_of({"MsgType": "image", "PicUrl": "http://p/x.jpg", "MediaId": media_id, "MsgId": str(next_msg_id())}, user=self.user))


def ticket_number(text: str) -> str:
    m = re.search(r"WY\d{8}-\d{4}", text)
    assert m, text
    return m.group(0)


async def test_complaint_to_ticket_status_official_action_and_reopen(client, sender, services) -> None:
    alice = Resident(client, sender)
    reply = await alice.say("楼上老有人高空抛物 今天差点砸到我孩子")
    assert "高空抛物" in reply and "县公安局" in reply and "哪个小区" in reply
    reply = await alice.say("阳光小区3号楼2单元")
    assert "拍照" in reply
    reply = await alice.photo("media-abc")
    assert "联系电话" in reply
    reply = await alice.say("13912345678")
    assert "139****5678" in reply and "13912345678" not in reply and "回复1确认" in reply
    reply = await alice.say("1")
    number = ticket_number(reply)
    assert "县公安局" in reply and "办理时限" in reply

    ticket = await services.tickets.get(number)
    assert ticket.department == "police" and ticket.matter == "high_altitude_throwing"
    assert ticket.photos == ["media-abc"] and ticket.place == "阳光小区3号楼2单元"
    assert ticket.contact == "13912345678" and ticket.deadline > ticket.dispatched

    status = await alice.say("我的投诉到哪了")
    assert number in status and "待受理" in status

    await services.tickets.act(number, "accept", who="official:police", department="police")
    await services.tickets.act(number, "resolve", who="official:police", department="police", note="已调取监控并约谈住户")
    status = await alice.say(f"查询 {number}")
    assert "已办结" in status and "约谈住户" in status

    reply = await alice.say("未解决")
    assert "重新交办" in reply
    assert (await services.tickets.get(number)).state == State.REOPENED


async def test_another_resident_never_sees_the_ticket(client, sender, services) -> None:
    alice, bob = Resident(client, sender), Resident(client, sender)
    await alice.say("小区里有人私搭乱建 在楼顶加盖房子")
    await alice.say("幸福家园5号楼")
    for answer in ("没有", "微信联系"):
        await alice.say(answer)
    number = ticket_number(await alice.say("1"))
    assert number not in await bob.say("我的投诉到哪了")
    assert "没有找到" in await bob.say(f"查询{number}")


async def test_correcting_the_matter(client, sender, services) -> None:
    alice = Resident(client, sender)
    first = await alice.say("楼道里堆满了杂物还停着电动车在充电")
    assert "将转交" in first
    options = await alice.say("不是这个")
    assert "1." in options
    chosen = await alice.say("1")
    assert "将转交" in chosen
    state = await services.store.conversations.load(alice.user)
    assert state["draft"]["matter"] != "" and state["step"] == "draft"


async def test_cancel_leaves_nothing(client, sender, services) -> None:
    alice = Resident(client, sender)
    await alice.say("物业乱收停车费 一个月要三百")
    assert "已取消" in await alice.say("算了")
    assert await services.store.conversations.load(alice.user) == {}
    assert await services.tickets.of_user(alice.user) == []


async def test_abandoned_draft_expires(aiohttp_client, settings, understander, sender) -> None:
    settings.dialogue.draft_ttl = 1
    client = await aiohttp_client(make_app(settings, understander))
    services = client.server.app[SERVICES]
    alice = Resident(client, sender)
    await alice.say("小区广场舞音响太吵了 每天晚上十点还在跳")
    await asyncio.sleep(1.5)
    assert await services.store.conversations.load(alice.user) == {}
    reply = await alice.say("1")  # the draft is gone: "1" is read afresh, no ticket appears
    assert "工单号" not in reply
    assert await services.tickets.of_user(alice.user) == []


async def test_repair_needs_no_confirmation(client, sender, services) -> None:
    alice = Resident(client, sender)
    reply = await alice.say("3号楼2单元楼道灯坏了好几天了")
    assert "物业" in reply
    reply = await alice.say("没有")  # no photo
    reply = await alice.say("微信联系")
    number = ticket_number(reply)
    assert (await services.tickets.get(number)).department == "property_company"


async def test_emergency_inside_a_draft_still_gets_the_number(client, sender) -> None:
    alice = Resident(client, sender)
    await alice.say("楼道被杂物堵了 消防通道也堵死了")
    reply = await alice.say("不好了 电梯里困人了 有人被关在里面")
    assert reply.startswith("紧急情况！请立即拨打 96333")


async def test_duplicate_reports_merge(client, sender, services) -> None:
    async def report(resident: Resident) -> str:
        await resident.say("有人在小区绿地里毁绿种菜")
        await resident.say("阳光小区7号楼")
        await resident.say("没有")
        await resident.say("微信联系")
        return await resident.say("1")

    first = await report(Resident(client, sender))
    second = await report(Resident(client, sender))
    assert "已有居民反映" in second
    assert ticket_number(first) == ticket_number(second)


async def test_restart_keeps_the_conversation(aiohttp_client, settings, understander, sender, tmp_path) -> None:
    """The embedded Redis (AOF) keeps a half-written draft across a restart of the app."""
    settings.redis.url = ""
    settings.server.data_dir = tmp_path / "embedded"
    app = make_app(settings, understander)
    client = await aiohttp_client(app)
    alice = Resident(client, sender, user="o_restart")
    assert "哪个小区" in await alice.say("楼上扔东西下来 砸坏了我的车")
    await client.close()

    client = await aiohttp_client(make_app(settings, understander))
    alice = Resident(client, sender, user="o_restart")
    assert "拍照" in await alice.say("阳光小区3号楼")
    await client.close()


async def test_a_report_only_the_models_understood_is_confirmed_then_drafted(client, sender, services) -> None:
    """No phrase of any matter ("道闸杆子抬不起来"): the bot offers the models' likeliest matters
    as numbered options instead of opening a ticket on a guess; choosing one starts its draft."""
    alice = Resident(client, sender)
    options = await alice.say("大门的道闸杆子抬不起来了 车都堵在外头")
    assert "1." in options and "都不是" in options and "将转交" not in options
    assert await services.tickets.of_user(alice.user) == []
    chosen = await alice.say("1")
    assert "「门禁、单元门、道闸」" in chosen and "将转交" in chosen
    state = await services.store.conversations.load(alice.user)
    assert state["step"] == "draft" and state["draft"]["matter"] == "access_gate"
