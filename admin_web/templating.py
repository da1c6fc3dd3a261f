"""One Jinja2 environment for every page: autoescaping on, so client text is always inert.

Never mark user data `|safe`: client messages, answers, notes and names are all untrusted.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from admin_web import labels, metrics
from bot.core.clock import parse_iso
from bot.core.phones import mask_phone

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TZ = "Europe/London"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else parse_iso(value)


@pass_context
def local_time(ctx: Context, value: str | datetime | None, fmt: str = "%a %d %b %H:%M") -> str:
    """A stored UTC timestamp in the programme's time zone."""
    moment = _moment(value)
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(ctx.get("tz") or DEFAULT_TZ)).strftime(fmt)


def duration(seconds: float | None) -> str:
    """'3d 4h', '2h 5m', '7m' — short enough for a phone screen."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    days, rem = divmod(minutes, 60 * 24)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def language_name(code: str | None) -> str:
    """"Urdu (Pakistan)" for ur_PK, in English for officers (Babel's CLDR names)."""
    try:
        return str(Locale.parse(code).get_display_name("en")) if code else "—"
    except (ValueError, UnknownLocaleError):
        return str(code)


@pass_context
def age(ctx: Context, value: str | datetime | None) -> str:
    moment, now = _moment(value), ctx.get("now")
    if moment is None or now is None:
        return "—"
    return duration(max(0.0, (now - moment).total_seconds()))


env.filters.update(
    local=local_time, age=age, duration=duration, stage=labels.stage, status=labels.status,
    reason=labels.reason, role=labels.role, source=labels.source, question=labels.question,
    language=labels.language, esc_source=labels.escalation_source, channel=labels.channel,
    passed_on=labels.passed_on, words=labels.words, band=labels.band,
    subscale=lambda v: labels.label(v, labels.SUBSCALE_LABELS),
    ons4_item=lambda v: labels.label(v, labels.ONS4_ITEMS),
    ack_method=lambda v: labels.label(v, labels.ACK_METHOD_LABELS),
    mask=lambda v: mask_phone(v) if v else "—", language_name=lambda v: language_name(v),
    cell=metrics.display,
    message_language=labels.message_language,
)


def csrf_token(request: Request) -> str:
    getter = request.scope.get("csrftoken")
    return getter() if callable(getter) else ""


def render_page(request: Request, template: str, status_code: int = 200,
                **context: Any) -> HTMLResponse:
    context.setdefault("request", request)
    context.setdefault("csrftoken", csrf_token(request))
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


async def unread_count(database: Any, user: Any) -> int:
    """For the navigation: unread inbox messages from clients this user may open (issue 11)."""
    from admin_web.permissions import allowed, client_scope

    if not allowed(user.role, "client"):
        return 0
    where, params = client_scope(user)
    return int(await database.value(
        "SELECT COUNT(*) FROM inbound i JOIN clients c ON c.id = i.client_id"
        f" WHERE i.inbox IS NOT NULL AND i.read_at IS NULL AND {where}", params))


async def page(request: Request, template: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
    """A panel page for the signed-in user: navigation, the one-time flash, time zone, clock."""
    from admin_web import sessions
    from admin_web.permissions import nav_for
    from admin_web.web import db, is_poll, now, service

    user = getattr(request.state, "user", None)
    if user is not None:
        context.setdefault("user", user)
        if "nav" not in context:
            unread = await unread_count(db(request), user)
            # The unread count rides on the Inbox label, on every page.
            context["nav"] = [(path, f"{label} ({unread})" if path == "/admin/inbox" and unread
                               else label) for path, label in nav_for(user.role)]
        # The live queue's background refresh (static/queue.js) leaves the flash for the
        # person's next real page view.
        if user.flash and "flash" not in context and not is_poll(request):
            context["flash"] = user.flash
            await sessions.pop_flash(db(request), user.session_hash)
    context.setdefault("tz", service(request).settings.timezone)
    context.setdefault("now", now(request))
    context.setdefault("current_path", request.url.path)
    return render_page(request, template, status_code, **context)
