"""Console accounts: who signs in, with which role, and the password rules (argon2 hashes,
lockout after repeated failures)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel

from bot.store import Store

Kind = Literal["admin", "official", "staff", "editor"]
KINDS: tuple[Kind, ...] = ("admin", "official", "staff", "editor")
KIND_NAMES = {"admin": "管理员", "official": "部门工作人员", "staff": "物业企业", "editor": "知识库编辑"}

MAX_FAILURES = 5
LOCKOUT = 15 * 60  # seconds
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")

_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong
    password. Made at the first sign-in, not at import (a hash takes ~0.1 s; every CLI run imports this)."""
    return _hasher.hash("wuye-console-dummy-password")


class Account(BaseModel):
    username: str
    kind: Kind
    department: str = ""  # officials: a department code
    company: str = ""  # staff: the property company's name, as on tickets
    name: str = ""
    password_hash: str
    created: dt.datetime

    @property
    def who(self) -> str:
        """How the ticket history records this account's actions."""
        return f"console:{self.username}"

    @property
    def label(self) -> str:
        return self.name or self.username


class Locked(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class Accounts:
    def __init__(self, store: Store, departments: set[str]) -> None:
        self.repo = store.console
        self.departments = departments

    async def create(
        self, username: str, password: str, kind: str, *, department: str = "", company: str = "", name: str = "",
        replace: bool = False,
    ) -> Account:
        if not USERNAME.match(username):
            raise ValueError("用户名只能包含字母、数字和 _ . @ -，长度2-64")
        if kind not in KINDS:
            raise ValueError(f"unknown role {kind!r}; one of {', '.join(KINDS)}")
        if kind == "official" and department not in self.departments:
            raise ValueError(f"an official needs a known department code, not {department!r}")
        if kind == "staff" and not company:
            raise ValueError("a staff account needs --company")
        if len(password) < 8:
            raise ValueError("密码至少8位")
        digest = await asyncio.to_thread(_hasher.hash, password)
        account = Account(
            username=username, kind=kind, department=department if kind == "official" else "",  # type: ignore[arg-type]
            company=company if kind == "staff" else "", name=name, password_hash=digest,
            created=dt.datetime.now(dt.UTC),
        )
        if not await self.repo.add_user(username, account.model_dump(mode="json"), replace=replace):
            raise ValueError(f"用户 {username} 已存在")
        return account

    async def get(self, username: str) -> Account | None:
        raw = await self.repo.user(username)
        return Account.model_validate(raw) if raw else None

    async def authenticate(self, username: str, password: str) -> Account | None:
        """The account, or None for a wrong name or password; raises Locked after too many failures."""
        username = username.strip()
        if await self.repo.failures(username) >= MAX_FAILURES:
            raise Locked(await self.repo.locked_for(username))
        account = await self.get(username) if USERNAME.match(username) else None
        if await asyncio.to_thread(_verify, account.password_hash if account else None, password) and account:
            await self.repo.clear_failures(username)
            if _hasher.check_needs_rehash(account.password_hash):
                account.password_hash = await asyncio.to_thread(_hasher.hash, password)
                await self.repo.add_user(username, account.model_dump(mode="json"), replace=True)
            return account
        if await self.repo.fail(username, LOCKOUT, MAX_FAILURES) >= MAX_FAILURES:
            raise Locked(await self.repo.locked_for(username))
        return None


def _verify(digest: str | None, password: str) -> bool:
    """``password`` against ``digest`` (None: an unknown user, checked against the dummy hash)."""
    try:
        return _hasher.verify(digest or _dummy(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
