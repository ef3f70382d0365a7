"""The FAQ editor: console edits stored as an overlay in Redis, answered by the running app and
by a new process started afterwards against the same Redis."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import yaml

from bot.console.faq import version
from bot.knowledge import FaqOverlay
from tests.console_helpers import csrf_of, make_user, sign_in
from tests.test_conversation import Resident

QUESTION = "不交物业费会怎么样？"
ENTRY = "property_fee_unpaid_consequences"
NEW_ANSWER = "【测试新答案】物业费问题请先与物业企业协商，协商不成可申请调解。"


def form_of(entry, **change):  # type: ignore[no-untyped-def]
    """The edit form as the page would post it, with some fields changed."""
    data = {
        "question": entry.question,
        "phrasings": "\n".join(entry.phrasings),
        "keywords": "、".join(entry.keywords),
        "answer": entry.answer,
        "department": entry.department or "",
        "valid_from": "",
        "valid_until": "",
        "base": version(entry),  # the page's record of the entry as it was shown
    }
    data.update(change)
    form = aiohttp.FormData()
    for key, value in data.items():
        form.add_field(key, value)
    for s in entry.sources:
        form.add_field("doc", s.doc)
        form.add_field("clause", s.clause)
    return form


async def edit(client, token: str, entry, **change):  # type: ignore[no-untyped-def]
    form = form_of(entry, **change)
    form.add_field("_csrf", token)
    return await client.post(f"/console/faq/{entry.id}", data=form, allow_redirects=False)


def classify_in_new_process(settings, tmp_path: Path, text: str) -> dict:  # type: ignore[no-untyped-def]
    config = tmp_path / "wuye.toml"
    config.write_text(
        f'[redis]\nurl = "{settings.redis.url}"\nkey_prefix = "{settings.redis.key_prefix}"\n'
        f'[server]\ndata_dir = "{tmp_path / "cli-data"}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    done = subprocess.run([sys.executable, "-m", "bot", "classify", "--config", str(config)], input=text + "\n",
                          capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0])


async def test_editor_edits_an_answer_and_every_process_answers_the_new_text(client, sender, services, settings, tmp_path) -> None:
    entry = services.understander.knowledge.faq_by_id[ENTRY]
    resident = Resident(client, sender)
    before = await resident.say(QUESTION)
    assert entry.answer[:20] in before and NEW_ANSWER not in before

    await make_user(services, "ed", "editor", name="编辑小李")
    resp, token = await sign_in(client, "ed")
    assert resp.status == 303 and resp.headers["Location"] == "/console/faq"  # editors land on the FAQ
    page = await client.get("/console/faq", params={"q": "物业费"})
    assert page.status == 200 and entry.question in await page.text()
    assert (await client.get("/console/tickets")).status == 403  # still no tickets for editors

    # Without the CSRF token: refused, nothing saved.
    form = form_of(entry, answer=NEW_ANSWER)
    assert (await client.post(f"/console/faq/{ENTRY}", data=form, allow_redirects=False)).status == 403
    assert (await services.store.faq.overlay()).empty

    resp = await edit(client, token, entry, answer=NEW_ANSWER)
    assert resp.status == 303 and resp.headers["Location"] == f"/console/faq/{ENTRY}"
    stored = await services.store.faq.overlay()
    assert stored.entries[ENTRY].answer == NEW_ANSWER and stored.entries[ENTRY].phrasings == entry.phrasings

    # The running app answers the new text at once ...
    after = await Resident(client, sender).say(QUESTION)
    assert NEW_ANSWER in after and "依据" in after
    # ... and so does a new process started afterwards against the same Redis.
    result = await asyncio.to_thread(classify_in_new_process, settings, tmp_path, QUESTION)
    assert result["faq"] == ENTRY and NEW_ANSWER in result["reply"], result

    # The history says who changed what and when, and the page shows it.
    history = await services.store.faq.history()
    assert history[0]["who"] == "ed" and history[0]["action"] == "edit" and history[0]["fields"] == ["answer"]
    assert history[0]["before"]["answer"] == entry.answer and history[0]["after"]["answer"] == NEW_ANSWER
    html = await (await client.get("/console/faq")).text()
    assert "修改记录" in html and "ed" in html and "改动：答案" in html and "已修改" in html

    # The try box shows the match, its score, and the reply the bot would give.
    html = await (await client.get("/console/faq", params={"try": QUESTION})).text()
    assert ENTRY in html and "问答模型认同" in html and NEW_ANSWER in html


async def test_a_save_over_someone_elses_change_is_refused(client, services) -> None:
    """Two editors open the same entry; the second save would silently undo the first: refused."""
    entry = services.understander.knowledge.faq_by_id[ENTRY]
    await make_user(services, "ed", "editor")
    _, token = await sign_in(client, "ed")
    first = await edit(client, token, entry, answer=NEW_ANSWER)
    assert first.status == 303
    second = await edit(client, token, entry, answer=entry.answer + "（另一位编辑的修改）")  # form opened before
    assert second.status == 422 and "已被他人修改" in await second.text()
    assert services.understander.knowledge.faq_by_id[ENTRY].answer == NEW_ANSWER
    assert len(await services.store.faq.history()) == 1


async def test_a_bad_edit_is_refused_with_a_form_error_and_nothing_saved(client, services) -> None:
    entry = services.understander.knowledge.faq_by_id[ENTRY]
    await make_user(services, "ed", "editor")
    _, token = await sign_in(client, "ed")
    cases = [
        ({"answer": ""}, "答案：不能为空"),
        ({"phrasings": "  \n"}, "问法：至少要填一项"),
        ({"department": "ministry_of_magic"}, "unknown department"),
        ({"valid_from": "2025-02-01", "valid_until": "2025-01-01"}, "失效日期不能早于生效日期"),
        ({"valid_from": "next tuesday"}, "日期格式"),
    ]
    for change, message in cases:
        resp = await edit(client, token, entry, **change)
        html = await resp.text()
        assert resp.status == 422 and message in html, (change, html[html.find("form-error"):][:300])
        assert 'id="form-error"' in html
    # A source pointing at an unknown document: the model refuses it.
    form = form_of(entry)
    form.add_field("_csrf", token)
    form.add_field("doc", "beijing")
    form.add_field("clause", "一(一)")
    resp = await client.post(f"/console/faq/{ENTRY}", data=form)
    assert resp.status == 422 and "出处" in await resp.text()
    # A new entry with a taken id, or a bad id.
    for new_id, message in ((ENTRY, "已被使用"), ("Bad Id!", "编号")):
        form = form_of(entry)
        form.add_field("_csrf", token)
        form.add_field("id", new_id)
        resp = await client.post("/console/faq/new", data=form)
        assert resp.status == 422 and message in await resp.text()
    assert (await services.store.faq.overlay()).empty
    assert await services.store.faq.history() == []
    assert services.understander.knowledge.faq_by_id[ENTRY].answer == entry.answer


async def test_create_and_delete_entries_and_roles(client, services, sender) -> None:
    entry = services.understander.knowledge.faq_by_id[ENTRY]
    await make_user(services, "cop", "official", department="police")
    _, token = await sign_in(client, "cop")
    assert (await client.get("/console/faq")).status == 403  # officials do not edit the FAQ
    assert (await edit(client, token, entry, answer=NEW_ANSWER)).status == 403
    await client.post("/console/logout", data={"_csrf": token})

    await make_user(services, "boss", "admin")
    _, token = await sign_in(client, "boss")
    form = form_of(entry, question="小区充电桩由谁来装？", phrasings="充电桩谁来装\n小区能装充电桩吗\n想在车位装个充电桩",
                   keywords="充电桩", answer="【测试】充电桩的安装请先向物业报备。")
    form.add_field("_csrf", token)
    form.add_field("id", "charging_pile_install")
    resp = await client.post("/console/faq/new", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert "charging_pile_install" in services.understander.knowledge.faq_by_id
    reply = await Resident(client, sender).say("小区充电桩由谁来装？")
    assert "充电桩的安装请先向物业报备" in reply
    assert "新增" in await (await client.get("/console/faq")).text()

    # Deleting a packaged entry hides it; deleting the new one removes it from the overlay.
    for entry_id in (ENTRY, "charging_pile_install"):
        resp = await client.post(f"/console/faq/{entry_id}/delete", data={"_csrf": token}, allow_redirects=False)
        assert resp.status == 303
        assert entry_id not in services.understander.knowledge.faq_by_id
        assert (await client.get(f"/console/faq/{entry_id}")).status == 404
    overlay = await services.store.faq.overlay()
    assert overlay.deleted == {ENTRY} and overlay.entries == {}
    assert [h["action"] for h in await services.store.faq.history()] == ["delete", "delete", "create"]


async def test_export_import_round_trip(client, services) -> None:
    await make_user(services, "ed", "editor")
    _, token = await sign_in(client, "ed")
    entry = services.understander.knowledge.faq_by_id[ENTRY]
    assert (await edit(client, token, entry, answer=NEW_ANSWER)).status == 303
    exported = await client.get("/console/faq/export.yaml")
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    raw = await exported.read()
    data = yaml.safe_load(raw)
    assert len(data) == len(services.packaged.faq) and next(e for e in data if e["id"] == ENTRY)["answer"] == NEW_ANSWER

    # Import a changed file: one entry dropped, one answer changed back to the packaged one.
    dropped = data.pop()["id"]
    next(e for e in data if e["id"] == ENTRY)["answer"] = entry.answer
    upload = aiohttp.FormData()
    upload.add_field("_csrf", token)
    upload.add_field("file", io.BytesIO(yaml.safe_dump(data, allow_unicode=True).encode()), filename="faq.yaml")
    resp = await client.post("/console/faq/import", data=upload)
    assert resp.status == 200 and "已导入" in await resp.text()
    overlay = await services.store.faq.overlay()
    assert overlay == FaqOverlay(entries={}, deleted={dropped})  # only the differences are kept
    assert services.understander.knowledge.faq_by_id[ENTRY].answer == entry.answer

    # Re-importing the first export restores everything it had.
    upload = aiohttp.FormData()
    upload.add_field("_csrf", token)
    upload.add_field("file", io.BytesIO(raw), filename="faq.yaml")
    assert (await client.post("/console/faq/import", data=upload)).status == 200
    again = await (await client.get("/console/faq/export.yaml")).read()
    assert yaml.safe_load(again) == yaml.safe_load(raw)

    # A broken file is refused and changes nothing.
    before = await services.store.faq.overlay()
    for bad in (b"- id: x\n  question: [", b"just text", yaml.safe_dump([{**data[0], "department": "nowhere"}], allow_unicode=True).encode()):
        upload = aiohttp.FormData()
        upload.add_field("_csrf", token)
        upload.add_field("file", io.BytesIO(bad), filename="faq.yaml")
        html = await (await client.post("/console/faq/import", data=upload)).text()
        assert "导入失败，未作任何修改" in html
    assert await services.store.faq.overlay() == before
    assert [h["action"] for h in await services.store.faq.history()] == ["import", "import", "edit"]


async def test_an_edit_reaches_another_running_process_by_the_reload_channel(aiohttp_client, client, services, settings, understander) -> None:
    """Two servers share one Redis: an edit in one's console is answered by the other."""
    from bot.app import SERVICES, make_app

    other = await aiohttp_client(make_app(settings, understander))
    other_services = other.server.app[SERVICES]
    await asyncio.sleep(0.3)  # the other's reload listener subscribes
    entry = services.understander.knowledge.faq_by_id[ENTRY]
    await make_user(services, "ed", "editor")
    _, token = await sign_in(client, "ed")
    assert (await edit(client, token, entry, answer=NEW_ANSWER)).status == 303
    loop = asyncio.get_running_loop()
    end = loop.time() + 15
    while other_services.understander.knowledge.faq_by_id[ENTRY].answer != NEW_ANSWER:
        assert loop.time() < end, "the other process did not reload"
        await asyncio.sleep(0.05)
    assert csrf_of(await (await client.get("/console/faq")).text())


async def test_a_malformed_or_oversized_import_is_a_4xx(client, services) -> None:
    await make_user(services, "ed", "editor")
    _, token = await sign_in(client, "ed")
    resp = await client.post("/console/faq/import", data=b"--x\r\nnonsense", headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert 400 <= resp.status < 500
    upload = aiohttp.FormData()
    upload.add_field("_csrf", token)
    upload.add_field("file", io.BytesIO(b"#" * (3 * 1024 * 1024)), filename="faq.yaml")
    assert (await client.post("/console/faq/import", data=upload)).status == 413
    assert (await services.store.faq.overlay()).empty
