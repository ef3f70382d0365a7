"""The console in a real headless Chromium (Playwright, Debian's chromium): sign in, filter the
ledger, open a ticket, accept and resolve it, download the Excel file. Screenshots of each page
go to $WUYE_SCREENSHOTS, else to the test's tmp folder (printed)."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import async_playwright, expect

from bot.app import SERVICES, make_app
from bot.tickets import State
from tests.console_helpers import PASSWORD, file_ticket, make_user

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]



@pytest.fixture
async def console(aiohttp_server, settings, understander, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(services, base URL, screenshot folder) of a running app, with Chromium checked first."""
    # CI installs chromium (.ci/run): its absence is a broken machine, not a reason to skip.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei"
    shots = Path(os.environ.get("WUYE_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    server = await aiohttp_server(make_app(settings, understander))
    services = server.app[SERVICES]
    base = str(server.make_url("")).rstrip("/")
    return services, base, shots


async def sign_in_page(page, username: str) -> None:  # type: ignore[no-untyped-def]
    """Fill in and send the sign-in form the console showed."""
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()

async def test_sign_in_filter_accept_resolve_and_export_in_a_browser(console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    services, base, shots = console
    print(f"\nconsole screenshots: {shots}")
    target = await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼2单元", "楼上老有人高空抛物 今天差点砸到我孩子")
    other = await file_ticket(services, "parking_disorder", "幸福家园东门", "小区车辆乱停放 堵住了单元门口")
    late = await file_ticket(services, "theft", "锦绣花园8号楼", "电动车电瓶被偷了")
    late.deadline -= dt.timedelta(days=9, hours=2)  # overdue: shown in red on the ledger
    await services.store.tickets.save(late)
    await make_user(services, "cop", "official", department="police", name="张警官")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True, locale="zh-CN")
            page = await context.new_page()
            await page.goto(f"{base}/console/tickets")
            await expect(page).to_have_url(f"{base}/console/login?next=/console/tickets")
            await page.screenshot(path=shots / "login.png")
            await sign_in_page(page, "cop")
            await expect(page.locator("#total")).to_have_text("3")
            await expect(page.locator("tr.late td.left")).to_contain_text("超期")
            assert await page.locator("tr.late td.left").evaluate("e => getComputedStyle(e).color") == "rgb(198, 40, 40)"
            await page.screenshot(path=shots / "ledger.png", full_page=True)

            await page.get_by_label("小区", exact=True).fill("阳光")
            await page.get_by_role("button", name="筛选").click()
            await expect(page.locator("#total")).to_have_text("1")
            await expect(page.get_by_role("link", name=other.number)).to_have_count(0)
            await page.screenshot(path=shots / "ledger-filtered.png", full_page=True)

            # The Excel export carries the current filter.
            async with page.expect_download() as info:
                await page.locator("#export-xlsx").click()
            download = await info.value
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            assert saved.suffix == ".xlsx"
            rows = list(load_workbook(io.BytesIO(saved.read_bytes())).active.iter_rows(values_only=True))
            assert rows[0][0] == "工单编号" and [r[0] for r in rows[1:]] == [target.number]
            assert rows[1][2] == "高空抛物" and rows[1][5] == "待受理"

            await page.get_by_role("link", name=target.number).click()
            await expect(page.locator("#state")).to_have_text("待受理")
            await page.screenshot(path=shots / "ticket-open.png", full_page=True)
            await page.locator("#do-accept").click()
            await expect(page.locator("#state")).to_have_text("已受理")
            await expect(page.locator(".flash.ok")).to_contain_text("已受理")
            await page.get_by_label("处理结果").fill("已调取监控，约谈3号楼住户并责令改正")
            await page.locator("#do-resolve").click()
            await expect(page.locator("#state")).to_have_text("已办结")
            await expect(page.locator(".history")).to_contain_text("约谈3号楼住户")
            await page.screenshot(path=shots / "ticket-resolved.png", full_page=True)

            await page.get_by_role("link", name="统计").click()
            await expect(page.locator("#kpi-total")).to_have_text("3")
            await expect(page.locator("#kpi-resolution")).to_have_text("33%")
            await page.screenshot(path=shots / "dashboard.png", full_page=True)

            # The same pages on a phone.
            phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                              is_mobile=True, has_touch=True, locale="zh-CN")
            await phone.add_cookies(await context.cookies())
            mobile = await phone.new_page()
            await mobile.goto(f"{base}/console/tickets")
            await expect(mobile.locator("#total")).to_have_text("3")
            await mobile.screenshot(path=shots / "phone-ledger.png", full_page=True)
            await mobile.goto(f"{base}/console/tickets/{target.number}")
            await mobile.screenshot(path=shots / "phone-ticket.png", full_page=True)
            await mobile.goto(f"{base}/console/dashboard")
            await mobile.screenshot(path=shots / "phone-dashboard.png", full_page=True)
        finally:
            await browser.close()

    done = await services.tickets.get(target.number)
    assert done.state == State.RESOLVED and done.history[-1].who == "console:cop"
    assert {p.name for p in shots.iterdir()} >= {"ledger.png", "ticket-resolved.png", "dashboard.png", "phone-ledger.png"}


async def test_an_editor_edits_an_faq_answer_in_a_browser(console) -> None:  # type: ignore[no-untyped-def]
    services, base, shots = console
    await make_user(services, "ed", "editor", name="编辑小李")
    new_answer = "【浏览器测试】物业费问题请先与物业企业协商。"

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")).new_page()
            await page.goto(f"{base}/console/")
            await sign_in_page(page, "ed")
            await expect(page).to_have_url(f"{base}/console/faq")
            await page.locator("#faq-q").fill("不交物业费")
            await page.get_by_role("button", name="搜索").click()
            await page.get_by_role("link", name="不交物业费会怎么样？").click()
            await page.screenshot(path=shots / "faq-edit.png", full_page=True)
            await page.locator("#f-answer").fill(new_answer)
            await page.locator("#f-save").click()
            await expect(page.locator(".flash.ok")).to_contain_text("已保存")
            await page.goto(f"{base}/console/faq")
            await page.locator("#try-text").fill("不交物业费会怎么样")
            await page.locator("#try-go").click()
            await expect(page.locator("#try-reply")).to_contain_text(new_answer)
            await expect(page.locator("#faq-history")).to_contain_text("ed")
            await page.screenshot(path=shots / "faq-try.png", full_page=True)
        finally:
            await browser.close()
    assert (await services.store.faq.overlay()).entries["property_fee_unpaid_consequences"].answer == new_answer


async def test_the_dashboard_with_a_year_of_tickets_in_a_browser(console) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of the dashboard with last year and this year filled in, and a 红黑榜."""
    from bot.calendar import CHINA, now
    from bot.roles import Role

    services, base, shots = console
    today = now()
    for company, compound in (("安泰物业", "阳光小区"), ("恒通物业", "幸福家园"), ("金盾物业", "锦绣花园"), ("康居物业", "和谐家园")):
        code = await services.roles.invite(Role(kind="staff", company=company, compounds=[compound]))
        await services.roles.bind(f"o_staff_{compound}", code)

    async def filed(matter: str, place: str, month: int, *, last_year: bool, user: str, rating: str = "") -> None:
        ticket = await file_ticket(services, matter, place, "居民反映的具体情况", user=user)
        if rating:
            dept = ticket.department
            await services.tickets.act(ticket.number, "accept", who=f"official:{dept}")
            await services.tickets.act(ticket.number, "resolve", who=f"official:{dept}", note="已处理")
            await services.tickets.rate(ticket.number, user, rating)  # type: ignore[arg-type]
            ticket = await services.tickets.get(ticket.number)
        year = today.year - 1 if last_year else today.year
        when = dt.datetime(year, month, 12, 9, 30, tzinfo=CHINA)
        shift = when - ticket.created
        ticket.created += shift
        ticket.dispatched += shift
        ticket.deadline += shift
        for event in ticket.history:
            event.at += shift
        await services.store.tickets.save(ticket)

    matters = ["high_altitude_throwing", "illegal_construction", "cleaning", "poor_service", "parking_disorder", "living_noise"]
    places = ["阳光小区", "幸福家园", "锦绣花园", "和谐家园"]
    ratings = ["满意", "基本满意", "不满意", ""]
    n = 0
    for month in range(1, 13):
        for k in range(2 + month % 3):  # last year: 2-4 a month
            n += 1
            await filed(matters[n % 6], f"{places[n % 4]}{n}号楼", month, last_year=True, user=f"o_r{n}", rating=ratings[n % 4])
    for month in range(1, today.month + 1):
        for k in range(1 + month % 3):  # this year: fewer
            n += 1
            await filed(matters[n % 6], f"{places[(n * 3) % 4]}{n}号楼", month, last_year=False, user=f"o_r{n}", rating=ratings[(n + month) % 4])
    await make_user(services, "boss", "admin", name="王主任")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")).new_page()
            await page.goto(f"{base}/console/dashboard")
            await sign_in_page(page, "boss")
            await expect(page).to_have_url(f"{base}/console/dashboard")
            await expect(page.locator("#kpi-total")).to_have_text(str(n))
            await expect(page.locator("#board tbody tr")).to_have_count(4)
            await expect(page.locator(".red-list li")).to_have_count(2)
            await page.screenshot(path=shots / "dashboard-year.png", full_page=True)

            # A re-route shows on the routing table as a correction, with the resident's words.
            moved = await file_ticket(services, "theft", "阳光小区99号楼", "电动车座被人划了好几道", user="o_x")
            await services.tickets.act(moved.number, "return", who="official:police", note="属于损坏，请社区调解")
            await services.tickets.act(moved.number, "reroute", who="console:boss", to="community", note="邻里纠纷")
            await page.get_by_role("link", name="分派表").click()
            await expect(page.locator("#reroutes tbody tr")).to_have_count(1)
            await expect(page.locator("#reroutes")).to_contain_text("电动车座被人划了好几道")
            await page.screenshot(path=shots / "routing.png")
        finally:
            await browser.close()
