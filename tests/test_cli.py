"""The ``wuye`` command as a user runs it: a fresh folder, no configuration, real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.channels.signing import sha1_signature


def wuye(*args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        timeout=timeout, env={**_clean_env(), **(env or {})},
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_with_no_configuration_and_answers_a_signed_get(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--host", "127.0.0.1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env(),
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        token = re.search(r"Token is (\S+)", line).group(1)  # type: ignore[union-attr]
        ts, nonce = str(int(time.time())), "42"
        url = f"http://127.0.0.1:{port}/wechat?signature={sha1_signature(token, ts, nonce)}&timestamp={ts}&nonce={nonce}&echostr=hello"
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    assert resp.read() == b"hello"
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert token not in proc.stderr.read()  # type: ignore[union-attr]  # printed once to the terminal, never logged
    assert any((tmp_path / "wuye-data").rglob("*.aof*")), "the embedded Redis keeps an append-only file"


def test_classify_contract(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "楼上有人高空抛物"}, ensure_ascii=False),
        "楼道着火了 好大的烟",
        "物业费不交会怎样",
    ]
    out = wuye("classify", "--config", _config(tmp_path), cwd=tmp_path, stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(x) for x in out.stdout.splitlines()]  # nothing but JSON lines on stdout
    assert len(rows) == 3
    for row in rows:
        assert {"text", "intent", "department", "also", "matter", "emergency", "confidence", "reply"} <= row.keys()
        assert 0 <= row["confidence"] <= 1
    assert rows[0]["department"] == "police" and rows[0]["intent"] == "complaint"
    assert rows[1]["emergency"] and "119" in rows[1]["reply"]
    assert rows[2]["intent"] == "policy_question" and "依据" in rows[2]["reply"]


def test_bad_setting_names_the_key_and_exits_2(tmp_path: Path) -> None:
    out = wuye("serve", cwd=tmp_path, env={"WUYE_SERVER__PORT": "eighty"})
    assert out.returncode == 2 and "server.port" in out.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[wechat]\nencoding_aes_key = "short"\n', encoding="utf-8")
    out = wuye("--config", str(bad), "serve", cwd=tmp_path)
    assert out.returncode == 2 and "wechat.encoding_aes_key" in out.stderr
    out = wuye("serve", "--config", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert out.returncode == 2 and "missing.toml" in out.stderr


def test_chat_holds_a_conversation(tmp_path: Path) -> None:
    out = wuye("chat", "--user", "u1", "--config", _config(tmp_path), cwd=tmp_path,
               stdin="楼上有人高空抛物\n阳光小区3号楼\n取消\n/quit\n")
    assert out.returncode == 0, out.stderr
    replies = out.stdout.split("bot> ")[1:]  # a reply may span several lines
    assert "县公安局" in replies[0] and "哪个小区" in replies[0]
    assert "哪个小区" not in replies[1]  # the place was understood; it asks for the next thing
    assert "已取消" in replies[2]


def _config(tmp_path: Path) -> str:
    path = tmp_path / "wuye.toml"
    path.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return str(path)
