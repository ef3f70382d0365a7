#!/usr/bin/env python
"""Load benchmark: the real bot vs. a bare aiohttp "success" app, driven by the same signed safe-mode pushes.

One run does all of it:

1. starts the real bot (``bot.app.make_app``: embedded Redis in a temporary data_dir, a random Token,
   a 43-character EncodingAESKey, an AppID) in its own process, on an ephemeral loopback port;
2. starts a bare aiohttp app that answers ``success`` to ``POST /wechat`` in another process;
3. for each target, a load-generator process pre-builds the encrypted pushes (one unique MsgId and
   one unique user per request), warms up, then sends ``--requests`` of them with ``--concurrency``
   keep-alive connections, and reports requests/s, p50/p99 latency and errors; a sample of the bot's
   replies is decrypted and checked;
4. measures wechatpy's decrypt → parse → TextReply render → encrypt loop alone, in-process;
5. stops the servers (gracefully, terminate as a fallback) and removes the temporary directory.

Only loopback addresses are used; the bot's outbound API bases point at 127.0.0.1 too.

    .venv/bin/python bench/load.py --quick
    .venv/bin/python bench/load.py [--requests 5000] [--concurrency 32] [--warmup 200]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import queue
import secrets
import shutil
import string
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PATH = "/wechat"
APP_ID = "wx0123456789abcdef"
ACCOUNT = "gh_wuye"
# Residents' texts, cycled; every request comes from a different user.
TEXTS = [
    "你好",
    "物业费不交会怎样",
    "楼上高空抛物",
    "3号楼楼道灯坏了",
    "我的投诉到哪了",
    "小区门口天天有人乱停车，堵得出不去",
    "楼下饭店油烟太大了 窗户都不敢开",
    "电梯又坏了，老人上不去楼",
    "物业费一年多少钱",
    "隔壁装修每天早上七点就开始砸墙",
    "垃圾好几天没人收了 臭死了",
    "谢谢",
]
REPLY_TEXT = "您反映的问题已记录，工单号 WY20250101-0001，我们会在 24 小时内安排处理，请留意后续通知。"


# -- servers (each in its own process) -------------------------------------------------------


def _watch(stop: Any, parent: int) -> None:
    """Block until told to stop, or until the parent process is gone."""
    while not stop.wait(0.5):
        if os.getppid() != parent:
            return


def serve_bot(cfg: dict[str, Any], ready: Any, stop: Any, parent: int) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="[bot] %(levelname)s %(name)s: %(message)s")
    try:
        from aiohttp import web

        from bot.app import make_app
        from bot.config import load_settings

        settings = load_settings(
            None,
            server={"host": HOST, "port": 0, "data_dir": cfg["data_dir"], "log_level": "WARNING"},
            wechat={
                "token": cfg["token"],
                "encoding_aes_key": cfg["aes_key"],
                "app_id": APP_ID,
                "path": PATH,
                "api_base": "http://127.0.0.1:9",  # nothing leaves the machine
            },
            wecom={"api_base": "http://127.0.0.1:9"},
        )
    except Exception:
        ready.put(("error", traceback.format_exc()))
        return

    async def main() -> None:
        app = make_app(settings)
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()  # runs the cleanup contexts: embedded Redis, knowledge, engine
            site = web.TCPSite(runner, HOST, 0)
            await site.start()
            profiler = None
            if cfg.get("profile"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            ready.put(("ok", runner.addresses[0][1]))
            await asyncio.to_thread(_watch, stop, parent)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(cfg["profile"])
        except Exception:
            ready.put(("error", traceback.format_exc()))
        finally:
            await runner.cleanup()  # stops the embedded Redis

    asyncio.run(main())


def serve_bare(ready: Any, stop: Any, parent: int) -> None:
    from aiohttp import web

    async def post(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="success", content_type="text/plain")

    async def main() -> None:
        app = web.Application()
        app.router.add_post(PATH, post)
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()
            site = web.TCPSite(runner, HOST, 0)
            await site.start()
            ready.put(("ok", runner.addresses[0][1]))
            await asyncio.to_thread(_watch, stop, parent)
        except Exception:
            ready.put(("error", traceback.format_exc()))
        finally:
            await runner.cleanup()

    asyncio.run(main())


# -- load generator (its own process) --------------------------------------------------------


def _build(sender: Any, base: str, count: int, tag: str) -> list[tuple[Any, str, str]]:
    """(url, body, user) per request: a text from TEXTS, a unique MsgId, nonce and user."""
    from urllib.parse import urlencode

    from yarl import URL

    from bot.testing import text_xml

    out = []
    for i in range(count):
        user = f"o_bench_{tag}_{i:06d}"
        xml = text_xml(TEXTS[i % len(TEXTS)], user=user, account=ACCOUNT)
        query, body = sender.push(xml, "safe")
        out.append((URL(f"{base}{sender.path}?{urlencode(query)}", encoded=True), body, user))
    return out


async def _fire(requests: list[tuple[Any, str, str]], concurrency: int, keep: set[int]) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    done_at: list[float] = []
    statuses: dict[str, int] = {}
    kept: dict[int, str] = {}
    next_index = iter(range(len(requests)))
    headers = {"Content-Type": "text/xml"}

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in next_index:
            url, body, _user = requests[i]
            started = time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    text = await resp.text()
                    status = str(resp.status)
            except Exception as exc:  # noqa: BLE001 - every failure is an error, by type
                text, status = "", type(exc).__name__
            now = time.perf_counter()
            latencies.append(now - started)
            done_at.append(now)
            statuses[status] = statuses.get(status, 0) + 1
            if i in keep:
                kept[i] = text

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    # Throughput per fifth of the run (by completion order): shows whether the target slows down as it fills up.
    done_at.sort()
    fifths = []
    for k in range(5):
        lo, hi = len(done_at) * k // 5, len(done_at) * (k + 1) // 5 - 1
        span = done_at[hi] - (done_at[lo - 1] if lo else started) if hi > lo else 0.0
        fifths.append((hi - lo + 1) / span if span > 0 else float("nan"))
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed, "kept": kept, "fifths": fifths}


def drive(target: dict[str, Any], results: Any) -> None:
    """Load-generator process: build, warm up, time; put one summary dict on ``results``."""
    try:
        from bot.testing import WechatSender

        sender = WechatSender(target["token"], target["aes_key"], APP_ID, path=PATH)
        n, warm = target["requests"], target["warmup"]
        base = f"http://{HOST}:{target['port']}"
        t0 = time.perf_counter()
        warm_reqs = _build(sender, base, warm, f"{target['name']}w")
        timed_reqs = _build(sender, base, n, target["name"])
        build_s = time.perf_counter() - t0
        samples = min(n, target["samples"])
        keep = {round(k * (n - 1) / max(1, samples - 1)) for k in range(samples)} if samples else set()
        if warm:
            asyncio.run(_fire(warm_reqs, target["concurrency"], set()))
        run = asyncio.run(_fire(timed_reqs, target["concurrency"], keep))

        lat = sorted(run["latencies"])
        ok = run["statuses"].get("200", 0)
        summary: dict[str, Any] = {
            "name": target["name"],
            "requests": n,
            "elapsed": run["elapsed"],
            "rps": n / run["elapsed"],
            "p50_ms": _pct(lat, 50) * 1000,
            "p99_ms": _pct(lat, 99) * 1000,
            "max_ms": lat[-1] * 1000 if lat else 0.0,
            "errors": n - ok,
            "statuses": run["statuses"],
            "build_s": build_s,
            "fifths": run["fifths"],
        }
        # Check the replies kept.
        check = {"sampled": len(run["kept"]), "decrypted_ok": 0, "silent_success": 0, "failed": 0, "failures": []}
        for i, text in sorted(run["kept"].items()):
            user = timed_reqs[i][2]
            if target["name"] == "bare":
                good = text == "success"
                check["decrypted_ok" if good else "failed"] += 1
                if not good:
                    check["failures"].append(f"#{i}: {text[:80]!r}")
                continue
            if text == "success":
                check["silent_success"] += 1  # allowed (over budget / nothing to say), but worth seeing
                continue
            try:
                fields = sender.read_reply(text)
                if fields.get("ToUserName") != user or fields.get("FromUserName") != ACCOUNT:
                    raise ValueError(f"addressed to {fields.get('ToUserName')!r} from {fields.get('FromUserName')!r}")
                if fields.get("MsgType") != "text" or not fields.get("Content"):
                    raise ValueError(f"not a text reply: {fields.get('MsgType')!r}")
                check["decrypted_ok"] += 1
            except Exception as exc:  # noqa: BLE001
                check["failed"] += 1
                check["failures"].append(f"#{i}: {type(exc).__name__}: {exc} / {text[:80]!r}")
        check["failures"] = check["failures"][:5]
        summary["check"] = check
        results.put(("ok", summary))
    except Exception:
        results.put(("error", traceback.format_exc()))


def _pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil
    return sorted_values[int(rank) - 1]


# -- wechatpy alone --------------------------------------------------------------------------


def wechatpy_alone(token: str, aes_key: str, n: int) -> tuple[float, int]:
    """messages/s of WeChatCrypto.decrypt_message + parse_message + TextReply.render + encrypt_message."""
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.replies import TextReply

    from bot.testing import WechatSender, text_xml

    sender = WechatSender(token, aes_key, APP_ID, path=PATH)
    pushes = [sender.push(text_xml(TEXTS[i % len(TEXTS)], user=f"o_alone_{i}", account=ACCOUNT), "safe") for i in range(n)]
    crypto = WeChatCrypto(token, aes_key, APP_ID)

    def one(q: dict[str, str], body: str) -> None:
        xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        msg = parse_message(xml)
        rendered = TextReply(source=msg.target, target=msg.source, content=REPLY_TEXT, time=int(time.time())).render()
        crypto.encrypt_message(rendered, q["nonce"], str(int(time.time())))

    for q, body in pushes[: min(200, n)]:  # warm-up
        one(q, body)
    started = time.perf_counter()
    for q, body in pushes:
        one(q, body)
    return n / (time.perf_counter() - started), n


# -- orchestration ---------------------------------------------------------------------------


def _start(ctx: Any, name: str, target: Any, args: tuple[Any, ...], timeout: float) -> tuple[Any, Any, int]:
    ready, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=target, args=(*args, ready, stop, os.getpid()), name=name, daemon=False)
    proc.start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, value = ready.get(timeout=0.5)
            break
        except queue.Empty:
            if not proc.is_alive():
                raise RuntimeError(f"{name} server exited (code {proc.exitcode}) before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} server not ready after {timeout:.0f}s")
    if status != "ok":
        raise RuntimeError(f"{name} server failed to start:\n{value}")
    return proc, stop, int(value)


def _stop(proc: Any, stop: Any, name: str) -> None:
    stop.set()
    proc.join(20)
    if proc.is_alive():
        print(f"  ({name} server did not stop in 20 s; terminating pid {proc.pid})", file=sys.stderr)
        proc.terminate()
        proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def _drive_in_process(ctx: Any, target: dict[str, Any]) -> dict[str, Any]:
    results = ctx.Queue()
    proc = ctx.Process(target=drive, args=(target, results), name=f"load-{target['name']}")
    proc.start()
    try:
        while True:
            try:
                status, value = results.get(timeout=1.0)
                break
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"load generator for {target['name']} died (code {proc.exitcode})") from None
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    if status != "ok":
        raise RuntimeError(f"load generator for {target['name']} failed:\n{value}")
    return value


def _metrics_excerpt(port: int) -> list[str]:
    """A few of the bot's own counters, to explain errors or silent replies."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except Exception as exc:  # noqa: BLE001
        return [f"(metrics unavailable: {exc})"]
    wanted = ("wuye_replies_over_budget_total", "wuye_requests_rejected_total", "wuye_duplicates_dropped_total",
              "wuye_handler_seconds_count", "wuye_handler_seconds_sum", "wuye_intents_total")
    return [line for line in text.splitlines() if line.startswith(wanted)]


def _profile_report(path: Path, top: int = 30) -> str:
    import io
    import pstats

    if not path.is_file():
        return "(no profile written)"
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _print_result(r: dict[str, Any]) -> None:
    print(f"  {r['name']:<5} {r['rps']:9.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
          f"max {r['max_ms']:7.1f} ms   errors {r['errors']}   ({r['requests']} requests in {r['elapsed']:.2f} s)")
    print(f"        req/s by fifth of the run: {' '.join(f'{x:.0f}' for x in r['fifths'])}")
    if r["errors"]:
        print(f"        statuses: {r['statuses']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="timed requests per target (default 5000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed warm-up requests per target (default 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--alone", type=int, default=None, help="messages for the wechatpy-alone loop (default: --requests)")
    parser.add_argument("--samples", type=int, default=200, help="bot replies decrypted and checked (default 200)")
    parser.add_argument("--profile", action="store_true", help="cProfile the bot process; print its top functions")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 requests, 50 warm-up, concurrency 8")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.warmup, args.concurrency = 300, 50, 8
        args.samples = min(args.samples, 50)
    alone_n = args.alone or args.requests
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--requests and --concurrency must be positive, --warmup not negative")

    token = secrets.token_urlsafe(24)
    aes_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))
    ctx = mp.get_context("spawn")
    tmp = Path(tempfile.mkdtemp(prefix="wuye-bench-"))
    servers: list[tuple[Any, Any, str]] = []
    print(f"wuye-bot load benchmark: {args.requests} requests/target (+{args.warmup} warm-up), "
          f"concurrency {args.concurrency}, safe mode, {os.cpu_count()} CPUs (servers and client share them)", flush=True)
    try:
        t0 = time.perf_counter()
        bot_cfg = {"data_dir": str(tmp / "data"), "token": token, "aes_key": aes_key}
        if args.profile:
            bot_cfg["profile"] = str(tmp / "bot.prof")
        bot_proc, bot_stop, bot_port = _start(
            ctx, "bot", serve_bot, (bot_cfg,), timeout=300
        )
        servers.append((bot_proc, bot_stop, "bot"))
        print(f"  bot  up on {HOST}:{bot_port} in {time.perf_counter() - t0:.1f} s (pid {bot_proc.pid})", flush=True)
        bare_proc, bare_stop, bare_port = _start(ctx, "bare", serve_bare, (), timeout=60)
        servers.append((bare_proc, bare_stop, "bare"))
        print(f"  bare up on {HOST}:{bare_port} (pid {bare_proc.pid})", flush=True)

        common = {"token": token, "aes_key": aes_key, "requests": args.requests, "warmup": args.warmup,
                  "concurrency": args.concurrency, "samples": args.samples}
        results = {}
        for name, port in (("bare", bare_port), ("bot", bot_port)):
            print(f"  driving {name} ...", flush=True)
            results[name] = _drive_in_process(ctx, {**common, "name": name, "port": port})
        counters = _metrics_excerpt(bot_port)
    finally:
        for proc, stop, name in reversed(servers):
            _stop(proc, stop, name)
        profile_report = _profile_report(tmp / "bot.prof") if args.profile else ""
        shutil.rmtree(tmp, ignore_errors=True)

    alone_rate, alone_count = wechatpy_alone(token, aes_key, alone_n)

    bare, bot = results["bare"], results["bot"]
    print()
    print("results (client-side latency, pre-built encrypted bodies):")
    _print_result(bare)
    _print_result(bot)
    print(f"  ratio bot/bare: throughput {bot['rps'] / bare['rps']:.3f}   "
          f"p50 latency {bot['p50_ms'] / bare['p50_ms']:.1f}x   p99 latency {bot['p99_ms'] / bare['p99_ms']:.1f}x")
    c = bot["check"]
    print(f"  bot reply check: {c['sampled']} sampled, {c['decrypted_ok']} decrypted and addressed correctly, "
          f"{c['silent_success']} plain 'success', {c['failed']} failed")
    for failure in c["failures"]:
        print(f"    {failure}")
    if bare["check"]["failed"]:
        print(f"  bare reply check: {bare['check']['failed']} of {bare['check']['sampled']} were not 'success'")
    print(f"  wechatpy alone (decrypt+parse+TextReply+encrypt, in-process): {alone_rate:9.1f} msg/s ({alone_count} messages)")
    print(f"  bot throughput / wechatpy-alone rate: {bot['rps'] / alone_rate:.3f}")
    if counters:
        print("  bot counters:")
        for line in counters:
            print(f"    {line}")
    if profile_report:
        print("\nbot process profile (whole serving time, warm-up included), top functions by own time:")
        print(profile_report)
    failed = bot["errors"] or bare["errors"] or c["failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
