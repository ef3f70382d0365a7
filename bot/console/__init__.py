"""The web console at /console: sign-in, the ledger (台账), ticket pages and actions, dead letters,
exports. Server-rendered (aiohttp-jinja2); templates and CSS ship inside this package."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

HERE = Path(__file__).parent


def setup_console(app: web.Application, *, secure_cookie: bool = False) -> None:
    """Mount the console as a sub-application: its session and CSRF middlewares touch only /console."""
    import aiohttp_jinja2
    import aiohttp_session
    import jinja2

    from bot.console import faq, views
    from bot.console.session import StoreStorage

    console = web.Application()
    aiohttp_session.setup(console, StoreStorage(secure=secure_cookie))
    console.middlewares.append(views.guard)
    env = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["local"] = views.local_time
    env.filters["mask"] = views.mask_phone
    r = console.router
    r.add_get("/", views.home)
    r.add_get("/login", views.login_page)
    r.add_post("/login", views.login)
    r.add_post("/logout", views.logout)
    r.add_get("/tickets", views.tickets_page)
    r.add_get("/tickets/export.{fmt:xlsx|csv}", views.export)
    r.add_get(r"/tickets/{number:WY\d{8}-\d{4,}}", views.ticket_page)
    r.add_post(r"/tickets/{number:WY\d{8}-\d{4,}}/act", views.act)
    r.add_post(r"/tickets/{number:WY\d{8}-\d{4,}}/merge", views.merge)
    r.add_get("/dashboard", views.dashboard_page)
    r.add_get("/routing", views.routing_page)
    r.add_get("/routing/reroutes.csv", views.reroutes_csv)
    r.add_get("/alerts", views.alerts_page)
    r.add_post("/alerts/retry", views.retry)
    faq.setup(console)
    r.add_static("/static", HERE / "static")
    app.add_subapp("/console", console)
    app.router.add_get("/console", views.home)
