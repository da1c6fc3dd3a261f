"""Daily check-ins, weekly and monthly scales, and missed-check-in thresholds.

Cadence per client and local day:
- heightened window (`heightened_until` on or after the day, stage not exempt): daily check-in
  with the safety question, whatever the stage's own cadence;
- otherwise the stage's `checkin`: "daily", "none", or "taper" (aftercare: counted from
  `stage_started`, `per_week` check-ins on fixed days of each 7-day cycle, e.g. 3 -> days 0, 2, 4);
- weekly scale on the client's weekly day, monthly scale on their monthly day (clamped to the
  month's end), if the stage has them. On a check-in day a scale comes `scale_after` later (or with
  the check-in if that would be quiet); the flows engine queues it behind a running check-in.
Check-ins have no event, so quiet hours move them FORWARD to the end of quiet hours.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reminders.schedule.clock import local_instant, parse_clock, zone
from reminders.schedule.model import FLOW_DAILY, FLOW_WEEKLY, MONTHLY_PARTS, ClientSchedule, PlannedSend
from reminders.schedule.plans import CheckinCadence, StageCadence, TaperStep
from reminders.schedule.quiet_hours import QuietHours, is_quiet_at, next_allowed


def daily_checkin_due(date_local: date, checkin_time: str | time, tz: str | ZoneInfo) -> datetime:
    """UTC instant of a check-in at local `checkin_time` on `date_local`. DST (clock.local_instant):
    01:30 Europe/London on the spring change day is 01:30 GMT = 02:30 BST; on the autumn day
    it is the first 01:30 (BST). Exactly one instant per day either way."""
    return local_instant(date_local, parse_clock(checkin_time), tz)


def heightened_until(event_date: date, cadence: CheckinCadence) -> date:
    """Last day (inclusive) of the heightened window after a discharge or release that day."""
    return event_date + timedelta(days=cadence.heightened_days)


def missed_checkin_deadline(sent_at: datetime, heightened: bool, cfg: CheckinCadence) -> datetime:
    """When silence after a check-in sent at `sent_at` becomes a finding: the due time of the
    missed-check-in timer row (24h in the heightened window, 72h otherwise, by default)."""
    return sent_at + (cfg.missed_after_heightened if heightened else cfg.missed_after)


def missed_checkin_finding(
    last_reply_at: datetime,
    now: datetime,
    heightened: bool,
    cfg: CheckinCadence,
    *,
    last_sent_at: datetime | None = None,
) -> bool:
    """Has the client been silent long enough to raise a missed-check-in finding?

    `last_reply_at`: their last reply, or when daily check-ins began if they never replied.
    `last_sent_at`: if given, silence only counts when we asked something after the last reply.
    Count only clients with daily check-ins; weekly-only clients (in rehab) are not expected daily.
    """
    if last_sent_at is not None and last_sent_at <= last_reply_at:
        return False
    return now >= missed_checkin_deadline(last_reply_at, heightened, cfg)


def checkins_for_day(
    clients: Iterable[ClientSchedule],
    date_local: date,
    tz: str | ZoneInfo,
    cadence: CheckinCadence,
    quiet: QuietHours,
) -> Iterator[PlannedSend]:
    """Every check-in and scale due on local day `date_local`, client by client.

    Keys: 'checkin:<client>:<YYYY-MM-DD>', 'scale:weekly:<client>:<YYYY>-W<ww>' (ISO week),
    'scale:monthly:<client>:<YYYY-MM>'. Times depend only on (check-in time, quiet hours), so they
    are computed once per distinct pair per call, not per client.
    """
    z = zone(tz)
    day_iso = date_local.isoformat()
    iso = date_local.isocalendar()
    week_tag = f"{iso.year}-W{iso.week:02d}"
    weekday = date_local.weekday()
    stages, exempt = cadence.stages, cadence.heightened_exempt
    taper = _taper_days(cadence.taper)
    times: dict[tuple[object, QuietHours], _DayTimes] = {}

    for c in clients:
        sc: StageCadence | None = stages.get(c.stage)
        if sc is None:
            sc = cadence.stage(c.stage)  # raises ValueError naming the unknown stage
        heightened = (
            c.heightened_until is not None
            and date_local <= c.heightened_until
            and c.stage not in exempt
        )
        if heightened or sc.checkin == "daily":
            daily = True
        elif sc.checkin == "taper":
            daily = _taper_today(taper, (date_local - c.stage_started).days)
        else:
            daily = False
        weekly = sc.weekly and weekday == (
            cadence.weekly_day if c.weekly_day is None else c.weekly_day
        )
        md = cadence.monthly_day if c.monthly_day is None else c.monthly_day
        part = _monthly_part(date_local, md) if sc.monthly else None
        monthly = part is not None
        if c.paused_until is not None and date_local <= c.paused_until:
            # The client paused: no questionnaires, but the watch's safety question still goes.
            daily, weekly, part = heightened, False, None
            monthly = False
        if not (daily or weekly or monthly):
            continue

        q = quiet if c.quiet is None else c.quiet
        tkey = (c.checkin_time, q)
        t = times.get(tkey)
        if t is None:
            t = times[tkey] = _DayTimes.compute(date_local, c.checkin_time, q, z, cadence)
        cid = c.client_id
        if daily:
            yield PlannedSend(
                key=f"checkin:{cid}:{day_iso}",
                kind="checkin",
                due_at=t.checkin,
                flow=FLOW_DAILY,
                window_end=t.checkin_end,
                client_id=cid,
                safety_question=heightened,
            )
        scale_due, scale_end = (t.scale, t.scale_end) if daily else (t.checkin, t.checkin_end)
        if weekly:
            yield PlannedSend(
                key=f"scale:weekly:{cid}:{week_tag}",
                kind="scale",
                due_at=scale_due,
                flow=FLOW_WEEKLY,
                window_end=scale_end,
                client_id=cid,
            )
        if part is not None:
            index, started = part
            tag = f"{started.year}-{started.month:02d}"
            yield PlannedSend(
                key=f"scale:monthly:{cid}:{tag}" + (f":{index + 1}" if index else ""),
                kind="scale",
                due_at=scale_due,
                flow=MONTHLY_PARTS[index],
                window_end=scale_end,
                client_id=cid,
            )


def _monthly_part(day: date, monthly_day: int) -> tuple[int, date] | None:
    """(part index, the monthly day it belongs to) if a part of the monthly set falls on `day`:
    part 1 on the monthly day (clamped to the month's last day), parts 2 and 3 on the days after,
    even when those run into the next month."""
    for index in range(len(MONTHLY_PARTS)):
        start = day - timedelta(days=index)
        last = calendar.monthrange(start.year, start.month)[1]
        if start.day == min(monthly_day, last):
            return index, start
    return None


class _DayTimes:
    """Due instants for one (check-in time, quiet hours) pair on one day."""

    __slots__ = ("checkin", "checkin_end", "scale", "scale_end")

    def __init__(self, checkin: datetime, scale: datetime, window: timedelta) -> None:
        self.checkin, self.checkin_end = checkin, checkin + window
        self.scale, self.scale_end = scale, scale + window

    @classmethod
    def compute(
        cls,
        day: date,
        at: time | str | None,
        quiet: QuietHours,
        z: ZoneInfo,
        cadence: CheckinCadence,
    ) -> _DayTimes:
        nominal = local_instant(day, cadence.default_time if at is None else parse_clock(at), z)
        checkin = next_allowed(nominal, quiet, z)
        scale = checkin + cadence.scale_after
        if is_quiet_at(scale, quiet, z):
            scale = checkin
        return cls(checkin.astimezone(UTC), scale.astimezone(UTC), cadence.window)


def _taper_days(steps: tuple[TaperStep, ...]) -> list[tuple[int, frozenset[int]]]:
    """(from_day, days of the 7-day cycle) per step, latest first; spread evenly: 3 -> {0, 2, 4}."""
    return [
        (s.from_day, frozenset(i * 7 // s.per_week for i in range(s.per_week)))
        for s in reversed(steps)
    ]


def _taper_today(taper: list[tuple[int, frozenset[int]]], days_in: int) -> bool:
    days_in = max(days_in, 0)  # a stage starting later than today counts as its first day
    for from_day, cycle in taper:
        if days_in >= from_day:
            return days_in % 7 in cycle
    return True
