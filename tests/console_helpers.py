"""Helpers shared by the console tests: accounts, tickets filed through the real service, sign-in."""

from __future__ import annotations

import re

from bot.console.accounts import Accounts
from bot.dialogue import Draft

PASSWORD = "correct horse 9"


async def make_user(services, username: str, kind: str, **scope: str):  # type: ignore[no-untyped-def]
    accounts = Accounts(services.store, set(services.understander.knowledge.department))
    return await accounts.create(username, PASSWORD, kind, **scope)


async def file_ticket(services, matter: str, place: str, text: str, *, user: str = "o_resident", company: str = "", source: str = "resident"):  # type: ignore[no-untyped-def]
    department = services.understander.knowledge.matter[matter].department
    draft = Draft(matter=matter, department=department, intent="complaint", texts=[text], place=place,
                  photos=["media-1"], contact="13912345678", source=source, company=company,  # type: ignore[arg-type]
                  staff_note="已劝阻" if source == "property" else "")
    ticket, _ = await services.tickets.open(draft, user)
    return ticket


def csrf_of(html: str) -> str:
    m = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


async def sign_in(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Returns the response of the sign-in POST (not followed) and the CSRF token of the new session."""
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    resp = await client.post("/console/login", data={"username": username, "password": password, "_csrf": token},
                             allow_redirects=False)
    if resp.status == 303:
        ledger = await client.get("/console/tickets")
        return resp, csrf_of(await ledger.text())
    return resp, token
