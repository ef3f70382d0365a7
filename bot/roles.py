"""Who may do what: officials of a department and property staff of a company bind their WeChat
identity with a one-time code an administrator issued; residents are everyone else."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import BaseModel

from bot.store import Store

INVITE_TTL = 7 * 86400


class Role(BaseModel):
    kind: Literal["official", "staff", "admin"]
    department: str = ""  # officials: a department code
    company: str = ""  # staff: the property company's name
    compounds: list[str] = []  # staff: the compounds they serve
    name: str = ""  # how the console and logs call them (never shown to residents)


class Roles:
    def __init__(self, store: Store, departments: set[str]) -> None:
        self.store = store
        self.departments = departments

    async def invite(self, role: Role, ttl: int = INVITE_TTL) -> str:
        if role.kind == "official" and role.department not in self.departments:
            raise ValueError(f"unknown department code {role.department!r}")
        if role.kind == "staff" and not role.company:
            raise ValueError("a staff invitation needs the company")
        while True:
            code = f"{secrets.randbelow(10**6):06d}"
            if await self.store.roles.add_invite(code, role.model_dump(), ttl):
                return code

    async def bind(self, user: str, code: str) -> Role | None:
        raw = await self.store.roles.take_invite(code.strip())
        if raw is None:
            return None
        role = Role.model_validate(raw)
        await self.store.roles.bind(user, role.model_dump())
        return role

    async def of(self, user: str) -> Role | None:
        raw = await self.store.roles.of(user)
        return Role.model_validate(raw) if raw else None

    async def all(self) -> list[tuple[str, Role]]:
        return [(user, Role.model_validate(raw)) for user, raw in await self.store.roles.all()]

    async def revoke(self, user: str) -> bool:
        return await self.store.roles.revoke(user)
