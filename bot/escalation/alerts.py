"""Escalation to officers: finding -> escalation -> notices -> acknowledged -> resolved.

Every step is rows: the escalation, a notice per person told, a deadline timer per level. A
restart loses nothing; a deadline that passes tells the next person in the chain, and the last
level (every supervisor) is told again and again until someone acknowledges.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.identities import Identity, identities_of
from bot.core.messaging import say, say_to_client
from bot.core.outbox import PRIORITY_ESCALATION, enqueue
from bot.core.phones import mask_phone
from bot.core.texts import has_text, render
from bot.escalation.rules import (
    ALERT_SEVERITY,
    SEVERITY_RANK,
    People,
    ack_deadline,
    load_config,
    should_hold,
    targets_at,
)

log = logging.getLogger(__name__)

ACK_METHODS = ("telegram_button", "call_now", "sms", "web", "cli")
OPEN = ("open", "notified", "acknowledged")


class EscalationError(ValueError):
    pass


# Finding -> escalation ------------------------------------------------------------------------

async def on_finding(tx: Tx, now: datetime, finding_id: int) -> int | None:
    f = await tx.one("SELECT * FROM findings WHERE id = ?", (finding_id,))
    assert f is not None
    severity = ALERT_SEVERITY.get(f["severity"])
    if severity is None:
        return None  # YELLOW: the weekly review list, not an alert
    existing = await tx.one(
        "SELECT * FROM escalations WHERE client_id = ? AND reason = ? AND status <> 'resolved'",
        (f["client_id"], f["reason"]))
    if existing is not None:
        await tx.execute("UPDATE findings SET escalation_id = ? WHERE id = ?",
                         (existing["id"], finding_id))
        await audit(tx, now, "system", "escalation.finding_attached", "escalation",
                    existing["id"], finding_id=finding_id)
        if SEVERITY_RANK[severity] > SEVERITY_RANK[existing["severity"]]:
            # Worse news on an open alert: raise it and tell people again at once.
            await tx.execute(
                "UPDATE escalations SET severity = ?, updated_at = ? WHERE id = ?",
                (severity, iso(now), existing["id"]))
            await audit(tx, now, "system", "escalation.upgraded", "escalation", existing["id"],
                        severity=severity)
            if existing["status"] != "acknowledged":
                await _notify_level(tx, now, existing["id"], 0)
        return int(existing["id"])
    client = await tx.one("SELECT officer_id FROM clients WHERE id = ?", (f["client_id"],))
    esc_id = await tx.execute(
        "INSERT INTO escalations (client_id, severity, reason, source, officer_id, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (f["client_id"], severity, f["reason"], f["source"], client[0], iso(now), iso(now)))
    await tx.execute("UPDATE findings SET escalation_id = ? WHERE id = ?", (esc_id, finding_id))
    await audit(tx, now, "system", "escalation.opened", "escalation", esc_id, severity=severity,
                reason=f["reason"], source=f["source"])
    await _notify_level(tx, now, esc_id, 0)
    return esc_id


# Routing ---------------------------------------------------------------------------------------

async def duty(tx: Tx, now: datetime, kind: str) -> int | None:
    """Who is on the rota for `kind` now (active and available), latest start first."""
    return await tx.value(
        "SELECT r.staff_id FROM rota r JOIN staff s ON s.id = r.staff_id"
        " WHERE r.duty = ? AND r.starts_at <= ? AND r.ends_at > ? AND s.active = 1"
        " AND s.available = 1 ORDER BY r.starts_at DESC, r.id DESC LIMIT 1",
        (kind, iso(now), iso(now)))


async def people_for(tx: Tx, now: datetime, client_id: int | None) -> People:
    r = await tx.one(
        "SELECT c.officer_id, s.available = 1 AND s.active = 1 FROM clients c"
        " JOIN staff s ON s.id = c.officer_id WHERE c.id = ?", (client_id,)) \
        if client_id is not None else None
    supervisors = [row[0] for row in await tx.all(
        "SELECT id FROM staff WHERE role = 'supervisor' AND active = 1 AND available = 1"
        " ORDER BY id")]
    return People(assigned=r[0] if r else None, assigned_available=bool(r[1]) if r else False,
                  duty_officer=await duty(tx, now, "duty_officer"),
                  duty_supervisor=await duty(tx, now, "duty_supervisor"),
                  supervisors=supervisors)


async def _notify_level(tx: Tx, now: datetime, esc_id: int, level: int,
                        fresh: bool = False) -> None:
    """Tell the people at `level`. `fresh`: a follow-up deadline passed, start the chain again."""
    esc = await tx.one("SELECT * FROM escalations WHERE id = ?", (esc_id,))
    people = await people_for(tx, now, esc["client_id"])
    told = set() if fresh else {row[0] for row in await tx.all(
        "SELECT DISTINCT staff_id FROM escalation_notices WHERE escalation_id = ?", (esc_id,))}
    used, targets = targets_at(level, esc["severity"], people, told)
    resend = _resend_line(esc, now, fresh) if (level > 0 or fresh) else None
    for staff_id in targets:
        await _notice(tx, now, esc, staff_id, used, resend)
    await tx.execute(
        "UPDATE escalations SET status = CASE WHEN status = 'open' THEN 'notified' ELSE status END,"
        " level = ?, notified_at = COALESCE(notified_at, ?), updated_at = ? WHERE id = ?",
        (used, iso(now), iso(now), esc_id))
    cfg = load_config()
    settings = tx.settings
    due = ack_deadline(esc["severity"], now, settings.ack_deadlines, cfg.working_hours,
                       ZoneInfo(settings.timezone))
    await timers.schedule(tx, now, f"ack:{esc_id}", "ack_deadline", due,
                          client_id=esc["client_id"], payload={"escalation": esc_id,
                                                               "level": used + 1})


def _resend_line(esc: object, now: datetime, fresh: bool) -> str:
    """Why a re-sent alert reaches this person, and how long it has waited (issue 11)."""
    waited = max(0, int((now - parse_iso(esc["created_at"])).total_seconds() // 60))  # type: ignore[index]
    waited_text = f"{waited // 60} h {waited % 60} min" if waited >= 60 else f"{waited} min"
    if fresh:
        return render("escalation.resend_still_open", {
            "waited": waited_text, "outcome": esc["outcome"] or ""})  # type: ignore[index]
    return render("escalation.resend", {"waited": waited_text})


async def subject(tx: Tx, esc: object) -> dict[str, object]:
    """Who an escalation is about, for alerts: the client, or for crisis words from a number we
    do not know, "unknown number" and the number masked (staff alerts carry no full number)."""
    if esc["client_id"] is not None:  # type: ignore[index]
        r = await tx.one("SELECT id, ref, first_name FROM clients WHERE id = ?",
                         (esc["client_id"],))  # type: ignore[index]
        return dict(r)
    msg = await tx.one("SELECT channel, address FROM inbound WHERE id = ?",
                       (esc["inbound_id"],))  # type: ignore[index]
    label = (mask_phone(msg["address"]) if msg["channel"] == "sms"
             else f"{msg['channel']} {msg['address']}") if msg else "?"
    return {"id": None, "ref": render("escalation.unknown_number"), "first_name": label}


def _alert_params(esc: object, client: object, tz: str) -> dict[str, str]:
    reason = esc["reason"]  # type: ignore[index]
    key = f"reason.{reason}"
    at = parse_iso(esc["created_at"]).astimezone(ZoneInfo(tz))  # type: ignore[index]
    return {
        "id": str(esc["id"]),  # type: ignore[index]
        "severity": esc["severity"],  # type: ignore[index]
        "ref": client["ref"],  # type: ignore[index]
        "first_name": client["first_name"],  # type: ignore[index]
        "category": render(key) if has_text(key) else reason.replace("_", " "),
        "time": at.strftime("%H:%M"),
    }


async def crisis_why(tx: Tx, esc_id: int) -> str | None:
    """Why the crisis screen fired, for the Telegram alert: the frame in plain language and
    the client's words (flows.risk.crisis_finding), or a language's AMBER net ("possible crisis
    words in Polish: the screen was not sure"). Not on SMS alerts, which lock screens and
    carriers show; the panel shows it too."""
    return await tx.value(
        "SELECT detail FROM findings WHERE escalation_id = ? AND ((reason IN"
        " ('crisis_text', 'overdose') AND source = 'answer') OR reason = 'possible_crisis')"
        " ORDER BY id DESC LIMIT 1", (esc_id,))


def _buttons(esc_id: int, client_id: int | None, public_url: str | None) -> dict[str, object]:
    row: list[dict[str, str]] = [{"text": render("escalation.button_ack"),
                                  "callback_data": f"ack:{esc_id}"},
                                 {"text": render("escalation.button_call"),
                                  "callback_data": f"call:{esc_id}"}]
    keyboard: list[list[dict[str, str]]] = [row]
    if public_url and public_url.startswith("https://"):
        where = f"clients/{client_id}" if client_id is not None else "unmatched"
        keyboard.append([{"text": render("escalation.button_open"),
                          "url": f"{public_url.rstrip('/')}/admin/{where}"}])
    return {"inline_keyboard": keyboard}


async def staff_identity(tx: Tx, staff_id: int) -> tuple[Identity | None, Identity | None]:
    """(Telegram or simulator identity, SMS identity) of a staff member."""
    chat = sms = None
    for ident in await identities_of(tx, staff_id=staff_id):
        if ident.channel in ("telegram", "sim") and chat is None:
            chat = ident
        elif ident.channel == "sms" and sms is None:
            sms = ident
    return chat, sms


async def _notice(tx: Tx, now: datetime, esc: object, staff_id: int, level: int,
                  resend: str | None = None) -> None:
    cfg = load_config()
    client = await subject(tx, esc)
    recent = await tx.value(
        "SELECT COUNT(*) FROM escalation_notices WHERE staff_id = ? AND at > ? AND held = 0",
        (staff_id, iso(now - cfg.batch_window)))
    if should_hold(esc["severity"], int(recent), cfg):  # type: ignore[index]
        await tx.execute(
            "INSERT INTO escalation_notices (escalation_id, staff_id, level, held, at)"
            " VALUES (?, ?, ?, 1, ?)", (esc["id"], staff_id, level, iso(now)))  # type: ignore[index]
        await timers.schedule(tx, now, f"digest:{staff_id}", "alert_digest",
                              now + cfg.batch_window, payload={"staff": staff_id}, replace=False)
        return
    outbox_id, channel = await _send_alert(tx, now, esc, client, staff_id, resend)
    await tx.execute(
        "INSERT INTO escalation_notices (escalation_id, staff_id, level, channel, outbox_id, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (esc["id"], staff_id, level, channel, outbox_id, iso(now)))  # type: ignore[index]
    await audit(tx, now, "system", "escalation.notified", "escalation",
                esc["id"], staff_id=staff_id, level=level, channel=channel)  # type: ignore[index]


async def _send_alert(tx: Tx, now: datetime, esc: object, client: object,
                      staff_id: int, resend: str | None = None) -> tuple[int | None, str | None]:
    settings = tx.settings
    params = _alert_params(esc, client, settings.timezone)
    chat, sms = await staff_identity(tx, staff_id)
    cause = f"escalation:{esc['id']}"  # type: ignore[index]
    tail = f"\n{resend}" if resend else ""
    if chat is not None:
        why = await crisis_why(tx, int(esc["id"]))  # type: ignore[index]
        text = render("escalation.alert", params) + (
            "\n" + render("escalation.alert_why", {"why": why}) if why else "")
        if chat.channel == "sim":  # the simulator shows the buttons and, as on SMS, ACK n
            text += "\n" + render("escalation.alert_ack_hint", params)
        row = await enqueue(
            tx, now, chat, text + tail, message_key="escalation.alert",
            priority=PRIORITY_ESCALATION, safety=True, cause=cause,
            reply_markup=_buttons(int(params["id"]), client["id"], settings.public_url))  # type: ignore[index]
        return row, chat.channel
    if sms is not None:
        row = await enqueue(tx, now, sms, render("escalation.alert_sms", params) + tail,
                            message_key="escalation.alert_sms",
                            priority=PRIORITY_ESCALATION, safety=True, cause=cause)
        return row, "sms"
    log.error("staff %s has no contact identity; escalation %s relies on the panel and the chain",
              staff_id, params["id"])
    return None, None


async def on_send_failed(tx: Tx, now: datetime, outbox_id: int) -> None:
    """A Telegram alert failed (once is enough): send the same alert by SMS as well."""
    notice = await tx.one(
        "SELECT n.id, n.escalation_id, n.staff_id FROM escalation_notices n"
        " WHERE n.outbox_id = ? AND n.fallback_outbox_id IS NULL", (outbox_id,))
    if notice is None:
        return
    _, sms = await staff_identity(tx, notice["staff_id"])
    if sms is None:
        return
    esc = await tx.one("SELECT * FROM escalations WHERE id = ?", (notice["escalation_id"],))
    if esc["status"] in ("acknowledged", "resolved"):
        return
    client = await subject(tx, esc)
    row = await say(tx, now, sms, "escalation.alert_sms",
                    _alert_params(esc, client, tx.settings.timezone),
                    priority=PRIORITY_ESCALATION, safety=True,
                    cause=f"escalation:{esc['id']}")
    await tx.execute("UPDATE escalation_notices SET fallback_outbox_id = ? WHERE id = ?",
                     (row, notice["id"]))
    await audit(tx, now, "system", "escalation.sms_fallback", "escalation", esc["id"],
                staff_id=notice["staff_id"])


@timers.handles("ack_deadline")
async def _deadline(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    esc_id = int(timer.payload["escalation"])
    status = await tx.value("SELECT status FROM escalations WHERE id = ?", (esc_id,))
    if status in ("acknowledged", "resolved"):
        return "stale: " + str(status)
    await audit(tx, now, "system", "escalation.deadline_passed", "escalation", esc_id,
                level=timer.payload["level"])
    await _notify_level(tx, now, esc_id, int(timer.payload["level"]))
    return "re-escalated"


@timers.handles("alert_digest")
async def _digest(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    staff_id = int(timer.payload["staff"])
    held = await tx.all(
        "SELECT n.id, e.id AS esc, e.severity, e.reason, COALESCE(c.ref, '-') AS ref,"
        " COALESCE(c.first_name, '') AS first_name FROM"
        " escalation_notices n JOIN escalations e ON e.id = n.escalation_id"
        " LEFT JOIN clients c ON c.id = e.client_id"
        " WHERE n.staff_id = ? AND n.held = 1 AND n.outbox_id IS NULL", (staff_id,))
    live = list(held)
    if not live:
        return "nothing held"
    lines = "\n".join(render("escalation.digest_line", {
        "id": h["esc"], "severity": h["severity"], "ref": h["ref"],
        "first_name": h["first_name"],
        "category": render(f"reason.{h['reason']}") if has_text(f"reason.{h['reason']}")
        else h["reason"]}) for h in live)
    chat, sms = await staff_identity(tx, staff_id)
    ident = chat or sms
    row = None
    if ident is not None:
        row = await enqueue(tx, now, ident,
                            render("escalation.digest", {"count": len(live), "lines": lines}),
                            message_key="escalation.digest", priority=PRIORITY_ESCALATION,
                            safety=True, cause=f"digest:{staff_id}")
    for h in live:
        await tx.execute("UPDATE escalation_notices SET outbox_id = ?, held = 0,"
                         " channel = ? WHERE id = ?",
                         (row, ident.channel if ident else None, h["id"]))
    return f"digest of {len(live)}"


# Acknowledge and resolve ----------------------------------------------------------------------

async def may_act(tx: Tx, now: datetime, staff_id: int, esc_id: int) -> bool:
    """The assigned officer, a supervisor, the duty officer, or anyone this alert was sent to."""
    staff = await tx.one("SELECT role, active FROM staff WHERE id = ?", (staff_id,))
    if staff is None or not staff["active"] or staff["role"] == "mentor":
        return False
    esc = await tx.one("SELECT client_id, officer_id FROM escalations WHERE id = ?", (esc_id,))
    if esc is None:
        return False
    if staff["role"] == "supervisor":
        return True
    officer = await tx.value("SELECT officer_id FROM clients WHERE id = ?", (esc["client_id"],))
    if staff_id in (officer, esc["officer_id"]):
        return True
    if staff_id == await duty(tx, now, "duty_officer"):
        return True
    return bool(await tx.value(
        "SELECT 1 FROM escalation_notices WHERE escalation_id = ? AND staff_id = ?",
        (esc_id, staff_id)))


async def acknowledge(tx: Tx, now: datetime, esc_id: int, staff_id: int, method: str) -> bool:
    """True if this call acknowledged it; False if it was already acknowledged or resolved."""
    if method not in ACK_METHODS:
        raise EscalationError(f"method: {method!r} must be one of {ACK_METHODS}")
    if not await may_act(tx, now, staff_id, esc_id):
        await audit(tx, now, f"staff:{staff_id}", "escalation.ack_refused", "escalation", esc_id,
                    method=method)
        raise EscalationError("not allowed to act on this escalation")
    changed = await tx.execute(
        "UPDATE escalations SET status = 'acknowledged', acknowledged_at = ?,"
        " acknowledged_by = ?, ack_method = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('open', 'notified')",
        (iso(now), staff_id, method, iso(now), esc_id))
    if not changed:
        return False
    await timers.cancel(tx, now, f"ack:{esc_id}", "acknowledged")
    await audit(tx, now, f"staff:{staff_id}", "escalation.acknowledged", "escalation", esc_id,
                method=method)
    await _mark_alerts_acknowledged(tx, now, esc_id, staff_id)
    await _tell_client(tx, now, esc_id, staff_id)
    return True


async def _mark_alerts_acknowledged(tx: Tx, now: datetime, esc_id: int, staff_id: int) -> None:
    """Edit every Telegram (and simulator) alert for this escalation to say who took it (no
    more buttons)."""
    name = await tx.value("SELECT name FROM staff WHERE id = ?", (staff_id,))
    tz = ZoneInfo(tx.settings.timezone)
    rows = await tx.all(
        "SELECT o.id, o.body, o.identity_id, o.channel, o.address, o.staff_id FROM"
        " escalation_notices n JOIN outbox o ON o.id = n.outbox_id"
        " WHERE n.escalation_id = ? AND o.channel IN ('telegram', 'sim') AND o.op = 'send'",
        (esc_id,))
    hint = "\n" + render("escalation.alert_ack_hint", {"id": esc_id})  # done: no longer asked
    note = render("escalation.acked_by", {"name": name, "time": now.astimezone(tz)
                                          .strftime("%H:%M")})
    for r in rows:
        ident = Identity(r["identity_id"], r["channel"], r["address"], None, r["staff_id"], False)
        body = r["body"].replace(hint, "")
        await enqueue(tx, now, ident, f"{body}\n\n{note}", op="edit", edit_of=r["id"],
                      priority=PRIORITY_ESCALATION, safety=True, message_key="escalation.acked",
                      cause=f"escalation:{esc_id}")
    # Everyone else who was alerted (SMS, simulator, a Telegram alert that fell back to SMS)
    # cannot have their message edited: they get a short note, so nobody keeps chasing it.
    edited = {r["staff_id"] for r in rows}
    others = await tx.all(
        "SELECT DISTINCT n.staff_id FROM escalation_notices n WHERE n.escalation_id = ?"
        " AND n.staff_id <> ? AND (n.outbox_id IS NOT NULL OR n.held = 1)", (esc_id, staff_id))
    esc = await subject(tx, await tx.one("SELECT * FROM escalations WHERE id = ?", (esc_id,)))
    for (other,) in others:
        if other in edited:
            continue
        chat, sms = await staff_identity(tx, other)
        target = chat or sms
        if target is None:
            continue
        await say(tx, now, target, "escalation.taken_by", {
            "id": esc_id, "ref": esc["ref"], "first_name": esc["first_name"], "name": name,
            "time": now.astimezone(tz).strftime("%H:%M")}, priority=PRIORITY_ESCALATION,
            safety=True, cause=f"escalation:{esc_id}",
            dedupe_key=f"taken:{esc_id}:{other}:{iso(now)}")


async def _tell_client(tx: Tx, now: datetime, esc_id: int, staff_id: int) -> None:
    cfg = load_config()
    esc = await tx.one("SELECT client_id, severity, reason FROM escalations WHERE id = ?",
                       (esc_id,))
    # Nobody to tell when the crisis came from a number not yet linked to a client.
    if esc["client_id"] is None or esc["reason"] in cfg.client_ack_skip:
        return
    if esc["severity"] not in cfg.client_ack_severities and \
            esc["reason"] not in cfg.client_ack_reasons:
        return
    name = await tx.value("SELECT name FROM staff WHERE id = ?", (staff_id,))
    # The discreet variant of this text names nobody.
    await say_to_client(tx, now, esc["client_id"], "escalation.client_ack",
                        {"ack_first_name": str(name).split()[0]}, safety=True,
                        purpose="crisis", cause=f"escalation:{esc_id}")


async def resolve(tx: Tx, now: datetime, esc_id: int, staff_id: int, outcome: str,
                  note: str | None = None) -> bool:
    """Record `outcome`; True if it closed the escalation, False for a non-closing outcome
    (config/escalation.toml [outcomes]), which keeps it open with a new deadline."""
    outcome = " ".join(outcome.split())
    if not outcome or len(outcome) > 500:
        raise EscalationError("outcome: say in 1-500 characters what happened")
    if not await may_act(tx, now, staff_id, esc_id):
        await audit(tx, now, f"staff:{staff_id}", "escalation.resolve_refused", "escalation",
                    esc_id)
        raise EscalationError("not allowed to act on this escalation")
    status = await tx.value("SELECT status FROM escalations WHERE id = ?", (esc_id,))
    if status == "resolved":
        raise EscalationError("already resolved")
    if status in ("open", "notified"):
        # Resolving implies someone has it: record that as the acknowledgement too.
        await acknowledge(tx, now, esc_id, staff_id, "web")
    if not load_config().closes(outcome):
        await _still_open(tx, now, esc_id, staff_id, outcome, note)
        return False
    await tx.execute(
        "UPDATE escalations SET status = 'resolved', resolved_at = ?, resolved_by = ?,"
        " outcome = ?, note = ?, updated_at = ? WHERE id = ?",
        (iso(now), staff_id, outcome, note, iso(now), esc_id))
    await timers.cancel(tx, now, f"ack:{esc_id}", "resolved")
    await audit(tx, now, f"staff:{staff_id}", "escalation.resolved", "escalation", esc_id,
                outcome=outcome)
    return True


async def _still_open(tx: Tx, now: datetime, esc_id: int, staff_id: int, outcome: str,
                     note: str | None) -> None:
    """A non-closing outcome: the escalation stays acknowledged by this person, with a new
    deadline; if nobody closes it by then, the chain is alerted again (`followup_deadline`)."""
    esc = await tx.one("SELECT client_id, severity FROM escalations WHERE id = ?", (esc_id,))
    settings = tx.settings
    due = ack_deadline(esc["severity"], now, settings.ack_deadlines, load_config().working_hours,
                       ZoneInfo(settings.timezone))
    await tx.execute("UPDATE escalations SET outcome = ?, note = ?, updated_at = ? WHERE id = ?",
                     (outcome, note, iso(now), esc_id))
    await timers.schedule(tx, now, f"ack:{esc_id}", "followup_deadline", due,
                          client_id=esc["client_id"], payload={"escalation": esc_id})
    await audit(tx, now, f"staff:{staff_id}", "escalation.still_open", "escalation", esc_id,
                outcome=outcome, due=iso(due))


@timers.handles("followup_deadline")
async def _followup(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    esc_id = int(timer.payload["escalation"])
    status = await tx.value("SELECT status FROM escalations WHERE id = ?", (esc_id,))
    if status != "acknowledged":
        return "stale: " + str(status)
    # Nobody closed it in time: back to unacknowledged, and the chain is told from the start.
    await tx.execute("UPDATE escalations SET status = 'notified', acknowledged_at = NULL,"
                     " acknowledged_by = NULL, ack_method = NULL, updated_at = ? WHERE id = ?",
                     (iso(now), esc_id))
    await audit(tx, now, "system", "escalation.followup_due", "escalation", esc_id)
    await _notify_level(tx, now, esc_id, 0, fresh=True)
    return "re-opened"


# From the officer's phone --------------------------------------------------------------------

async def button(tx: Tx, now: datetime, staff_id: int | None, data: str, callback_id: str | None,
                 chat: Identity | None) -> str:
    """A pressed inline button: 'ack:<id>' or 'call:<id>'."""
    action, _, raw_id = data.partition(":")
    reply_key = "escalation.button_refused"
    if action in ("ack", "call") and _is_id(raw_id) and staff_id is not None:
        try:
            done = await acknowledge(tx, now, int(raw_id), staff_id,
                                     "call_now" if action == "call" else "telegram_button")
            reply_key = "escalation.button_done" if done else "escalation.button_already"
        except EscalationError:
            reply_key = "escalation.button_refused"
    elif staff_id is None:
        await audit(tx, now, "unknown", "escalation.ack_refused", "escalation",
                    int(raw_id) if _is_id(raw_id) else None,
                    chat=chat.address if chat else None)
    if callback_id and chat is not None:
        await enqueue(tx, now, chat, render(reply_key), op="answer_callback", ref=callback_id,
                      priority=PRIORITY_ESCALATION, safety=True)
    # A refusal is audited and answered; to the inbound log the press was read and ignored.
    return "processed" if reply_key != "escalation.button_refused" else "ignored"


def _is_id(text: str) -> bool:
    """ASCII digits that fit a database id ('²' is a digit to str.isdigit, not to int)."""
    return text.isascii() and text.isdigit() and len(text) <= 12


async def open_for(tx: Tx, staff_id: int) -> list[object]:
    role = await tx.value("SELECT role FROM staff WHERE id = ?", (staff_id,))
    if role == "supervisor":
        where, params = "e.status <> 'resolved'", ()
    else:
        where = ("e.status <> 'resolved' AND (c.officer_id = ? OR e.id IN (SELECT escalation_id"
                 " FROM escalation_notices WHERE staff_id = ?))")
        params = (staff_id, staff_id)
    return await tx.all(
        "SELECT e.* FROM escalations e LEFT JOIN clients c ON c.id = e.client_id"
        f" WHERE {where} ORDER BY CASE e.severity WHEN 'RED' THEN 0 WHEN 'AMBER' THEN 1 ELSE 2"
        " END, e.created_at", params)


async def list_open_to(tx: Tx, now: datetime, ident: Identity) -> None:
    """/open: the officer's open escalations, each with its buttons."""
    assert ident.staff_id is not None
    rows = await open_for(tx, ident.staff_id)
    if not rows:
        await say(tx, now, ident, "escalation.none_open")
        return
    for esc in rows:
        params = _alert_params(esc, await subject(tx, esc), tx.settings.timezone)
        key = "escalation.alert" if esc["status"] != "acknowledged" else "escalation.alert_acked"
        await enqueue(tx, now, ident, render(key, params), message_key=key,
                      priority=PRIORITY_ESCALATION, safety=True,
                      reply_markup=_buttons(esc["id"], esc["client_id"], tx.settings.public_url)
                      if esc["status"] != "acknowledged" and ident.channel == "telegram"
                      else None)


async def alert_duty_and_supervisors(tx: Tx, now: datetime, key: str, params: dict[str, object],
                                     *, cause: str) -> int:
    """Tell the duty officer and every active supervisor (one identity each, Telegram first as
    for every alert): for what has no assigned officer yet, such as a stranger in crisis."""
    staff = {await duty(tx, now, "duty_officer")}
    staff |= {r[0] for r in await tx.all(
        "SELECT id FROM staff WHERE role = 'supervisor' AND active = 1")}
    told = 0
    for staff_id in sorted(s for s in staff if s is not None):
        tg, sms = await staff_identity(tx, staff_id)
        target = tg or sms
        if target is not None:
            await say(tx, now, target, key, params, safety=True, priority=PRIORITY_ESCALATION,
                      cause=cause)
            told += 1
    return told


async def unmatched_open_for(tx: Tx, inbound_id: int) -> int | None:
    """The open escalation without a client raised by the number that sent `inbound_id`."""
    return await tx.value(
        "SELECT e.id FROM escalations e JOIN inbound i ON i.id = e.inbound_id"
        " JOIN inbound m ON m.channel = i.channel AND m.address = i.address AND m.id = ?"
        " WHERE e.client_id IS NULL AND e.status <> 'resolved' ORDER BY e.id LIMIT 1",
        (inbound_id,))


async def open_unmatched(tx: Tx, now: datetime, inbound_id: int) -> int:
    """Crisis words from a number we do not know: a RED escalation without a client, naming the
    message. The duty officer and every supervisor are alerted at once and again at every
    deadline until someone acknowledges (rules.chain); linking the number files it under the
    client (`file_under_client`). A second crisis message from the same number while one is
    open attaches to it. Returns the escalation id."""
    existing = await unmatched_open_for(tx, inbound_id)
    if existing is not None:
        await audit(tx, now, "system", "escalation.unmatched_attached", "escalation", existing,
                    inbound_id=inbound_id)
        return int(existing)
    esc_id = await tx.execute(
        "INSERT INTO escalations (client_id, severity, reason, source, officer_id, created_at,"
        " updated_at, inbound_id) VALUES (NULL, 'RED', 'crisis_text', 'unmatched', NULL, ?, ?, ?)",
        (iso(now), iso(now), inbound_id))
    await audit(tx, now, "system", "escalation.opened", "escalation", esc_id, severity="RED",
                reason="crisis_text", source="unmatched", inbound_id=inbound_id)
    await _notify_level(tx, now, esc_id, 0)
    return esc_id


async def file_under_client(tx: Tx, now: datetime, inbound_ids: list[int],
                            client_id: int) -> list[int]:
    """The number that sent these messages is now the client's: their escalations become the
    client's (with a finding on the client's record). One still waiting for a person is sent
    to the client's own officer as well. Returns the escalation ids filed."""
    if not inbound_ids:
        return []
    marks = ",".join("?" * len(inbound_ids))
    rows = await tx.all(f"SELECT * FROM escalations WHERE client_id IS NULL AND inbound_id IN"
                        f" ({marks}) ORDER BY id", tuple(inbound_ids))
    officer = await tx.value("SELECT officer_id FROM clients WHERE id = ?", (client_id,))
    filed = []
    for esc in rows:
        clash = None if esc["status"] == "resolved" else await tx.value(
            "SELECT id FROM escalations WHERE client_id = ? AND reason = ? AND status <>"
            " 'resolved'", (client_id, esc["reason"]))
        if clash is not None:
            # The client already has this open: this one closes into it, nothing is lost.
            await tx.execute(
                "UPDATE escalations SET client_id = ?, officer_id = ?, status = 'resolved',"
                " resolved_at = ?, outcome = ?, updated_at = ? WHERE id = ?",
                (client_id, officer, iso(now), f"Merged into escalation #{clash}", iso(now),
                 esc["id"]))
            await timers.cancel(tx, now, f"ack:{esc['id']}", "merged")
            target = int(clash)
        else:
            await tx.execute("UPDATE escalations SET client_id = ?, officer_id = ?,"
                             " updated_at = ? WHERE id = ?",
                             (client_id, officer, iso(now), esc["id"]))
            target = int(esc["id"])
        finding = await tx.execute(
            "INSERT INTO findings (client_id, severity, reason, detail, source, inbound_id, at,"
            " escalation_id) VALUES (?, ?, ?, ?, 'unmatched', ?, ?, ?)",
            (client_id, esc["severity"], esc["reason"],
             "crisis words before the number was linked", esc["inbound_id"], iso(now), target))
        await audit(tx, now, "system", "escalation.filed_under_client", "escalation", esc["id"],
                    client_id=client_id, into=target, finding_id=finding)
        if target == esc["id"] and esc["status"] in ("open", "notified"):
            await _notify_level(tx, now, target, 0)  # the client's own officer now
        filed.append(int(esc["id"]))
    return filed


@timers.handles("unmatched_crisis")
async def _unmatched_deadline(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    """Timers armed before migration 013 made such a crisis an escalation row: still honoured,
    so an upgrade mid-crisis keeps re-alerting (nothing writes this kind any more)."""
    inbound_id = int(timer.payload["inbound"])
    row = await tx.one("SELECT client_id, read_at, received_at FROM inbound WHERE id = ?",
                       (inbound_id,))
    if row is None or row["client_id"] is not None:
        return "linked: the client's escalation has it"
    if row["read_at"] is not None:
        return "dealt with"
    waited = int((now - parse_iso(row["received_at"])).total_seconds() // 60)
    await alert_duty_and_supervisors(
        tx, now, "escalation.unmatched_crisis_again",
        {"from": timer.payload["from"], "inbound": inbound_id, "waited": waited},
        cause=f"inbound:{inbound_id}")
    await timers.schedule(tx, now, timer.key, timer.kind, now + tx.settings.ack_deadlines["red"],
                          payload=timer.payload)
    return "re-alerted"
