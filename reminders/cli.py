"""Operator commands for the calendar and reminders (registered through bot.cli.CLI_MODULES):

  o2r appointment add --client REF --kind K --at ISO [--place P] [--with WHO] [--repeat RULE]
  o2r appointment cancel ID [--series]      o2r appointment reschedule ID --at ISO [--place P]
  o2r appointment outcome ID attended|missed
  o2r course add-session --at ISO [--place P] [--cohort C]
  o2r course add-cohort --name C --first ISO [--place P]     (four weekly sessions)
  o2r course enrol --client REF [--cohort C]
  o2r course attendance --session ID --client REF attended|missed
  o2r course cancel-session ID              o2r course reschedule-session ID --at ISO
  o2r appointment list [--client REF] [--all]
  o2r reminders list [--client REF] [--limit N] [--json]
  o2r place alias --place P --alias A [--client REF]   (what discreet reminders call a place)

Date-times without an offset are local (O2R_TIMEZONE). The service picks up every change from
the database by itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli import command, emit, in_db, leaf, now
from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx, all_of
from bot.core.people import client_id_by_ref
from bot.core.rota import parse_local
from config.settings import Settings
from reminders import calendar
from reminders.schedule.plans import APPOINTMENT_KINDS
from reminders.upcoming import upcoming


async def _reminder_count(tx: Tx, prefix: str) -> int:
    return int(await tx.value("SELECT COUNT(*) FROM timers WHERE status = 'pending'"
                              " AND key >= ? AND key < ?", (prefix, prefix + "\uffff")))


# Appointments -------------------------------------------------------------------------------

@command("appointment add")
async def cmd_appointment_add(args: argparse.Namespace, settings: Settings) -> int:
    at = parse_local(args.at, settings.timezone)

    async def work(tx: Tx) -> tuple[int, int]:
        cid = await client_id_by_ref(tx, args.client)
        appt = await calendar.add_appointment(
            tx, now(), client_id=cid, kind=args.kind, at=at, place=args.place,
            with_whom=args.with_whom, repeat=args.repeat)
        return appt, await _reminder_count(tx, f"reminder:{appt}:")

    appt, reminders = await in_db(settings, work)
    emit(args, {"id": appt, "reminders": reminders},
         f"{appt}  ({reminders} reminders planned"
         + (", repeating; later dates are added daily)" if args.repeat else ")"))
    return int(appt)


@command("appointment cancel")
async def cmd_appointment_cancel(args: argparse.Namespace, settings: Settings) -> int:
    n: int = await in_db(settings, lambda tx: calendar.cancel_appointment(
        tx, now(), args.id, series=args.series))
    emit(args, {"cancelled": n}, f"cancelled {n} appointment(s) and their reminders")
    return n


@command("appointment reschedule")
async def cmd_appointment_reschedule(args: argparse.Namespace, settings: Settings) -> int:
    at = parse_local(args.at, settings.timezone)
    n: int = await in_db(settings, lambda tx: calendar.reschedule_appointment(
        tx, now(), args.id, at, place=args.place))
    emit(args, {"id": args.id, "reminders": n}, f"appointment {args.id} moved; {n} reminders planned")
    return n


@command("appointment outcome")
async def cmd_appointment_outcome(args: argparse.Namespace, settings: Settings) -> None:
    await in_db(settings, lambda tx: calendar.record_appointment_outcome(
        tx, now(), args.id, args.outcome))
    emit(args, {"id": args.id, "outcome": args.outcome}, f"appointment {args.id}: {args.outcome}")


# Course ---------------------------------------------------------------------------------------

@command("course add-session")
async def cmd_course_add_session(args: argparse.Namespace, settings: Settings) -> int:
    at = parse_local(args.at, settings.timezone)
    sid: int = await in_db(settings, lambda tx: calendar.add_session(
        tx, now(), at=at, place=args.place, cohort=args.cohort))
    emit(args, {"id": sid}, str(sid))
    return sid


@command("course add-cohort")
async def cmd_course_add_cohort(args: argparse.Namespace, settings: Settings) -> list[int]:
    first = parse_local(args.first, settings.timezone)
    ids: list[int] = await in_db(settings, lambda tx: calendar.add_cohort(
        tx, now(), name=args.name, first_at=first, place=args.place))
    emit(args, {"sessions": ids}, "sessions " + ", ".join(map(str, ids)))
    return ids


@command("course enrol")
async def cmd_course_enrol(args: argparse.Namespace, settings: Settings) -> int:
    async def work(tx: Tx) -> tuple[int, int | None]:
        cid = await client_id_by_ref(tx, args.client)
        enrolment = await calendar.enrol_client(tx, now(), cid, cohort=args.cohort)
        nxt = await calendar.next_session(tx, now(), cid)
        return enrolment, nxt["id"] if nxt else None

    enrolment, nxt = await in_db(settings, work)
    emit(args, {"enrolment": enrolment, "next_session": nxt},
         f"enrolled; next session: {nxt if nxt else 'none booked yet'}")
    return int(enrolment)


@command("course attendance")
async def cmd_course_attendance(args: argparse.Namespace, settings: Settings) -> None:
    async def work(tx: Tx) -> None:
        cid = await client_id_by_ref(tx, args.client)
        await calendar.record_attendance(tx, now(), args.session, cid, args.outcome)

    await in_db(settings, work)
    emit(args, {"session": args.session, "client": args.client, "outcome": args.outcome},
         f"session {args.session}, {args.client}: {args.outcome}")


@command("course cancel-session")
async def cmd_course_cancel_session(args: argparse.Namespace, settings: Settings) -> None:
    await in_db(settings, lambda tx: calendar.cancel_session(tx, now(), args.id))
    emit(args, {"cancelled": args.id}, f"session {args.id} cancelled with its reminders")


@command("course reschedule-session")
async def cmd_course_reschedule_session(args: argparse.Namespace, settings: Settings) -> None:
    at = parse_local(args.at, settings.timezone)
    await in_db(settings, lambda tx: calendar.reschedule_session(tx, now(), args.id, at))
    emit(args, {"id": args.id, "at": at.isoformat()}, f"session {args.id} moved")


@command("appointment list")
async def cmd_appointment_list(args: argparse.Namespace,
                               settings: Settings) -> list[dict[str, Any]]:
    """Appointments from today on (or all with --all), soonest first; ids for reschedule etc."""
    where, params = [], []
    if not args.all:
        where.append("a.status = 'scheduled' AND a.at >= ?")
        params.append(iso(now()))
    if args.client:
        where.append("c.ref = ?")
        params.append(args.client)
    async with Database(settings.db_path, settings) as db:
        rows = await db.all(
            "SELECT a.id, c.ref AS client, a.kind, a.at, a.place, a.with_whom, a.status,"
            " a.recurrence, (SELECT COUNT(*) FROM timers t WHERE t.status = 'pending'"
            "  AND t.key >= 'reminder:' || a.id || ':' AND t.key < 'reminder:' || a.id || ';')"
            " AS reminders FROM appointments a JOIN clients c ON c.id = a.client_id"
            f" WHERE {all_of(where)} ORDER BY a.at, a.id", params)
    z = ZoneInfo(settings.timezone)
    data = [dict(r) | {"at_local": parse_iso(r["at"]).astimezone(z).strftime(
        "%a %d %b %Y %H:%M %Z")} for r in rows]
    emit(args, data, "\n".join(
        f"{d['id']:>4}  {d['at_local']}  {d['client']:<10} {d['kind']:<22} {d['status']}"
        + (f"  at {d['place']}" if d["place"] else "") + f"  ({d['reminders']} reminder(s))"
        for d in data) or "no appointments")
    return data


# Listing --------------------------------------------------------------------------------------

@command("reminders list")
async def cmd_reminders_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    async with Database(settings.db_path, settings) as db:
        client_id = None
        if args.client:
            client_id = await db.value("SELECT id FROM clients WHERE ref = ?", (args.client,))
            if client_id is None:
                raise ValueError(f"client: no client with ref {args.client!r}")
        rows = await upcoming(db, settings.timezone, client_id=client_id, limit=args.limit)
    data = [r.as_dict() for r in rows]
    emit(args, data, "\n".join(
        f"{r.due_local}  {r.client_ref or '-':<10} {r.kind:<14} {r.what}"
        + (f"  (for {r.event_local})" if r.event_local else "")
        + (f"  SKIPPED: {r.skip}" if r.skip else "") for r in rows)
        or "nothing pending")
    return data


@command("place alias")
async def cmd_place_alias(args: argparse.Namespace, settings: Settings) -> int:
    async def work(tx: Tx) -> int:
        cid = await client_id_by_ref(tx, args.client) if args.client else None
        return await calendar.set_place_alias(tx, now(), args.place, args.alias, client_id=cid)

    alias_id: int = await in_db(settings, work)
    emit(args, {"id": alias_id}, f"{alias_id}  (discreet reminders now say {args.alias!r})")
    return alias_id


# Parsers --------------------------------------------------------------------------------------

def add_parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser],
                groups: dict[str, Any]) -> None:
    appt = add("appointment", "appointments and their reminders").add_subparsers(
        dest="sub", required=True)
    a = leaf(appt, "add", "add an appointment; prints its id")
    a.add_argument("--client", required=True, help="client ref")
    a.add_argument("--kind", required=True, choices=APPOINTMENT_KINDS)
    a.add_argument("--at", required=True, help="local date-time, e.g. 2026-12-01T10:00")
    a.add_argument("--place")
    a.add_argument("--with", dest="with_whom", help="who the appointment is with")
    a.add_argument("--repeat", help='e.g. "monthly on day 15 at 10:00" (--at gives the first date)')
    c = leaf(appt, "cancel", "cancel an appointment and its reminders")
    c.add_argument("id", type=int)
    c.add_argument("--series", action="store_true", help="also every later date of its series")
    r = leaf(appt, "reschedule", "move an appointment; its reminders are planned anew")
    r.add_argument("id", type=int)
    r.add_argument("--at", required=True)
    r.add_argument("--place")
    li = leaf(appt, "list", "appointments with their ids, soonest first")
    li.add_argument("--client", help="client ref")
    li.add_argument("--all", action="store_true", help="also past, cancelled and marked ones")
    o = leaf(appt, "outcome", "record that the client attended or missed it")
    o.add_argument("id", type=int)
    o.add_argument("outcome", choices=calendar.OUTCOMES)

    course = add("course", "the pre-admission course").add_subparsers(dest="sub", required=True)
    s = leaf(course, "add-session", "add one two-hour session; prints its id")
    s.add_argument("--at", required=True, help="local start, e.g. 2026-12-01T10:00")
    s.add_argument("--place")
    s.add_argument("--cohort", help="cohort name (created on first use)")
    h = leaf(course, "add-cohort", "a new cohort of weekly sessions")
    h.add_argument("--name", required=True)
    h.add_argument("--first", required=True, help="local start of the first session")
    h.add_argument("--place")
    e = leaf(course, "enrol", "invite a client to each next session until admitted")
    e.add_argument("--client", required=True, help="client ref")
    e.add_argument("--cohort", help="the cohort to start with")
    t = leaf(course, "attendance", "record attendance for one session and client")
    t.add_argument("--session", required=True, type=int)
    t.add_argument("--client", required=True, help="client ref")
    t.add_argument("outcome", choices=calendar.OUTCOMES)
    x = leaf(course, "cancel-session", "cancel a session and its reminders")
    x.add_argument("id", type=int)
    m = leaf(course, "reschedule-session", "move a session; reminders are planned anew")
    m.add_argument("id", type=int)
    m.add_argument("--at", required=True)

    place = add("place", "how discreet reminders name a place").add_subparsers(
        dest="sub", required=True)
    pa = leaf(place, "alias", "set a place's alias, for everyone or one client; prints its id")
    pa.add_argument("--place", required=True, help="the place as written on appointments")
    pa.add_argument("--alias", required=True, help='e.g. "the usual place on Broad St"')
    pa.add_argument("--client", help="client ref (default: everyone)")

    rem = add("reminders", "scheduled sends").add_subparsers(dest="sub", required=True)
    ls = leaf(rem, "list", "what will be sent when (local times)")
    ls.add_argument("--client", help="client ref")
    ls.add_argument("--limit", type=int, default=200)
