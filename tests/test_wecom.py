"""The WeCom door through real HTTP and real Redis, with pushes built by wechatpy's WeCom crypto;
officials and staff acting from WeCom; admin codes from the CLI; knowledge reload."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot import cli
from bot.app import SERVICES, make_app
from bot.config import AlertChannels
from bot.roles import Role
from bot.testing import WecomSender, next_msg_id, text_xml, xml_of
from tests.conftest import AES_KEY
from tests.conftest import wait_for
from tests.test_conversation import Resident, ticket_number

CORP_ID = "ww_corp"
WECOM_TOKEN = "wecom-token"


@pytest.fixture
def wecom_settings(wired):  # type: ignore[no-untyped-def]  # noqa: F811
    wired.wecom.token = SecretStr(WECOM_TOKEN)
    wired.wecom.encoding_aes_key = SecretStr(AES_KEY)
    wired.wecom.corp_id = CORP_ID
    return wired


@pytest.fixture
def wecom() -> WecomSender:
    return WecomSender(WECOM_TOKEN, AES_KEY, CORP_ID)


@pytest.fixture
async def wclient(aiohttp_client, wecom_settings, understander):  # type: ignore[no-untyped-def]
    return await aiohttp_client(make_app(wecom_settings, understander))


class WecomUser:
    def __init__(self, client, sender: WecomSender, user: str) -> None:  # type: ignore[no-untyped-def]
        self.client, self.sender, self.user = client, sender, user

    async def push(self, xml: str) -> tuple[int, dict[str, str]]:
        query, body = self.sender.push(xml)
        resp = await self.client.post("/wecom", params=query, data=body)
        text = await resp.text()
        return resp.status, (self.sender.read_reply(text) if resp.status == 200 else {"error": text})

    async def say(self, text: str) -> str:
        status, reply = await self.push(text_xml(text, user=self.user, account=CORP_ID))
        assert status == 200, reply
        return reply.get("Content", "")


async def test_url_verification_returns_decrypted_echostr(wclient, wecom: WecomSender) -> None:
    resp = await wclient.get("/wecom", params=wecom.verify_query("1288432023552776189"))
    assert resp.status == 200 and await resp.text() == "1288432023552776189"


async def test_url_verification_refuses_a_bad_signature(wclient, wecom: WecomSender) -> None:
    query = wecom.verify_query()
    query["nonce"] = "n2"  # signed over another nonce
    resp = await wclient.get("/wecom", params=query)
    assert resp.status == 403


async def test_text_gets_encrypted_reply_with_ids_swapped(wclient, wecom: WecomSender) -> None:
    status, reply = await WecomUser(wclient, wecom, "zhangsan").push(text_xml("你好", user="zhangsan", account=CORP_ID))
    assert status == 200
    assert reply["ToUserName"] == "zhangsan" and reply["FromUserName"] == CORP_ID and "您好" in reply["Content"]


async def test_bad_pushes_are_refused(wclient, wecom: WecomSender) -> None:
    query, body = wecom.push(text_xml("你好", user="zhangsan"))
    forged = {**query, "msg_signature": "0" * 40}
    assert (await wclient.post("/wecom", params=forged, data=body)).status == 403
    other_corp = WecomSender(WECOM_TOKEN, AES_KEY, "ww_other")
    query, body = other_corp.push(text_xml("你好", user="zhangsan"))
    assert (await wclient.post("/wecom", params=query, data=body)).status == 403
    stale_query, body = wecom.push(text_xml("你好"), timestamp=1409659589)
    assert (await wclient.post("/wecom", params=stale_query, data=body)).status == 403
    query, _ = wecom.push(text_xml("你好"))
    assert (await wclient.post("/wecom", params=query, data="<xml><Encrypt>")).status == 400


async def test_retried_delivery_is_handled_once(wclient, wecom: WecomSender) -> None:
    services = wclient.server.app[SERVICES]
    xml = text_xml("楼上有人高空抛物", user="lisi", account=CORP_ID, msg_id=next_msg_id())
    replies = []
    for _ in range(3):  # WeCom retries with the same MsgId (each delivery freshly signed)
        query, body = wecom.push(xml)
        resp = await wclient.post("/wecom", params=query, data=body)
        replies.append(wecom.read_reply(await resp.text())["Content"])
    assert len(set(replies)) == 1 and "高空抛物" in replies[0]
    state = await services.store.conversations.load("wecom:lisi")
    assert state["draft"]["texts"] == ["楼上有人高空抛物"]  # the handler ran once


async def test_silent_event_answers_empty_body(wclient, wecom: WecomSender) -> None:
    query, body = wecom.push(xml_of({"MsgType": "event", "Event": "enter_agent", "AgentID": "1000002"}, user="zhangsan"))
    resp = await wclient.post("/wecom", params=query, data=body)
    assert resp.status == 200


async def test_official_on_wecom_acts_and_staff_on_wecom_hears_back(wclient, wecom: WecomSender, fake, sender) -> None:  # type: ignore[no-untyped-def]
    services = wclient.server.app[SERVICES]
    staff = WecomUser(wclient, wecom, "wang_wuye")
    code = await services.roles.invite(Role(kind="staff", company="安泰物业", compounds=["阳光小区"]))
    assert "安泰物业" in await staff.say(f"绑定 {code}")
    await staff.say("阳光小区5号楼楼道有人飞线充电")
    await staff.say("已劝阻无效")
    number = ticket_number(await staff.say("1"))
    assert (await services.tickets.get(number)).residents == ["wecom:wang_wuye"]

    official = WecomUser(wclient, wecom, "fire_zhao")
    code = await services.roles.invite(Role(kind="official", department="fire"))
    assert "县消防救援大队" in await official.say(f"绑定 {code}")
    assert number in await official.say("我的待办")
    assert "已受理" in await official.say(f"受理 {number}")
    assert "已办结" in await official.say(f"办结 {number} 飞线已拆除")
    # The reporter hears back as a WeCom application message, not through the Official Account.
    await wait_for(lambda: any(number in m["text"]["content"] and m["touser"] == "wang_wuye" for m in fake.of("wecom_app")))
    assert not [m for m in fake.of("custom") if m["touser"].startswith("wecom")]


async def test_no_wecom_door_without_its_keys(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/wecom")).status == 404


def test_admin_cli_issues_codes_that_bind_once(settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WUYE_REDIS__URL", settings.redis.url)
    monkeypatch.setenv("WUYE_REDIS__KEY_PREFIX", settings.redis.key_prefix)
    assert cli.main(["admin", "invite", "--role", "official", "--department", "police", "--name", "派出所王警官"]) == 0
    code = capsys.readouterr().out.split()[1]
    assert code.isdigit() and len(code) == 6
    assert cli.main(["admin", "invite", "--role", "official", "--department", "nope"]) == 2
    assert "nope" in capsys.readouterr().err

    async def bind_twice() -> tuple[Role | None, Role | None]:
        from bot.app import running

        async with running(settings) as services:
            return await services.roles.bind("o_wang", code), await services.roles.bind("o_li", code)

    first, second = asyncio.run(bind_twice())
    assert first is not None and first.department == "police" and second is None
    assert cli.main(["admin", "list"]) == 0
    assert "o_wang\tofficial\tpolice" in capsys.readouterr().out
    assert cli.main(["admin", "revoke", "o_wang"]) == 0
    assert cli.main(["admin", "list"]) == 0
    assert "o_wang" not in capsys.readouterr().out


async def test_knowledge_reloads_without_restart(aiohttp_client, settings, tmp_path: Path, sender) -> None:  # type: ignore[no-untyped-def]
    import knowledge

    folder = tmp_path / "knowledge"
    shutil.copytree(Path(knowledge.__file__).parent, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    settings.understanding.knowledge_dir = folder
    client = await aiohttp_client(make_app(settings))
    services = client.server.app[SERVICES]
    resident = Resident(client, sender)
    before = await resident.say("物业费不交会怎样")
    assert "催告" in before

    faq = folder / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("催告", "书面催告"), encoding="utf-8")
    # The app subscribes in a background task started with it: wait until it has (a publish
    # before that reaches nobody; under load the first request can be answered sooner).
    channel = services.store.keys.reload_channel()
    for _ in range(250):
        if (await services.store.redis.pubsub_numsub(channel))[0][1]:
            break
        await asyncio.sleep(0.02)
    listeners = await services.store.redis.publish(channel, "reload")
    assert listeners == 1
    await wait_for(lambda: "书面催告" in services.understander.knowledge.faq[0].answer + "".join(f.answer for f in services.understander.knowledge.faq))
    assert "书面催告" in await Resident(client, sender).say("物业费不交会怎样")

    # A broken file is refused and the running knowledge stays.
    faq.write_text("- id: [broken", encoding="utf-8")
    await services.store.redis.publish(services.store.keys.reload_channel(), "reload")
    await asyncio.sleep(0.5)
    assert "书面催告" in await Resident(client, sender).say("物业费不交会怎样")


async def test_department_alert_channels_must_name_known_codes(settings) -> None:  # type: ignore[no-untyped-def]
    from bot.app import running

    settings.alerts = {"polise": AlertChannels(wecom_webhook="http://x")}
    with pytest.raises(ValueError, match="polise"):
        async with running(settings):
            pass
