"""``wuye``: serve, chat, classify, eval."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("wuye")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import make_app

    settings = _settings(args)
    if args.host:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    if settings.generated_token:
        # Printed once, to the terminal only: the local Token for trying the door with curl.
        print(f"No wechat.token configured: this run's Token is {settings.wechat.token.get_secret_value()}", flush=True)
    mode = "safe/compatible + plaintext" if settings.wechat.encoding_aes_key.get_secret_value() else "plaintext"
    redis_where = "external Redis" if settings.redis.url else f"embedded Redis in {settings.server.data_dir}"
    log.info("serving on http://%s:%s%s (%s mode, %s)", settings.server.host, settings.server.port, settings.wechat.path, mode, redis_where)
    web.run_app(make_app(settings), host=settings.server.host, port=settings.server.port, print=None)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """Talk to the same engine in a terminal, as user ``--user``."""
    from bot.app import running
    from bot.models import Message

    settings = _settings(args)

    async def session() -> None:
        async with running(settings) as services:
            print("wuye chat: 输入消息回车发送；/quit 退出。", flush=True)
            seq = int(time.time() * 1000)
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or line.strip() in ("/quit", "/exit"):
                    break
                if not line.strip():
                    continue
                seq += 1
                message = Message(channel="chat", id=f"chat:{args.user}:{seq}", user=args.user, kind="text", text=line.strip())
                reply = await services.engine.process(message)
                print(f"bot> {reply.text or '(无回复)'}", flush=True)

    asyncio.run(session())
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """One JSON object per input line on stdout, nothing else."""
    from bot.classify import classify_lines

    settings = _settings(args)
    asyncio.run(classify_lines(settings, sys.stdin, sys.stdout))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import evaluate_file

    settings = _settings(args)
    report = asyncio.run(evaluate_file(settings, args.file))
    print(report.render())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wuye", description="wuye-bot: WeChat front door for 物业 matters")
    parser.add_argument("--config", help="TOML config file (default: $WUYE_CONFIG, else built-in defaults)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    chat = sub.add_parser("chat", help="talk to the engine in the terminal")
    chat.add_argument("--user", default="terminal-user", help="the user id to chat as")
    chat.set_defaults(func=cmd_chat)

    classify = sub.add_parser("classify", help="classify stdin lines (text or JSON with 'text') to JSON lines")
    classify.set_defaults(func=cmd_classify)

    evaluate = sub.add_parser("eval", help="evaluate the classifier on a labelled JSONL file")
    evaluate.add_argument("file")
    evaluate.set_defaults(func=cmd_eval)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Logs go to stderr: stdout belongs to the command's output (classify's JSON lines).
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("jieba").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"wuye: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
