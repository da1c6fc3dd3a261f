"""Operator commands for aftercare groups and peer mentors (registered through
bot.cli.CLI_MODULES):

  o2r mentor promote --client REF --agreed [--name N] [--username U --password-stdin]
  o2r mentor step-down MENTOR [--reason R]        (MENTOR: staff id or the graduate's client ref)
  o2r mentor list
  o2r group add --name N --mentor STAFF_ID [--mentor ...] --meets "weekly:tue 18:00" [--place P]
  o2r group add-mentor --group G --mentor STAFF_ID
  o2r group enrol --group G --client REF          o2r group leave --client REF [--reason R]
  o2r group link-code G                           o2r group list
  o2r milestones propose --client REF --since YYYY-MM-DD

G is a group id or name. The service picks up every change from the database by itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from bot.aftercare import enrolment, group_chat, mentors, milestones
from bot.aftercare import reads as aftercare
from bot.cli import CliError, command, emit, in_db, leaf, now
from bot.core.db import Database, Tx
from bot.core.identities import LINK_CODE_TTL
from bot.core.people import client_id_by_ref
from config.settings import Settings
from reminders.schedule.clock import WEEKDAYS

# Mentors --------------------------------------------------------------------------------------

@command("mentor promote")
async def cmd_mentor_promote(args: argparse.Namespace, settings: Settings) -> int:
    password_hash = None
    if args.username:
        if not args.password_stdin:
            raise CliError("--username needs --password-stdin (the password is read from stdin)")
        from bot.core.passwords import hash_password

        password_hash = hash_password(sys.stdin.readline().rstrip("\r\n"))

    async def work(tx: Tx) -> int:
        cid = await client_id_by_ref(tx, args.client)
        return await mentors.promote(tx, now(), cid, agreed=args.agreed, name=args.name,
                                     username=args.username, password_hash=password_hash)

    staff_id: int = await in_db(settings, work)
    emit(args, {"staff_id": staff_id},
         f"{staff_id}\n(mentor staff id; they are reached on their own phone or Telegram, as"
         f" before. Add them to a group: o2r group add ... --mentor {staff_id})")
    return staff_id


@command("mentor step-down")
async def cmd_mentor_step_down(args: argparse.Namespace, settings: Settings) -> None:
    async def work(tx: Tx) -> int:
        staff_id = await mentors.staff_id_of(tx, args.mentor)
        await mentors.step_down(tx, now(), staff_id, reason=args.reason)
        return staff_id

    staff_id = await in_db(settings, work)
    emit(args, {"stepped_down": staff_id},
         f"mentor {staff_id} stepped down: panel sign-in, group links and mentor messages ended")


@command("mentor list")
async def cmd_mentor_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    async with Database(settings.db_path, settings) as db:
        data = [dict(r) for r in await aftercare.all_mentors(db)]
    emit(args, data, "\n".join(
        f"{r['staff_id']:>4}  {r['name']:<20} {r['ref']:<10} {r['status']:<12}"
        f" {r['agreement_version']}" for r in data) or "no mentors")
    return data


# Groups ---------------------------------------------------------------------------------------

@command("group add")
async def cmd_group_add(args: argparse.Namespace, settings: Settings) -> int:
    group_id: int = await in_db(settings, lambda tx: enrolment.add_group(
        tx, now(), name=args.name, mentor_ids=args.mentor, meets=args.meets, place=args.place))
    emit(args, {"id": group_id}, str(group_id))
    return group_id


@command("group add-mentor")
async def cmd_group_add_mentor(args: argparse.Namespace, settings: Settings) -> None:
    async def work(tx: Tx) -> None:
        await enrolment.add_mentor(tx, now(), await enrolment.group_id_of(tx, args.group), args.mentor)

    await in_db(settings, work)
    emit(args, {"group": args.group, "mentor": args.mentor}, "mentor added")


@command("group enrol")
async def cmd_group_enrol(args: argparse.Namespace, settings: Settings) -> int:
    async def work(tx: Tx) -> int:
        gid = await enrolment.group_id_of(tx, args.group)
        return await enrolment.enrol(tx, now(), gid, await client_id_by_ref(tx, args.client))

    member: int = await in_db(settings, work)
    emit(args, {"membership": member}, f"{args.client} enrolled; meeting reminders planned")
    return member


@command("group leave")
async def cmd_group_leave(args: argparse.Namespace, settings: Settings) -> None:
    async def work(tx: Tx) -> None:
        await enrolment.leave(tx, now(), await client_id_by_ref(tx, args.client), args.reason)

    await in_db(settings, work)
    emit(args, {"left": args.client}, f"{args.client} left their group; reminders cancelled")


@command("group link-code")
async def cmd_group_link_code(args: argparse.Namespace, settings: Settings) -> str:
    async def work(tx: Tx) -> str:
        return await group_chat.new_chat_code(tx, now(), await enrolment.group_id_of(tx, args.group))

    code: str = await in_db(settings, work)
    hours = int(LINK_CODE_TTL.total_seconds() // 3600)
    emit(args, {"code": code, "expires_in_hours": hours},
         f"{code}\n(single use, expires in {hours} hours: add the bot to the group's Telegram"
         f" chat, then send /link {code} in that chat)")
    return code


@command("group list")
async def cmd_group_list(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    async with Database(settings.db_path, settings) as db:
        data = [dict(r) for r in await aftercare.all_groups(db, now())]
    emit(args, data, "\n".join(
        f"{r['id']:>3}  {r['name']:<20} {WEEKDAYS[r['weekday']][:3]} {r['meets_at']}"
        f"  {r['members']} members  mentors: {r['mentor_names'] or 'none'}"
        f"  chat: {r['chat_status'] or 'not linked'}" for r in data) or "no groups")
    return data


# Milestones -----------------------------------------------------------------------------------

@command("milestones propose")
async def cmd_milestones_propose(args: argparse.Namespace, settings: Settings) -> None:
    try:
        since = date.fromisoformat(args.since)
    except ValueError:
        raise CliError(f"--since: {args.since!r} is not a date like 2026-03-01") from None

    async def work(tx: Tx) -> None:
        await milestones.propose(tx, now(), await client_id_by_ref(tx, args.client), since)

    await in_db(settings, work)
    emit(args, {"client": args.client, "since": since.isoformat()},
         f"{args.client}: asked to confirm {since.isoformat()} and whether they want milestone"
         " messages")


# Parsers --------------------------------------------------------------------------------------

def add_parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser],
                parents: dict[str, Any]) -> None:
    mentor = add("mentor", "peer mentors (graduates)").add_subparsers(dest="sub", required=True)
    mp = leaf(mentor, "promote", "make a graduate a peer mentor; prints the staff id")
    mp.add_argument("--client", required=True, help="the graduate's client ref")
    mp.add_argument("--agreed", action="store_true",
                    help="they have read and signed the mentor agreement (required)")
    mp.add_argument("--name", help="name shown to staff (default: their first name)")
    mp.add_argument("--username", help="to use the admin panel's mentor page")
    mp.add_argument("--password-stdin", action="store_true")
    ms = leaf(mentor, "step-down", "end a mentor's role and every access it gave, at once")
    ms.add_argument("mentor", help="staff id, or the graduate's client ref")
    ms.add_argument("--reason")
    leaf(mentor, "list", "mentors, active first")

    group = add("group", "aftercare groups").add_subparsers(dest="sub", required=True)
    ga = leaf(group, "add", "add a group; prints its id")
    ga.add_argument("--name", required=True)
    ga.add_argument("--mentor", required=True, type=int, action="append",
                    help="staff id of a mentor (repeat for more)")
    ga.add_argument("--meets", required=True, help='e.g. "weekly:tue 18:00" (local time)')
    ga.add_argument("--place")
    gm = leaf(group, "add-mentor", "add a mentor to a group")
    gm.add_argument("--group", required=True, help="group id or name")
    gm.add_argument("--mentor", required=True, type=int)
    ge = leaf(group, "enrol", "add a client in aftercare to a group")
    ge.add_argument("--group", required=True, help="group id or name")
    ge.add_argument("--client", required=True, help="client ref")
    gl = leaf(group, "leave", "take a client out of their group")
    gl.add_argument("--client", required=True, help="client ref")
    gl.add_argument("--reason", default="left")
    gc = leaf(group, "link-code", "one-time code to link the group's Telegram chat")
    gc.add_argument("group", help="group id or name")
    leaf(group, "list", "groups, their mentors and chat state")

    ms2 = add("milestones", "recovery milestones").add_subparsers(dest="sub", required=True)
    mpp = leaf(ms2, "propose", "record the date a client gave and ask them to confirm it")
    mpp.add_argument("--client", required=True, help="client ref")
    mpp.add_argument("--since", required=True, help="local date, e.g. 2026-03-01")
