"""Access review: who can sign in to the panel and what they opened.

Daily (with the retention run): a panel sign-in unused for `dormant_days` (config/retention.toml
[access_review]) is switched off: the password is removed and sessions end, so the account can
only come back through a set-password link from an admin. The person stays active for alerts:
an officer who only ever acknowledges by phone must keep getting their clients' alerts.
Admins are told. Each quarter (1 Jan, Apr, Jul, Oct, or as configured) every supervisor gets
the list of accounts: role, last sign-in and how many clients each opened in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx
from bot.core.identities import identities_of
from bot.core.messaging import say
from bot.privacy.purge import Reader, next_run
from bot.privacy.schedule import Schedule, current

TIMER_KEY = "access_review:daily"
TIMER_KIND = "access_review"


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    username: str | None
    can_sign_in: bool
    created_at: str
    last_sign_in: str | None
    clients_opened: int


async def accounts(db: Reader, since: datetime) -> list[Account]:
    """Every account with a username: role, last sign-in, distinct clients opened since."""
    rows = await db.all(
        "SELECT s.id, s.name, s.role, s.username, s.password_hash IS NOT NULL AND s.active = 1"
        " AS can_sign_in, s.created_at,"
        " (SELECT MAX(at) FROM (SELECT MAX(l.at) AS at FROM login_attempts l"
        "   WHERE l.username = s.username AND l.outcome = 'ok'"
        "   UNION ALL SELECT MAX(a.created_at) FROM admin_sessions a"
        "   WHERE a.staff_id = s.id AND a.stage = 'full') AS signed) AS last_sign_in,"
        " (SELECT COUNT(DISTINCT g.object_id) FROM audit_log g WHERE g.actor = 'staff:' || s.id"
        "   AND g.action = 'client.viewed' AND g.at >= ?) AS clients_opened"
        " FROM staff s WHERE s.username IS NOT NULL ORDER BY s.role, s.name", (iso(since),))
    return [Account(r["id"], r["name"], r["role"], r["username"], bool(r["can_sign_in"]),
                    r["created_at"], r["last_sign_in"], int(r["clients_opened"])) for r in rows]


def dormant(account: Account, now: datetime, days: int) -> bool:
    """No sign-in (or, never signed in, no account) for `days`: pure."""
    last = account.last_sign_in or account.created_at
    return account.can_sign_in and parse_iso(last) <= now - timedelta(days=days)


def quarter_start(today: date, every_months: int) -> date:
    """The first day of the review period containing `today` (periods start in January)."""
    month = (today.month - 1) // every_months * every_months + 1
    return date(today.year, month, 1)


async def disable_dormant(tx: Tx, now: datetime, schedule: Schedule) -> list[Account]:
    found = [a for a in await accounts(tx, now) if dormant(a, now, schedule.dormant_days)]
    for a in found:
        await tx.execute("UPDATE staff SET password_hash = NULL, disabled_reason = 'dormant'"
                         " WHERE id = ?", (a.id,))
        await tx.execute("UPDATE admin_sessions SET revoked_at = ? WHERE staff_id = ?"
                         " AND revoked_at IS NULL", (iso(now), a.id))
        await tx.execute("UPDATE staff_setup_links SET revoked_at = ? WHERE staff_id = ?"
                         " AND used_at IS NULL AND revoked_at IS NULL", (iso(now), a.id))
        await audit(tx, now, "system", "staff.sign_in_disabled", "staff", a.id,
                    reason=f"no sign-in for {schedule.dormant_days} days",
                    last_sign_in=a.last_sign_in)
    if found:
        names = ", ".join(f"{a.name} ({a.role})" for a in found)
        await _tell(tx, now, "admin", "privacy.dormant_disabled",
                    {"count": len(found), "days": schedule.dormant_days, "names": names},
                    f"dormant:{now.date().isoformat()}")
    return found


# An SMS is refused above 1,600 characters: the message lists what fits, then says how many more.
SUMMARY_LIMIT = 1200


def summary(accounts_: list[Account], tz: str, limit: int = SUMMARY_LIMIT) -> str:
    zone = ZoneInfo(tz)

    def when(at: str | None) -> str:
        return parse_iso(at).astimezone(zone).strftime("%d %b %Y") if at else "never"
    parts: list[str] = []
    for n, a in enumerate(accounts_):
        line = (f"{a.name} ({a.role}{'' if a.can_sign_in else ', switched off'}): last sign-in"
                f" {when(a.last_sign_in)}, {a.clients_opened} client(s) opened")
        if sum(len(p) + 2 for p in parts) + len(line) > limit:
            parts.append(f"and {len(accounts_) - n} more (o2r access review lists every account)")
            break
        parts.append(line)
    return "; ".join(parts)


async def send_review(tx: Tx, now: datetime, since: datetime) -> int:
    """The review to every supervisor; audited. Returns how many accounts it listed."""
    listed = await accounts(tx, since)
    tz = tx.settings.timezone
    zone = ZoneInfo(tz)
    await _tell(tx, now, "supervisor", "privacy.access_review",
                {"since": since.astimezone(zone).strftime("%d %b %Y"),
                 "until": now.astimezone(zone).strftime("%d %b %Y"),
                 "accounts": summary(listed, tz)},
                f"access_review:{since.date().isoformat()}")
    await audit(tx, now, "system", "staff.access_review_sent", None, None, accounts=len(listed))
    return len(listed)


async def _tell(tx: Tx, now: datetime, role: str, key: str, params: dict[str, Any],
                dedupe: str) -> None:
    for (staff_id,) in await tx.all("SELECT id FROM staff WHERE role = ? AND active = 1",
                                    (role,)):
        for ident in (await identities_of(tx, staff_id=staff_id))[:1]:
            await say(tx, now, ident, key, params, dedupe_key=f"{dedupe}:{staff_id}",
                      cause=key)


async def on_start(db: Database, now: datetime) -> None:
    """Service start: the daily access check is planned (bot.service START_MODULES); the first
    review goes at the start of the next period, not at installation."""
    async def plan(tx: Tx) -> None:
        schedule = current()
        today = now.astimezone(ZoneInfo(tx.settings.timezone)).date()
        period = quarter_start(today, schedule.review_every_months)
        await timers.schedule(tx, now, TIMER_KEY, TIMER_KIND,
                              next_run(now, schedule, tx.settings.timezone),
                              payload={"reviewed": period.isoformat()}, replace=False)
    await db.write(plan)


@timers.handles(TIMER_KIND)
async def _daily(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    schedule = current()
    tz = ZoneInfo(tx.settings.timezone)
    off = await disable_dormant(tx, now, schedule)
    outcome = f"{len(off)} switched off"
    # The first run in a new period sends the review of the one before (a service that was
    # down on the 1st sends it when it comes back).
    period = quarter_start(now.astimezone(tz).date(), schedule.review_every_months)
    payload = dict(timer.payload)
    if payload.get("reviewed") != period.isoformat():
        start = quarter_start(period - timedelta(days=1), schedule.review_every_months)
        await send_review(tx, now, datetime.combine(start, datetime.min.time(), tzinfo=tz))
        payload["reviewed"] = period.isoformat()
        outcome += ", review sent"
    await timers.schedule(tx, now, TIMER_KEY, TIMER_KIND,
                          next_run(now, schedule, tx.settings.timezone), payload=payload)
    return outcome
