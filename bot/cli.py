"""``wuye``: serve, chat, classify, eval, reload, admin."""

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
    return load_settings(getattr(args, "config", None))


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
    report = asyncio.run(evaluate_file(settings, args.file, unseen=args.unseen))
    print(report.render())
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    """Ask every running process that shares this Redis to re-read knowledge/."""
    from bot.app import running

    async def publish() -> int:
        async with running(_settings(args)) as services:
            return int(await services.store.redis.publish(services.store.keys.reload_channel(), "reload"))

    print(f"reload requested; {asyncio.run(publish())} process(es) listening")
    return 0


def _new_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("密码: ")
    if first != getpass.getpass("再输入一次: "):
        raise ValueError("两次输入的密码不一致")
    return first


def cmd_admin(args: argparse.Namespace) -> int:
    """Invitation codes for officials and staff, revoking a bound identity, console accounts."""
    from bot.app import running
    from bot.roles import Role

    async def act() -> str:
        password = _new_password(args) if args.action == "create-user" else ""
        async with running(_settings(args)) as services:
            roles = services.roles
            if args.action == "create-token":
                from bot.api import create_token

                token, token_id = await create_token(
                    services.store, set(services.understander.knowledge.department), role=args.role or "",
                    department=args.department or "", company=args.company or "", name=args.name or "", user=args.user or "",
                )
                return f"{token}\ntoken id {token_id}; shown once: send it as  Authorization: Bearer <token>"
            if args.action == "list-tokens":
                lines = [f"{i}\t{g.get('user') or g.get('kind')}\t{g.get('department') or g.get('company') or ''}\t{g.get('name', '')}\t{g['created']}"
                         for i, g in await services.store.api_tokens.all()]
                return "\n".join(lines) or "(no API tokens)"
            if args.action == "revoke-token":
                return "revoked" if await services.store.api_tokens.revoke(args.token_id) else "no single token with that id"
            if args.action == "create-user":
                from bot.console.accounts import Accounts

                accounts = Accounts(services.store, set(services.understander.knowledge.department))
                account = await accounts.create(
                    args.username, password, args.role, department=args.department or "", company=args.company or "",
                    name=args.name or "", replace=args.replace,
                )
                scope = account.department or account.company
                return f"console account {account.username} ({account.kind}{' ' + scope if scope else ''}) saved"
            if args.action == "invite":
                role = Role(kind=args.role, department=args.department or "", company=args.company or "",
                            compounds=args.compound or [], name=args.name or "")
                code = await roles.invite(role, ttl=args.ttl * 3600)
                return f"绑定码 {code}\n{args.ttl} 小时内有效，仅可使用一次。请对方在公众号或企业微信中发送：绑定 {code}"
            if args.action == "revoke":
                return "已撤销" if await roles.revoke(args.user) else "该用户没有绑定身份"
            lines = [f"{user}\t{role.kind}\t{role.department or role.company}\t{role.name}" for user, role in await roles.all()]
            return "\n".join(lines) or "(no bound officials or staff)"

    try:
        print(asyncio.run(act()))
    except ValueError as exc:
        print(f"wuye admin: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    # --config is accepted before or after the subcommand (`wuye classify --config F`).
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file (default: $WUYE_CONFIG, else built-in defaults)")
    parser = argparse.ArgumentParser(prog="wuye", description="wuye-bot: WeChat front door for 物业 matters", parents=[config])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[config])

    serve = command("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    chat = command("chat", help="talk to the engine in the terminal")
    chat.add_argument("--user", default="terminal-user", help="the user id to chat as")
    chat.set_defaults(func=cmd_chat)

    classify = command("classify", help="classify stdin lines (text or JSON with 'text') to JSON lines")
    classify.set_defaults(func=cmd_classify)

    evaluate = command("eval", help="evaluate the classifier on a labelled JSONL file")
    evaluate.add_argument("file")
    evaluate.add_argument(
        "--unseen", action="store_true", help="train the statistical models without the file's messages (an honest fold)"
    )
    evaluate.set_defaults(func=cmd_eval)

    command("reload", help="make running bots re-read knowledge/ without a restart").set_defaults(func=cmd_reload)

    admin = command("admin", help="officials' and staff's identities")
    actions = admin.add_subparsers(dest="action", required=True)
    invite = actions.add_parser("invite", help="issue a one-time binding code", parents=[config])
    invite.add_argument("--role", required=True, choices=["official", "staff", "admin"])
    invite.add_argument("--department", help="officials: a department code of ROUTING.md (e.g. police)")
    invite.add_argument("--company", help="staff: the property company")
    invite.add_argument("--compound", action="append", help="staff: a compound they serve (repeatable)")
    invite.add_argument("--name", help="how the console names them")
    invite.add_argument("--ttl", type=int, default=72, help="hours the code stays valid (default 72)")
    revoke = actions.add_parser("revoke", help="remove a bound identity", parents=[config])
    revoke.add_argument("user", help="OpenID, or wecom:UserID")
    actions.add_parser("list", help="bound officials and staff", parents=[config])
    user = actions.add_parser("create-user", help="a web console account (asks for the password)", parents=[config])
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=["admin", "official", "staff", "editor"])
    user.add_argument("--department", help="officials: a department code (e.g. police)")
    user.add_argument("--company", help="staff: the property company, as on its tickets")
    user.add_argument("--name", help="display name")
    user.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    user.add_argument("--replace", action="store_true", help="overwrite an existing account (reset its password)")
    token = actions.add_parser("create-token", help="a JSON API token (printed once)", parents=[config])
    scope = token.add_mutually_exclusive_group(required=True)
    scope.add_argument("--role", choices=["admin", "official", "staff"])
    scope.add_argument("--user", help="act as this console account (its role at each request)")
    token.add_argument("--department", help="officials: a department code (e.g. police)")
    token.add_argument("--company", help="staff: the property company, as on its tickets")
    token.add_argument("--name", help="who uses it, for the ticket history")
    actions.add_parser("list-tokens", help="API tokens (ids, scopes; never the tokens)", parents=[config])
    revoke_token = actions.add_parser("revoke-token", help="revoke an API token by its id", parents=[config])
    revoke_token.add_argument("token_id")
    admin.set_defaults(func=cmd_admin)

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
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"wuye: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
