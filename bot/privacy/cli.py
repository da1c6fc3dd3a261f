"""Operator commands for data protection (registered through bot.cli.CLI_MODULES):

  o2r retention report [--at ISO]       what the schedule would remove now (or at a date), and when next
  o2r retention purge                   run the purge now, every batch, instead of waiting for the night
  o2r client export REF [--out PATH]    subject access archive (zip: export.json + summary.html)
  o2r client hold REF on|off --staff ID [--reason R]    legal hold (a supervisor's decision)
  o2r client erase REF --staff ID --reason R            erasure (a supervisor's decision)
  o2r client correct REF --field F --value V --staff ID --reason R   rectification
  o2r access review [--since ISO]       every panel account: role, last sign-in, clients opened
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli import CliError, command, emit, in_db, leaf, now
from bot.core.audit import audit
from bot.core.clock import parse_iso
from bot.core.db import Database, Tx
from bot.core.people import client_id_by_ref
from bot.core.private_files import private_dir, private_file
from bot.privacy import access_review, erase, export, purge
from bot.privacy.schedule import current
from config.settings import Settings


def _moment(text: str | None, settings: Settings) -> datetime:
    if not text:
        return now()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.timezone))
    return moment.astimezone(now().tzinfo)


@command("retention report")
async def cmd_report(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    at = _moment(args.at, settings)
    async with Database(settings.db_path, settings) as db:
        rows = await purge.report(db, at)
    tz = ZoneInfo(settings.timezone)

    def when(r: dict[str, Any]) -> str:
        return (parse_iso(r["next_due_at"]).astimezone(tz).strftime("%Y-%m-%d")
                if r["next_due_at"] else "-")
    emit(args, rows, "\n".join(
        f"{r['kind']:<18} {r['days']:>5} days from {r['from']:<13} due now {r['due_now']:>6}"
        f"  next {when(r)}" + ("  (operator: files outside the database)"
                               if r["purged_by"] == "operator" else "") for r in rows))
    return rows


@command("retention purge")
async def cmd_purge(args: argparse.Namespace, settings: Settings) -> dict[str, int]:
    total: dict[str, int] = {}
    async with Database(settings.db_path, settings) as db:
        while True:
            counts, more = await db.write(lambda tx: purge.purge_batch(tx, now()))
            for k, n in counts.items():
                total[k] = total.get(k, 0) + n
            if not more:
                break
    emit(args, total, "\n".join(f"{k}: {n}" for k, n in total.items()) or "nothing to purge")
    return total


@command("client export")
async def cmd_export(args: argparse.Namespace, settings: Settings) -> str:
    moment = now()
    async with Database(settings.db_path, settings) as db:
        cid = await db.write(lambda tx: client_id_by_ref(tx, args.ref))
        data = await export.gather(db, cid, moment)
        blob = export.archive(data, settings.timezone)
        out = Path(args.out or Path(settings.db_path).parent / "exports"
                   / f"{args.ref}-{moment:%Y%m%d-%H%M%S}.zip")
        if await asyncio.to_thread(out.exists):
            raise CliError(f"{out} exists; choose a new file")
        await asyncio.to_thread(_write_private, out, blob)
        await db.write(lambda tx: audit(tx, moment, "cli", "client.exported", "client", cid,
                                        file=out.name))
    emit(args, {"file": str(out)}, str(out))
    return str(out)


def _write_private(path: Path, blob: bytes) -> None:
    private_dir(path.parent)
    private_file(path)
    path.write_bytes(blob)


async def _on_client(settings: Settings, ref: str,
                     change: Callable[[Tx, int], Any]) -> int:
    async def work(tx: Tx) -> int:
        cid = await client_id_by_ref(tx, ref)
        await change(tx, cid)
        return cid
    return int(await in_db(settings, work))


@command("client hold")
async def cmd_hold(args: argparse.Namespace, settings: Settings) -> None:
    if args.state == "on" and not args.reason:
        raise CliError("a legal hold needs --reason")
    reason = args.reason if args.state == "on" else None
    await _on_client(settings, args.ref,
                     lambda tx, cid: erase.set_hold(tx, now(), cid, args.staff, reason))
    emit(args, {"ref": args.ref, "legal_hold": args.state == "on"},
         f"{args.ref}: legal hold {args.state}")


@command("client erase")
async def cmd_erase(args: argparse.Namespace, settings: Settings) -> None:
    cid = await _on_client(settings, args.ref,
                           lambda tx, cid: erase.erase(tx, now(), cid, args.staff, args.reason))
    emit(args, {"erased": cid}, f"{args.ref} erased (now ERASED-{cid}); counts kept")


@command("client correct")
async def cmd_correct(args: argparse.Namespace, settings: Settings) -> None:
    await _on_client(settings, args.ref, lambda tx, cid: erase.correct(
        tx, now(), cid, args.staff, args.field, args.value, args.reason))
    emit(args, {"ref": args.ref, "field": args.field}, f"{args.ref}: {args.field} corrected")


@command("access review")
async def cmd_access_review(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    since = (_moment(args.since, settings) if args.since
             else now() - timedelta(days=30 * current().review_every_months))
    async with Database(settings.db_path, settings) as db:
        rows = [asdict(a) for a in await access_review.accounts(db, since)]
    emit(args, rows, "\n".join(
        f"{r['id']:>4}  {r['name']:<20} {r['role']:<10}"
        f" {'sign-in on ' if r['can_sign_in'] else 'switched off'}"
        f"  last {r['last_sign_in'] or 'never':<27} opened {r['clients_opened']}"
        for r in rows) or "no panel accounts")
    return rows


def add_parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser],
                parents: dict[str, Any]) -> None:
    ret = add("retention", "the retention schedule").add_subparsers(dest="sub", required=True)
    rr = leaf(ret, "report", "what would be removed now (or --at a date) and when next")
    rr.add_argument("--at", help="as if it were this date-time (local), e.g. 2027-12-01")
    leaf(ret, "purge", "run the purge now (the service also runs it every night)")

    client = parents["client"]
    ce = leaf(client, "export", "subject access archive (zip: JSON + readable summary)")
    ce.add_argument("ref")
    ce.add_argument("--out", help="the zip to write (default var/exports/REF-time.zip)")
    ch = leaf(client, "hold", "legal hold on or off: nothing of theirs is purged or erased")
    ch.add_argument("ref")
    ch.add_argument("state", choices=("on", "off"))
    ch.add_argument("--staff", type=int, required=True, help="the supervisor deciding")
    ch.add_argument("--reason")
    cx = leaf(client, "erase", "erase a client's personal data (counts kept)")
    cx.add_argument("ref")
    cx.add_argument("--staff", type=int, required=True, help="the supervisor deciding")
    cx.add_argument("--reason", required=True)
    cr = leaf(client, "correct", "correct a profile field (rectification)")
    cr.add_argument("ref")
    cr.add_argument("--field", required=True, choices=erase.CORRECTABLE)
    cr.add_argument("--value", required=True)
    cr.add_argument("--staff", type=int, required=True, help="the supervisor deciding")
    cr.add_argument("--reason", required=True)

    acc = add("access", "access review").add_subparsers(dest="sub", required=True)
    ar = leaf(acc, "review", "every panel account: role, last sign-in, clients opened")
    ar.add_argument("--since", help="start of the period (local), default one review period ago")
