"""schemathesis against /api/v1/openapi.json, served by the real app on a real port (in a thread
with its own event loop, since schemathesis calls synchronously): generated requests, valid
and invalid, must never get a server error, and valid ones must get what the file promises."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bot.api import create_token
from bot.app import SERVICES, make_app
from bot.config import load_settings
from tests.console_helpers import file_ticket

EXAMPLES = 25  # per operation and mode: a short run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_api(redis_server: str, tmp_path: Path, understander) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from aiohttp import web

    conf = load_settings(
        None,
        server={"data_dir": str(tmp_path / "data")},
        redis={"url": redis_server, "key_prefix": f"st{os.getpid()}-{id(tmp_path)}:"},
        tickets={"scheduler_interval": 3600},
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = _free_port()
    runner = web.AppRunner(make_app(conf, understander))

    async def start() -> dict[str, Any]:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        services = runner.app[SERVICES]
        tickets = [await file_ticket(services, "high_altitude_throwing", "阳光小区3号楼", "楼上扔垃圾砸到车"),
                   await file_ticket(services, "fire_lane_blocked", "幸福家园", "消防通道被车堵死了")]
        departments = set(services.understander.knowledge.department)
        admin, _ = await create_token(services.store, departments, role="admin")
        cop, _ = await create_token(services.store, departments, role="official", department="police")
        return {"base": f"http://127.0.0.1:{port}", "tokens": [admin, cop], "numbers": [t.number for t in tickets]}

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _fuzz(strategy: Any, checks: list[Any], base_url: str) -> int:
    calls = 0

    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(drawn: tuple[Any, str | None, str]) -> None:
        nonlocal calls
        case, number, token = drawn
        if number and case.path_parameters and "number" in case.path_parameters:
            case.path_parameters["number"] = number
        case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=checks, timeout=10)
        calls += 1

    run()
    return calls


def test_schemathesis_finds_no_server_error_and_the_responses_match_the_file(live_api: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api['base']}/api/v1/openapi.json")
    base_url = f"{live_api['base']}/api/v1"
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == {
        "GET /tickets", "GET /tickets/{number}", "POST /tickets/{number}/actions",
        "POST /tickets/{number}/merge", "GET /departments", "GET /matters"}
    calls = 0
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Half the cases aim at a real ticket, so actions run (and move states) too.
            strategy = st.tuples(op.as_strategy(generation_mode=mode), st.sampled_from(live_api["numbers"] + [None]),
                                 st.sampled_from(live_api["tokens"]))
            checks = [not_a_server_error]
            if mode is GenerationMode.POSITIVE:
                checks += [status_code_conformance, content_type_conformance, response_schema_conformance]

            calls += _fuzz(strategy, checks, base_url)
    assert calls >= len(operations) * 2
