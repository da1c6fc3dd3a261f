"""The operator CLI `o2r`. Commands write to the same database as the service, which picks the
change up by itself (its dispatcher and clock loop read due work from the database)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.core.clock import SystemClock
from bot.core.db import Database, Tx, all_of
from bot.core.people import CASE_ROLES, REFERRAL_SOURCES, ROLES, STAGES
from config.settings import ConfigError, Settings, load_settings

Command = Callable[[argparse.Namespace, Settings], Awaitable[Any]]
COMMANDS: dict[str, Command] = {}


class CliError(Exception):
    pass


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn
    return register


# The demo's simulated clock offset (bot.service stores it in demo_clock), read once per run,
# so the CLI stamps what it does in the same time as the running demo.
_demo_offset: list[timedelta] = [timedelta(0)]


def now() -> datetime:
    return SystemClock().now() + _demo_offset[0]


def _read_demo_offset(settings: Settings) -> timedelta:
    import sqlite3

    path = Path(settings.db_path)
    if settings.mode != "demo" or not path.exists():
        return timedelta(0)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT offset_seconds FROM demo_clock WHERE id = 1").fetchone()
    except sqlite3.Error:  # not migrated yet: no demo clock
        return timedelta(0)
    return timedelta(seconds=float(row[0])) if row else timedelta(0)


async def in_db(settings: Settings, fn: Callable[[Tx], Awaitable[Any]]) -> Any:
    async with Database(settings.db_path, settings) as db:
        return await db.write(fn)


def leaf(group: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """A subcommand that, like every command, takes --json."""
    p: argparse.ArgumentParser = group.add_parser(name, help=help_text)
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def emit(args: argparse.Namespace, data: Any, text: str | None = None) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str))
    else:
        print(text if text is not None else data)


# Service ------------------------------------------------------------------------------------

def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from bot.app import create_app

    app = create_app(settings)
    print(startup_lines(settings, host, port), flush=True)
    access_log = os.environ.get("O2R_ACCESS_LOG", "on").lower() not in ("off", "0", "false")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log,
                **proxy_options(settings))


def startup_lines(settings: Settings, host: str, port: int) -> str:
    """What a newcomer needs from the terminal: where the panel and simulator are, and in demo
    how to sign in (the demo password is public: demo mode only)."""
    base = f"http://{host}:{port}"
    lines = [f"o2r on {base}/  (mode {settings.mode})", f"  admin panel: {base}/admin/"]
    if settings.simulator:
        lines.append(f"  simulator:   {base}/sim")
    if settings.mode == "demo":
        from bot.demo import DEMO_PASSWORD, DEMO_STAFF

        users = ", ".join(u for _, _, u, _ in DEMO_STAFF)
        lines.append(f"  demo logins: {users}; password {DEMO_PASSWORD}")
    return "\n".join(lines)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's X-Forwarded-* handling, for the proxies named in O2R_TRUSTED_PROXIES only
    (uvicorn's own default would believe any loopback peer)."""
    return {"proxy_headers": bool(settings.trusted_proxies),
            "forwarded_allow_ips": list(settings.trusted_proxies) or None}


def _claim(settings: Settings, host: str, port: int) -> None:
    """Before anything is migrated, seeded or started: the port is free and no other service
    holds this database (SQLite: one instance; PostgreSQL is shared by design)."""
    from bot.core.instance import CannotStart, check_port, hold_database

    try:
        check_port(host, port)
        if settings.db_url is None:
            hold_database(Path(settings.db_path))
    except CannotStart as exc:
        raise CliError(str(exc)) from None


@command("serve")
async def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    _claim(settings, args.host, args.port)
    if args.demo_if_unconfigured and not settings.has_provider:
        await cmd_demo(args, settings)
        return
    _serve_later.append((settings, args.host, args.port))


@command("demo")
async def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    from bot.demo import seed_demo

    if settings.mode != "demo":
        raise CliError("o2r demo runs only with O2R_MODE=demo (it adds invented people)")
    if args.cmd == "demo":  # `serve --demo-if-unconfigured` has claimed already
        _claim(settings, args.host, args.port)
    if not settings.simulator:
        settings = _replace(settings, simulator=True)
    async with Database(settings.db_path, settings) as db:
        created = await seed_demo(db, now())
    print("demo caseload ready" + (" (created)" if created else " (already there)"))
    _serve_later.append((settings, args.host, args.port))


def _replace(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)


_serve_later: list[tuple[Settings, str, int]] = []


# People -------------------------------------------------------------------------------------

@command("staff add")
async def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.people import Contact, add_staff

    password_hash = None
    if args.username:
        if not args.password_stdin:
            raise CliError("--username needs --password-stdin (the password is read from stdin)")
        from bot.core.passwords import hash_password

        password = sys.stdin.readline().rstrip("\r\n")
        password_hash = hash_password(password, (args.username, *args.name.split()))
    staff_id: int = await in_db(settings, lambda tx: add_staff(
        tx, now(), name=args.name, role=args.role,
        contact=Contact(args.phone, args.telegram_chat_id), username=args.username,
        password_hash=password_hash))
    emit(args, {"id": staff_id}, str(staff_id))
    return staff_id


@command("staff setup-link")
async def cmd_staff_setup_link(args: argparse.Namespace, settings: Settings) -> str:
    """For the operator (shell access): print a one-time set-password link for a person who has
    no phone or Telegram for the panel to send it to. Audited like the panel's."""
    from bot.core.accounts import SETUP_LINK_TTL, issue_setup_link, setup_url

    token: str = await in_db(settings, lambda tx: issue_setup_link(tx, now(), args.staff_id,
                                                                   "cli"))
    url = setup_url(settings.public_url, token)
    hours = int(SETUP_LINK_TTL.total_seconds() // 3600)
    emit(args, {"staff": args.staff_id, "url": url, "valid_hours": hours},
         f"{url}\n(one use, valid {hours} hours; give it only to the person themselves)")
    return url


@command("client add")
async def cmd_client_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.people import Contact, add_client

    async def work(tx: Tx) -> int:
        client_id = await add_client(
            tx, now(), ref=args.ref, first_name=args.first_name, officer_id=args.officer,
            contact=Contact(args.phone, args.telegram_chat_id), language=args.language,
            stage=args.stage, consented=args.consented, area=args.area,
            referral_source=args.referral_source)
        from bot.conversation import after_client_added

        await after_client_added(tx, now(), client_id)
        return client_id

    client_id: int = await in_db(settings, work)
    emit(args, {"id": client_id}, str(client_id))
    return client_id


@command("staff list")
async def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    """Everyone with an account, so `--officer` and `--mentor` ids can be looked up by name."""
    where = [] if args.all else ["s.active = 1"]
    params: list[Any] = []
    if args.role:
        where.append("s.role = ?")
        params.append(args.role)
    async with Database(settings.db_path, settings) as db:
        rows = await db.all(
            "SELECT s.id, s.name, s.role, s.username, s.available, s.active,"
            " (SELECT COUNT(*) FROM clients c WHERE c.officer_id = s.id) AS clients"
            f" FROM staff s WHERE {all_of(where)} ORDER BY s.name, s.id", params)
    data = [dict(r) | {"available": bool(r["available"]), "active": bool(r["active"])}
            for r in rows]
    emit(args, data, "\n".join(
        f"{d['id']:>4}  {d['name']:<24} {d['role']:<10}"
        + ("" if d["available"] else " unavailable") + ("" if d["active"] else " inactive")
        + (f"  {d['clients']} client(s)" if d["role"] in CASE_ROLES else "") for d in data)
        or "no staff")
    return data


@command("client list")
async def cmd_client_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    """The caseload by reference; ids are what the panel's addresses use."""
    where, params = [], []
    for key, column in (("officer", "c.officer_id"), ("stage", "c.stage")):
        if getattr(args, key):
            where.append(f"{column} = ?")
            params.append(getattr(args, key))
    async with Database(settings.db_path, settings) as db:
        rows = await db.all(
            "SELECT c.id, c.ref, c.first_name, c.stage, c.status, c.officer_id,"
            " s.name AS officer, c.language, c.checkin_time, c.quiet_start, c.quiet_end,"
            " c.consent_at IS NOT NULL AS consented,"
            " (SELECT COUNT(*) FROM escalations e WHERE e.client_id = c.id"
            "  AND e.status <> 'resolved') AS open_escalations"
            " FROM clients c JOIN staff s ON s.id = c.officer_id"
            f" WHERE {all_of(where)} ORDER BY c.ref", params)
    data = [dict(r) | {"consented": bool(r["consented"])} for r in rows]
    emit(args, data, "\n".join(
        f"{d['id']:>4}  {d['ref']:<12} {d['first_name']:<14} {d['stage']:<18}"
        f" officer {d['officer']}" + ("" if d["consented"] else "  (no consent yet)")
        + (f"  {d['open_escalations']} open escalation(s)" if d["open_escalations"] else "")
        for d in data) or "no clients")
    return data


@command("client link-code")
async def cmd_link_code(args: argparse.Namespace, settings: Settings) -> str:
    from bot.core.identities import LINK_CODE_TTL, new_link_code
    from bot.core.people import client_id_by_ref

    async def work(tx: Tx) -> str:
        cid = await client_id_by_ref(tx, args.ref)
        return await new_link_code(tx, now(), client_id=cid)

    code: str = await in_db(settings, work)
    hours = int(LINK_CODE_TTL.total_seconds() // 3600)
    emit(args, {"code": code, "expires_in_hours": hours},
         f"{code}\n(single use, expires in {hours} hours: the client sends /start {code}"
         " to the bot on Telegram)")
    return code


@command("send")
async def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.messaging import officer_message
    from bot.core.people import client_id_by_ref

    async def work(tx: Tx) -> int:
        cid = await client_id_by_ref(tx, args.client)
        return await officer_message(tx, now(), cid, args.text, actor="cli")

    row: int = await in_db(settings, work)
    emit(args, {"outbox_id": row}, f"queued as outbox row {row}")
    return row


@command("backup")
async def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    target = Path(args.path)
    if await asyncio.to_thread(target.exists):
        raise CliError(f"{target} exists; choose a new file")
    async with Database(settings.db_path, settings) as db:
        await db.backup(target)
    emit(args, {"backup": str(target)}, f"backup written to {target}")


@command("telegram set-webhook")
async def cmd_set_webhook(args: argparse.Namespace, settings: Settings) -> None:
    if not settings.telegram_enabled:
        raise CliError("O2R_TELEGRAM_TOKEN is not set")
    from bot.channels.telegram import make_bot

    bot = make_bot(settings)
    url = settings.public("/webhooks/telegram")
    async with bot:
        await bot.set_webhook(url=url, secret_token=settings.telegram_webhook_secret,
                              allowed_updates=["message", "callback_query", "my_chat_member"])
    emit(args, {"webhook": url}, f"webhook set to {url}")


# Flows --------------------------------------------------------------------------------------

@command("flow list")
async def cmd_flow_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    from flows import registry

    data = [{"id": f.id, "version": f.version, "kind": f.kind, "title": f.title,
             "priority": f.priority} for f in registry.all_flows()]
    emit(args, data, "\n".join(f"{d['id']:<28} v{d['version']}  {d['title']}" for d in data))
    return data


@command("flow start")
async def cmd_flow_start(args: argparse.Namespace, settings: Settings) -> str:
    from bot.conversation import start_flow
    from bot.core.people import client_id_by_ref
    from flows import registry

    try:
        registry.latest(args.flow)
    except KeyError:
        raise CliError(f"no flow {args.flow!r}; see o2r flow list") from None

    async def work(tx: Tx) -> str:
        cid = await client_id_by_ref(tx, args.client)
        return await start_flow(tx, now(), cid, args.flow, officer_started=True, cause="cli")

    outcome: str = await in_db(settings, work)
    emit(args, {"flow": args.flow, "client": args.client, "outcome": outcome},
         f"{args.flow} for {args.client}: {outcome}")
    return outcome


# Escalations ----------------------------------------------------------------------------------

@command("escalations list")
async def cmd_escalations_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    async with Database(settings.db_path, settings) as db:
        rows = await db.all(
            "SELECT e.id, e.severity, e.status, e.reason, e.level,"
            " COALESCE(c.ref, 'unknown number') AS ref, COALESCE(c.first_name, '') AS first_name,"
            " e.client_id, e.inbound_id,"
            " e.officer_id, e.created_at, e.acknowledged_at, e.acknowledged_by, e.resolved_at,"
            " e.outcome FROM escalations e LEFT JOIN clients c ON c.id = e.client_id"
            + (" WHERE e.status <> 'resolved'" if args.open else "")
            + " ORDER BY CASE e.severity WHEN 'RED' THEN 0 WHEN 'AMBER' THEN 1 ELSE 2 END,"
            " e.created_at")
    data = [dict(r) for r in rows]
    emit(args, data, "\n".join(
        f"#{r['id']} {r['severity']:<7} {r['status']:<12} {r['ref']} {r['first_name']}:"
        f" {r['reason']} ({r['created_at'][:16]})" for r in data) or "no escalations")
    return data


@command("escalation ack")
async def cmd_escalation_ack(args: argparse.Namespace, settings: Settings) -> None:
    from bot.escalation.alerts import acknowledge

    done = await in_db(settings, lambda tx: acknowledge(tx, now(), args.id, args.staff, "cli"))
    emit(args, {"acknowledged": done},
         "acknowledged" if done else "already acknowledged or resolved")


@command("escalation resolve")
async def cmd_escalation_resolve(args: argparse.Namespace, settings: Settings) -> None:
    from bot.escalation.alerts import resolve

    closed = await in_db(settings, lambda tx: resolve(tx, now(), args.id, args.staff,
                                                      args.outcome, args.note))
    if closed:
        emit(args, {"resolved": args.id}, f"escalation {args.id} resolved")
    else:
        emit(args, {"resolved": None, "still_open": args.id},
             f"escalation {args.id} stays open with a new deadline (outcome does not close it)")


@command("staff availability")
async def cmd_staff_availability(args: argparse.Namespace, settings: Settings) -> None:
    from bot.core.rota import set_availability

    await in_db(settings, lambda tx: set_availability(tx, now(), args.staff_id,
                                                      args.state == "on", args.reason, "cli"))
    emit(args, {"staff": args.staff_id, "available": args.state == "on"},
         f"staff {args.staff_id} is now {'available' if args.state == 'on' else 'unavailable'}")


@command("rota add")
async def cmd_rota_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.rota import add_duty, parse_local

    rota_id: int = await in_db(settings, lambda tx: add_duty(
        tx, now(), args.staff, args.duty, parse_local(args.start, settings.timezone),
        parse_local(args.end, settings.timezone), "cli"))
    emit(args, {"id": rota_id}, str(rota_id))
    return rota_id


@command("client discharge")
async def cmd_client_discharge(args: argparse.Namespace, settings: Settings) -> None:
    from bot.core.people import client_id_by_ref
    from bot.journey import discharge

    async def work(tx: Tx) -> None:
        await discharge(tx, now(), await client_id_by_ref(tx, args.ref), args.reason, "cli")

    await in_db(settings, work)
    emit(args, {"discharged": args.ref, "reason": args.reason},
         f"{args.ref}: discharge ({args.reason}) recorded; 28-day heightened window started")


@command("client stage")
async def cmd_client_stage(args: argparse.Namespace, settings: Settings) -> None:
    from bot.core.people import client_id_by_ref
    from bot.journey import change_stage

    async def work(tx: Tx) -> str:
        return await change_stage(tx, now(), await client_id_by_ref(tx, args.ref), args.stage,
                                  "cli", args.reason)

    done = await in_db(settings, work)
    emit(args, {"client": args.ref, "stage": args.stage, "result": done},
         f"{args.ref}: {args.stage} ({done})"
         + ("; post-discharge protocol started" if done == "discharged" else ""))


@command("client custody")
async def cmd_client_custody(args: argparse.Namespace, settings: Settings) -> None:
    from bot.core.people import client_id_by_ref
    from bot.journey import set_custody

    async def work(tx: Tx) -> bool:
        return await set_custody(tx, now(), await client_id_by_ref(tx, args.ref),
                                 args.state == "on", "cli")

    changed = await in_db(settings, work)
    emit(args, {"client": args.ref, "in_custody": args.state == "on", "changed": changed},
         f"{args.ref}: {'in custody' if args.state == 'on' else 'not in custody'}"
         + ("" if changed else " (no change)"))


def _escalation_parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser],
                        staff: Any, client: Any) -> None:
    escs = add("escalations", "escalations").add_subparsers(dest="sub", required=True)
    el = escs.add_parser("list", help="list escalations, most urgent first")
    el.add_argument("--open", action="store_true", help="only those not resolved")
    el.add_argument("--json", action="store_true")
    esc = add("escalation", "act on one escalation").add_subparsers(dest="sub", required=True)
    ea = esc.add_parser("ack", help="acknowledge")
    ea.add_argument("id", type=int)
    ea.add_argument("--staff", type=int, required=True)
    ea.add_argument("--json", action="store_true")
    er = esc.add_parser("resolve", help="resolve with an outcome")
    er.add_argument("id", type=int)
    er.add_argument("--staff", type=int, required=True)
    er.add_argument("--outcome", required=True)
    er.add_argument("--note")
    er.add_argument("--json", action="store_true")
    sv = staff.add_parser("availability", help="mark a staff member available or not")
    sv.add_argument("staff_id", type=int)
    sv.add_argument("state", choices=("on", "off"))
    sv.add_argument("--reason", help="leave, sickness, off shift")
    sv.add_argument("--json", action="store_true")
    rota = add("rota", "duty rota").add_subparsers(dest="sub", required=True)
    ra = rota.add_parser("add", help="put someone on duty for a period (local times)")
    ra.add_argument("--staff", type=int, required=True)
    ra.add_argument("--duty", choices=("duty_officer", "duty_supervisor"), default="duty_officer")
    ra.add_argument("--from", dest="start", required=True, help="e.g. 2026-12-01T18:00")
    ra.add_argument("--to", dest="end", required=True)
    ra.add_argument("--json", action="store_true")
    cs = client.add_parser("stage", help="move a client's journey stage (a discharge from rehab"
                                         " starts the post-discharge protocol)")
    cs.add_argument("ref")
    cs.add_argument("stage", choices=STAGES)
    cs.add_argument("--reason", required=True)
    cs.add_argument("--json", action="store_true")
    cc = client.add_parser("custody", help="record a client in custody (nothing automated is sent)"
                                           " or out again")
    cc.add_argument("ref")
    cc.add_argument("state", choices=("on", "off"))
    cc.add_argument("--json", action="store_true")
    cd = client.add_parser("discharge", help="record leaving rehab or custody")
    cd.add_argument("ref")
    cd.add_argument("--reason", required=True, choices=("early", "completed", "custody-release"))
    cd.add_argument("--json", action="store_true")


# Parser -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="o2r", description="o2r operator commands")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--json", action="store_true", help="print JSON")
        return sp

    for name, help_text in (("serve", "run the service"),
                            ("demo", "invented caseload + simulator, then serve")):
        sp = add(name, help_text)
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        if name == "serve":
            sp.add_argument("--demo-if-unconfigured", action="store_true",
                            help="with no provider credentials, run the demo instead")

    staff = add("staff", "staff accounts").add_subparsers(dest="sub", required=True)
    sa = staff.add_parser("add", help="add a staff member; prints the id")
    sa.add_argument("--name", required=True)
    sa.add_argument("--role", required=True, choices=ROLES)
    sa.add_argument("--phone")
    sa.add_argument("--telegram-chat-id")
    sa.add_argument("--username")
    sa.add_argument("--password-stdin", action="store_true",
                    help="bootstrap by the operator: read the password from stdin")
    sa.add_argument("--json", action="store_true")
    sl = staff.add_parser("setup-link", help="print a one-time set-password link for a person")
    sl.add_argument("staff_id", type=int)
    sl.add_argument("--json", action="store_true")

    sli = staff.add_parser("list", help="staff accounts with their ids")
    sli.add_argument("--role", choices=ROLES)
    sli.add_argument("--all", action="store_true", help="include deactivated accounts")
    sli.add_argument("--json", action="store_true")

    client = add("client", "clients").add_subparsers(dest="sub", required=True)
    cli_ = client.add_parser("list", help="clients with their ids, officer and stage")
    cli_.add_argument("--officer", type=int, help="staff id of the officer")
    cli_.add_argument("--stage", choices=STAGES)
    cli_.add_argument("--json", action="store_true")
    ca = client.add_parser("add", help="add a client; prints the id")
    ca.add_argument("--ref", required=True)
    ca.add_argument("--first-name", required=True)
    ca.add_argument("--officer", required=True, type=int, help="staff id of the officer")
    ca.add_argument("--phone")
    ca.add_argument("--telegram-chat-id")
    ca.add_argument("--language", default="en_GB")
    ca.add_argument("--stage", default="referral")
    ca.add_argument("--area")
    ca.add_argument("--referral-source", choices=REFERRAL_SOURCES)
    ca.add_argument("--consented", action="store_true",
                    help="the officer recorded consent in person")
    ca.add_argument("--json", action="store_true")
    cl = client.add_parser("link-code", help="one-time code to link a Telegram chat")
    cl.add_argument("ref")
    cl.add_argument("--json", action="store_true")

    se = add("send", "send an officer's own message to a client")
    se.add_argument("--client", required=True)
    se.add_argument("text")

    bk = add("backup", "online backup of the database")
    bk.add_argument("path")

    tg = add("telegram", "Telegram setup").add_subparsers(dest="sub", required=True)
    sw = tg.add_parser("set-webhook", help="register the webhook with its secret")
    sw.add_argument("--json", action="store_true")

    fl = add("flow", "conversation flows").add_subparsers(dest="sub", required=True)
    fl.add_parser("list", help="the flows and their versions").add_argument("--json",
                                                                           action="store_true")
    fs = fl.add_parser("start", help="start a flow for a client now (as an officer)")
    fs.add_argument("flow")
    fs.add_argument("--client", required=True, help="client ref")
    fs.add_argument("--json", action="store_true")

    _escalation_parsers(sub, add, staff, client)
    # Capabilities with their own command modules add their parsers here.
    import importlib

    for module in CLI_MODULES:
        importlib.import_module(module).add_parsers(sub, add, {"staff": staff, "client": client})
    return p


# Each defines add_parsers(sub, add, groups) and registers its commands with @command.
CLI_MODULES: tuple[str, ...] = ("reminders.cli", "bot.aftercare.cli", "bot.crisis_cli",
                               "bot.privacy.cli",
                               "bot.texts_cli")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The clock loop runs every few seconds; its routine runs are not news.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    name = args.cmd + (f" {args.sub}" if getattr(args, "sub", None) else "")
    try:
        settings = load_settings()
        from bot.logs import install

        install(settings)
        _demo_offset[0] = _read_demo_offset(settings)
        asyncio.run(COMMANDS[name](args, settings))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (CliError, ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for settings, host, port in _serve_later:
        _serve(settings, host, port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
