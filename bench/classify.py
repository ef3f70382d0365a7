#!/usr/bin/env python
"""Classifier benchmark: Understander.understand vs. bare jieba segmentation, on the same messages.

Loads the Understander once (``make_understander(load_settings(None))``), builds a message list
(the texts of tests/data/golden_tune.jsonl and golden_holdout.jsonl when present, else a built-in
list of colloquial resident messages) repeated to ``--count`` messages, warms both up, then times

  (a) ``Understander.understand`` over all messages,
  (b) ``jieba.lcut`` (default dictionary and settings, after ``jieba.initialize()``) over the same,

and prints messages/second of each and the ratio classify / jieba. For context it also times
``Understander.tokens`` (the classifier's own jieba tokenizer, with the knowledge's words added,
HMM off). ``--cli`` also times ``python -m bot classify`` end to end as a subprocess on ``--count``
lines (Redis in a temporary directory), once on 1 line to show the fixed start-up cost.

    .venv/bin/python bench/classify.py [--count 10000] [--builtin] [--tune-only] [--cli]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOLDEN = [ROOT / "tests" / "data" / "golden_tune.jsonl", ROOT / "tests" / "data" / "golden_holdout.jsonl"]

BUILTIN = [
    "你好", "在吗", "谢谢啊", "物业费不交会怎样", "物业费一年多少钱", "物业费凭啥又涨了",
    "楼上高空抛物", "楼上又往下扔垃圾了 差点砸到人", "3号楼楼道灯坏了", "楼道灯坏了好几天了没人修",
    "我的投诉到哪了", "上周报的修怎么还没人来", "WY20250312-0042 这个单子处理了没",
    "小区门口天天有人乱停车，堵得出不去", "消防通道被车堵死了", "楼下饭店油烟太大了 窗户都不敢开",
    "晚上烧烤摊吵得睡不着", "电梯又坏了，老人上不去楼", "电梯困人了！！", "电梯年检过期了吧",
    "隔壁装修每天早上七点就开始砸墙", "楼上把承重墙拆了 这能行吗", "垃圾好几天没人收了 臭死了",
    "垃圾桶满了也没人倒", "家里水管爆了 水漫出来了", "停水了 啥时候来水", "又停电了 有通知吗",
    "暖气不热 屋里才十几度", "小区有人养大型犬不拴绳", "楼道里堆满了杂物 谁管", "有人在楼道给电瓶车充电",
    "地下车库漏水", "外墙瓷砖掉下来了 太危险", "小区绿地被人占了种菜", "业委会怎么成立",
    "维修基金怎么用", "物业不作为 想换物业怎么办", "物业合同到期了怎么办", "保安态度太差了",
    "门禁卡坏了去哪办", "小区大门的道闸坏了", "快递柜占了消防通道", "屋顶漏水 墙都发霉了",
    "下水道堵了 一楼都返水了", "楼下商铺占道经营", "着火了 3号楼冒烟了", "有煤气味 很大",
    "能不能帮我问问物业", "我要投诉物业经理", "你们是机器人吗",
]


def golden_texts(paths: list[Path] = GOLDEN) -> list[str]:
    texts = []
    for path in paths:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                text = json.loads(line).get("text")
            except (json.JSONDecodeError, AttributeError):
                continue
            if isinstance(text, str) and text.strip():
                texts.append(text)
    return texts


def repeat_to(texts: list[str], count: int) -> list[str]:
    return [texts[i % len(texts)] for i in range(count)]


def interleaved(a, b, messages: list[str], rounds: int) -> tuple[float, float, list[float]]:  # type: ignore[no-untyped-def]
    """Seconds of a and of b over all messages, timed in rounds that alternate which goes first
    (a machine whose load drifts slows both alike), and each round's ratio of speeds b-time/a-time."""
    size = max(1, len(messages) // rounds)
    chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
    a_s = b_s = 0.0
    ratios = []
    for n, chunk in enumerate(chunks):
        order = (a, b) if n % 2 == 0 else (b, a)
        took = {fn: rate(fn, chunk)[1] for fn in order}
        a_s, b_s = a_s + took[a], b_s + took[b]
        ratios.append(took[b] / took[a])
    return a_s, b_s, ratios


def rate(fn, messages: list[str]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(messages/s, seconds) for fn over messages, with the collector off while timing."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        for text in messages:
            fn(text)
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    return len(messages) / elapsed, elapsed


def time_cli(lines: list[str]) -> tuple[float, int, int, str]:
    """Seconds, lines in, JSON lines out, stderr tail for ``python -m bot classify`` on ``lines``."""
    tmp = Path(tempfile.mkdtemp(prefix="wuye-bench-cli-"))
    try:
        src = tmp / "in.txt"
        src.write_text("".join(t.replace("\n", " ") + "\n" for t in lines), encoding="utf-8")
        env = {
            **os.environ,
            "WUYE_SERVER__DATA_DIR": str(tmp / "data"),  # not ./wuye-data
            "WUYE_WECHAT__API_BASE": "http://127.0.0.1:9",
            "WUYE_WECOM__API_BASE": "http://127.0.0.1:9",
        }
        env.pop("WUYE_CONFIG", None)
        with src.open("rb") as stdin:
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "bot", "classify"], cwd=ROOT, env=env, stdin=stdin,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800,
            )
            elapsed = time.perf_counter() - started
        out = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln.strip()]
        good = 0
        for ln in out:
            try:
                json.loads(ln)
                good += 1
            except json.JSONDecodeError:
                pass
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:] if proc.returncode else []
        return elapsed, len(lines), good, "\n".join(tail)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="messages timed (default 10000)")
    parser.add_argument("--builtin", action="store_true", help="use the built-in message list, not tests/data")
    parser.add_argument("--cli", action="store_true", help="also time `python -m bot classify` end to end")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds of classify and jieba (default 10)")
    parser.add_argument("--tune-only", action="store_true",
                        help="only golden_tune.jsonl (leave the hold-out set untouched while tuning)")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be positive")

    import jieba

    jieba.setLogLevel(logging.WARNING)
    from bot.app import make_understander
    from bot.config import load_settings

    started = time.perf_counter()
    understander = make_understander(load_settings(None))
    load_s = time.perf_counter() - started

    source = "built-in list"
    texts = [] if args.builtin else golden_texts(GOLDEN[:1] if args.tune_only else GOLDEN)
    if texts:
        source = "tests/data golden_tune" + ("" if args.tune_only else " + golden_holdout")
    else:
        texts = BUILTIN
    messages = repeat_to(texts, args.count)
    avg_len = sum(map(len, messages)) / len(messages)
    print(f"classifier benchmark: {len(messages)} messages from {len(texts)} distinct texts ({source}), "
          f"average {avg_len:.1f} characters; Understander loaded in {load_s:.1f} s", flush=True)

    jieba.initialize()
    # Warm-up: every distinct text once through each.
    for text in texts:
        understander.understand(text)
        understander.tokens(text)
        jieba.lcut(text)

    classify_s, jieba_s, ratios = interleaved(understander.understand, jieba.lcut, messages, args.rounds)
    classify_rate, jieba_rate = len(messages) / classify_s, len(messages) / jieba_s
    tokens_rate, tokens_s = rate(understander.tokens, messages)

    intents = Counter(understander.understand(t).intent for t in texts)
    print(f"  (a) Understander.understand : {classify_rate:10.0f} msg/s  ({classify_s:.2f} s, "
          f"{1e6 / classify_rate:.0f} µs/msg)")
    print(f"  (b) jieba.lcut (default)    : {jieba_rate:10.0f} msg/s  ({jieba_s:.2f} s, {1e6 / jieba_rate:.0f} µs/msg)")
    ratios.sort()
    print(f"  ratio classify / jieba      : {classify_rate / jieba_rate:10.3f}  (over {len(ratios)} interleaved rounds: "
          f"min {ratios[0]:.3f}, median {ratios[len(ratios) // 2]:.3f}, max {ratios[-1]:.3f})")
    print(f"  for context, Understander.tokens (own tokenizer, HMM off): {tokens_rate:.0f} msg/s "
          f"({1e6 / tokens_rate:.0f} µs/msg)")
    print(f"  intents over the distinct texts: {dict(intents.most_common())}")

    if args.cli:
        print("  timing `python -m bot classify` ...", flush=True)
        one_s, _, one_out, one_err = time_cli(messages[:1])
        cli_s, n_in, n_out, err = time_cli(messages)
        print(f"  (c) wuye classify end to end: {n_in / cli_s:10.0f} lines/s  ({n_in} lines in {cli_s:.2f} s, "
              f"{n_out} JSON lines out)")
        print(f"      a 1-line run takes {one_s:.2f} s (start-up: imports, Redis, knowledge); "
              f"without it: {(n_in - 1) / max(1e-9, cli_s - one_s):.0f} lines/s")
        for e in (one_err, err):
            if e:
                print(f"      stderr: {e}")
        if n_out != n_in or one_out != 1:
            print(f"      WARNING: {n_in} lines in, {n_out} JSON lines out")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
