#!/usr/bin/env python
"""CPU instructions a message costs in ``Understander.understand``, counted by valgrind's callgrind.

Timings on a shared 2-core machine drift by ±15% from run to run; an instruction count does not
(two runs agree to 0.1%). It is the figure to compare two versions of the classifier by; it is not
a speed (a cache miss costs more than an instruction), so ``bench/classify.py`` stays the measure
of the target. Needs valgrind (Debian: ``apt-get install valgrind``).

    .venv/bin/python bench/instructions.py [--builtin]

The script re-runs itself under callgrind with instrumentation off, loads the Understander, runs
every text once untimed (as ``bench/classify.py`` warms up), then switches counting on
(``callgrind_control``) for one pass over the texts and off again.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.classify import BUILTIN, GOLDEN, golden_texts  # noqa: E402


def counted(builtin: bool) -> None:
    """Inside callgrind: one counted pass of understand over the texts."""
    logging.disable(logging.CRITICAL)
    from bot.app import make_understander
    from bot.config import load_settings

    understander = make_understander(load_settings(None))
    texts = BUILTIN if builtin else golden_texts(GOLDEN) or BUILTIN
    for text in texts:
        understander.understand(text)
    gc.collect()
    gc.disable()
    control = ["callgrind_control", "--instr={}", str(os.getpid())]
    subprocess.run([c.format("on") for c in control], stdout=subprocess.DEVNULL, check=True)
    for text in texts:
        understander.understand(text)
    subprocess.run([c.format("off") for c in control], stdout=subprocess.DEVNULL, check=True)
    print(len(texts), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builtin", action="store_true", help="the built-in message list, not tests/data")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        counted(args.builtin)
        return 0
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wuye-bench-ir-") as tmp:
        cmd = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/out",
            sys.executable, __file__, "--inner", *(["--builtin"] if args.builtin else []),
        ]
        env = {**os.environ, "WUYE_SERVER__DATA_DIR": f"{tmp}/data"}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    refs = re.search(r"Collected : (\d+)", proc.stderr)
    count = re.search(r"^(\d+)$", proc.stderr, re.MULTILINE)
    if proc.returncode or not refs or not count:
        print(proc.stderr[-2000:], file=sys.stderr)
        return 1
    instructions, messages = int(refs.group(1)), int(count.group(1))
    print(f"Understander.understand: {instructions / messages:,.0f} instructions a message "
          f"({instructions:,} for {messages} distinct texts, each understood once before counting)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
