"""One client's page and the actions an officer takes on it.

Every handler first checks the client is within the user's reach (else 404) and every view is
written to the audit log, so supervisors can see who opened which file.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import actions, calendar_data, labels
from admin_web.auth import guard
from admin_web.charts import Series, line_chart
from admin_web.labels import language_choices
from admin_web.permissions import User, allowed, client_in_charge, client_in_reach
from admin_web.posting import form_post
from admin_web.routes.queue import OUTCOMES, escalations_for
from admin_web.templating import page
from admin_web.urgency import add_urgency
from admin_web.web import db, field, int_field, now, path_int, service
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.people import CASE_ROLES_SQL, STAGES, InputError
from bot.journey import change_stage, discharge
from flows import registry
from flows.scales import SCALES

TIMELINE_LIMIT = 150
ANSWER_LIMIT = 200
TREND_DAYS = 90
# Day-to-day answers worth a trend line of their own (0-10 each).
ANSWER_TRENDS = (("ons_happy", "Happy yesterday"), ("ons_anxious", "Anxious yesterday"),
                 ("craving_24h", "Craving"))


async def _client_or_404(request: Request, user: User, change: bool = False) -> int:
    """The client in the path, if the user may read it (or, with `change`, change it)."""
    client_id = path_int(request)
    check = client_in_charge if change else client_in_reach
    if not await check(db(request), user, client_id):
        if change and await client_in_reach(db(request), user, client_id):
            raise HTTPException(403, "Covering an alert lets you read this file and act on the"
                                     " alert; changes are for the client's own officer.")
        raise HTTPException(404, "No such client.")
    return client_id


def check_ins(rows: list[Any]) -> list[dict[str, Any]]:
    """Answers (newest first) grouped by the conversation they came from: one line each."""
    groups: list[dict[str, Any]] = []
    index: dict[Any, dict[str, Any]] = {}
    for r in rows:
        key = r["session_id"] if r["session_id"] is not None else ("loose", r["at"][:10],
                                                                   r["flow_id"])
        group = index.get(key)
        if group is None:
            group = index[key] = {"at": r["at"], "flow_id": r["flow_id"], "answers": []}
            groups.append(group)
        shown = _value(r["value"])
        raw = r["raw_text"] or ""
        group["answers"].insert(0, {
            "question": r["question_key"], "value": shown, "status": r["status"],
            # What they typed, when it says more than the value we read from it.
            "raw": raw if raw.strip().lower() != shown.lower() else ""})
    return groups


def _number(raw: str | None) -> float | None:
    """A stored answer as a number for a chart; None for text, yes/no and missing values."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _value(raw: str | None) -> str:
    if raw is None:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value if isinstance(value, str) else json.dumps(value)


async def _charts(database: Any, client_id: int, since: str) -> tuple[list[Any], list[Any]]:
    """(day-to-day answer trends, scale score trends)."""
    charts: list[Any] = []
    for key, title in ANSWER_TRENDS:
        rows = await database.all(
            "SELECT at, value FROM answers WHERE client_id = ? AND question_key = ?"
            " AND status = 'answered' AND at >= ? ORDER BY at", (client_id, key, since))
        pts = [(parse_iso(r["at"]), float(v)) for r in rows
               if (v := _number(r["value"])) is not None]
        chart = line_chart(title, [Series(title, pts)], (0, 10))
        if chart:
            charts.append(chart)
    scale_charts: list[Any] = []
    for scale_id in [r[0] for r in await database.all(
            "SELECT DISTINCT scale_id FROM scores WHERE client_id = ? AND total IS NOT NULL"
            " ORDER BY scale_id", (client_id,))]:
        rows = await database.all(
            "SELECT at, total FROM scores WHERE client_id = ? AND scale_id = ?"
            " AND total IS NOT NULL ORDER BY at", (client_id, scale_id))
        scale = SCALES.get(scale_id)
        title = scale.title if scale else scale_id
        y_range = (scale.lo * len(scale.items), scale.hi * len(scale.items)) \
            if scale and scale.summed else None
        # Where each band after the first begins, so a reader sees which band a point is in.
        thresholds = [(b.lo, labels.band(b.label)) for b in scale.total_bands[1:]] \
            if scale else []
        chart = line_chart(title, [Series(title, [(parse_iso(r["at"]), r["total"])
                                                  for r in rows])], y_range,
                           thresholds=thresholds)
        if chart:
            scale_charts.append(chart)
    # SPANE has no total: its balance (B = P - N, -24 to 24) over time, zero drawn.
    rows = await database.all(
        "SELECT at, detail FROM scores WHERE client_id = ? AND scale_id = 'spane12'"
        " ORDER BY at", (client_id,))
    points = [(parse_iso(r["at"]), float(b)) for r in rows
              if isinstance(b := json.loads(r["detail"] or "{}").get("subscales", {}).get("B"),
                            int | float)]
    chart = line_chart("SPANE balance (B = P - N)", [Series("Balance", points)], (-24, 24),
                       thresholds=[(0, "more positive above")])
    if chart:
        scale_charts.append(chart)
    return charts, scale_charts


MEDIA_LABELS = {"photo": "photo", "voice": "voice note", "audio": "audio", "video": "video",
                "video_note": "video note", "sticker": "sticker", "document": "file",
                "animation": "animation", "image": "photo"}


def media_of(row: Any) -> list[dict[str, str]]:
    """The photos / voice notes a message carried, as links the officer can open."""
    if row["direction"] != "in" or not row["payload"]:
        return []
    media = json.loads(row["payload"]).get("media") or []
    return [{"label": "open " + MEDIA_LABELS.get(str(x.get("kind")), "attachment")}
            for x in media if isinstance(x, dict)]


@guard("client")
async def client_page(request: Request, user: User) -> Response:
    client_id = await _client_or_404(request, user)
    database, moment = db(request), now(request)
    client = await database.one(
        "SELECT c.*, s.name AS officer_name FROM clients c JOIN staff s ON s.id = c.officer_id"
        " WHERE c.id = ?", (client_id,))
    await database.write(lambda tx: audit(tx, moment, user.actor, "client.viewed", "client",
                                          client_id))
    identities = await database.all(
        "SELECT i.id, i.channel, i.address, i.created_at, o.opted_out_at, i.unreachable_since"
        " FROM identities i"
        " LEFT JOIN opt_outs o ON o.identity_id = i.id WHERE i.client_id = ? AND i.active = 1"
        " ORDER BY i.id", (client_id,))
    history = await database.all(
        "SELECT * FROM stage_history WHERE client_id = ? ORDER BY at DESC, id DESC", (client_id,))
    # True order: an answer and the next question share a timestamp (one transaction), so
    # ties go by position in the outbox sequence: a message comes after every row queued
    # before it arrived (inbound.after_outbox) and before those its arrival caused.
    timeline = list(reversed(await database.all(
        "SELECT * FROM (SELECT 'in' AS direction, body, received_at AS at, channel, NULL AS status,"
        " id, COALESCE(after_outbox + 0.5, id) AS seq, inbox, read_at, payload, NULL AS reason,"
        " language FROM inbound WHERE client_id = ? AND kind IN ('text', 'media')"
        " UNION ALL SELECT 'out', body, created_at, channel, status, id, id, NULL, NULL, NULL,"
        " CASE WHEN status = 'failed' OR delivery_status IN ('undelivered', 'failed')"
        " THEN COALESCE(last_error, 'not delivered (' || delivery_status || ')') END, language"
        " FROM outbox"
        " WHERE client_id = ? AND op = 'send') AS timeline"
        " ORDER BY at DESC, seq DESC LIMIT ?",
        (client_id, client_id, TIMELINE_LIMIT))))
    answers = check_ins(await database.all(
        "SELECT a.session_id, a.flow_id, a.question_key, a.raw_text, a.value, a.status, a.at"
        " FROM answers a WHERE a.client_id = ? ORDER BY a.at DESC, a.id DESC LIMIT ?",
        (client_id, ANSWER_LIMIT)))
    scores = await database.all(
        "SELECT scale_id, total, detail, at FROM scores WHERE client_id = ?"
        " ORDER BY at DESC LIMIT 30", (client_id,))
    escalations = await add_urgency(database, await escalations_for(
        database, user, "e.client_id = ?", (client_id,),
        "e.status = 'resolved', e.created_at DESC", 50), moment,
        service(request).settings.timezone)
    notes = await database.all(
        "SELECT n.body, n.at, s.name FROM client_notes n JOIN staff s ON s.id = n.staff_id"
        " WHERE n.client_id = ? ORDER BY n.at DESC, n.id DESC", (client_id,))
    officers = await database.all(
        "SELECT id, name FROM staff WHERE role IN " + CASE_ROLES_SQL + " AND active = 1"
        " ORDER BY name") if allowed(user.role, "client.reassign") else []
    trends, scale_charts = await _charts(database, client_id,
                                         iso(moment - timedelta(days=TREND_DAYS)))
    return await page(
        request, "client.html", client=client, identities=identities, history=history,
        timeline=timeline, answers=answers,
        scores=[dict(s) | {"bands": (d := json.loads(s["detail"] or "{}")).get("bands", {}),
                           "subscales": d.get("subscales", {})} for s in scores],
        trends=trends, scale_charts=scale_charts, escalations=escalations, notes=notes,
        flow_titles={f.id: f.title for f in registry.all_flows()}, media_of=media_of,
        scale_titles={k: labels.scale_short(k) for k in SCALES},
        officers=officers, stages=STAGES, flows=registry.all_flows(), outcomes=OUTCOMES,
        calendar=await calendar_data.for_client(database, client_id),
        heightened=bool(client["heightened_until"]
                        and parse_iso(client["heightened_until"]) > moment),
        can_reassign=allowed(user.role, "client.reassign"), languages=language_choices(),
        can_change=await client_in_charge(database, user, client_id))


Action = Callable[[Tx, User, int, Any, datetime], Awaitable[str]]


def _action(fn: Action, capability: str = "client") -> Callable[[Request], Awaitable[Response]]:
    """A POST on a client: reach check, one transaction, a flash message, back to the page."""

    async def work(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
        return await fn(tx, user, path_int(request), form, moment)

    work.__name__ = fn.__name__
    return form_post(
        capability, work,
        lambda request, _: f"/admin/clients/{path_int(request)}#{fn.__name__.removeprefix('_')}",
        check=lambda request, user, _: _client_or_404(request, user, change=True),
        refused=(InputError, ValueError, LookupError))


async def _journey(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    done = await change_stage(tx, moment, client_id, field(form, "stage"), user.actor,
                              field(form, "reason"))
    return {"unchanged": "Already at that stage.", "moved": "Stage changed.",
            "discharged": "Stage changed. Post-discharge protocol started: 28-day watch, safety"
                          " message sent."}[done]


async def _messages(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    from bot.core.messaging import officer_message

    text = field(form, "text")
    await officer_message(tx, moment, client_id, text, user.actor)
    return "Message queued."


async def _flow(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    from bot.conversation import start_flow

    flow_id = field(form, "flow")
    if flow_id not in {f.id for f in registry.all_flows()}:
        raise InputError("flow: choose one from the list")
    result = await start_flow(tx, moment, client_id, flow_id, officer_started=True,
                              cause=f"officer:{user.id}")
    await audit(tx, moment, user.actor, "client.flow_started", "client", client_id,
                flow=flow_id, result=result)
    return {"started": "Flow started.", "wait": "Queued: it starts when the current one ends.",
            "skip": "Not started: a more important conversation is running."}.get(
        result, f"Not started ({result}).")


async def _notes(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    await actions.add_note(tx, moment, client_id, user.id, field(form, "body"))
    return "Note saved."


async def _link(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    replace = field(form, "replace") == "yes" and allowed(user.role, "unmatched.replace")
    moved = await actions.link_number(tx, moment, client_id, field(form, "channel"),
                                      field(form, "address"), user.actor, replace)
    return f"Number linked; {moved} waiting message(s) filed under this client."


async def _profile(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    await actions.reassign(tx, moment, client_id, int_field(form, "officer"), user.actor)
    return "Officer changed."


async def _settings(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    changed = await actions.update_profile(
        tx, moment, client_id, {k: field(form, k) for k in actions.PROFILE_FIELDS}, user.actor)
    if not changed:
        return "Nothing changed."
    return "Profile saved: " + ", ".join(PROFILE_WORDS[k] for k in changed) + "." + (
        " Check-ins not yet sent are moved to the new times." if {
            "checkin_time", "quiet_start", "quiet_end"} & set(changed) else "")


PROFILE_WORDS = {"discreet": "wording", "language": "language", "checkin_time": "check-in time",
                 "quiet_start": "quiet hours", "quiet_end": "quiet hours end"}


async def _link_code(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    """A one-time code the client sends to the bot on Telegram (no raw chat id to type)."""
    from bot.core.identities import LINK_CODE_TTL, new_link_code

    code = await new_link_code(tx, moment, client_id=client_id, actor=user.actor)
    hours = int(LINK_CODE_TTL.total_seconds() // 3600)
    return (f"Telegram link code: {code}. Give it to the client in person or by phone: they"
            f" send /start {code} to the bot. One use, valid {hours} hours.")


async def _send_link_code(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    from bot.core.messaging import send_link_code

    await send_link_code(tx, moment, client_id, user.actor)
    return "Telegram link code texted to the client's phone."


async def _discharge(tx: Tx, user: User, client_id: int, form: Any, moment: datetime) -> str:
    if field(form, "kind") != "custody-release":
        raise InputError("record a rehab discharge by moving the stage")
    await discharge(tx, moment, client_id, "custody-release", user.actor)
    return "Release recorded: 28-day watch started, safety message sent, RED raised."


def routes() -> list[Route]:
    return [
        Route("/clients/{id:int}", client_page, methods=["GET"]),
        Route("/clients/{id:int}/stage", _action(_journey), methods=["POST"]),
        Route("/clients/{id:int}/message", _action(_messages), methods=["POST"]),
        Route("/clients/{id:int}/flow", _action(_flow), methods=["POST"]),
        Route("/clients/{id:int}/note", _action(_notes), methods=["POST"]),
        Route("/clients/{id:int}/link", _action(_link), methods=["POST"]),
        Route("/clients/{id:int}/release", _action(_discharge), methods=["POST"]),
        Route("/clients/{id:int}/settings", _action(_settings), methods=["POST"]),
        Route("/clients/{id:int}/link-code", _action(_link_code), methods=["POST"]),
        Route("/clients/{id:int}/link-code/send", _action(_send_link_code), methods=["POST"]),
        Route("/clients/{id:int}/reassign", _action(_profile, "client.reassign"),
              methods=["POST"]),
    ]
