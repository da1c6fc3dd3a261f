"""Pure escalation rules: who is told at each level, acknowledgement deadlines, alert batching."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from config.paths import config_file

CONFIG = config_file("escalation.toml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Findings map onto three alert severities; YELLOW trends go to the weekly review list instead.
ALERT_SEVERITY = {"RED": "RED", "AMBER": "AMBER", "ROUTINE": "ROUTINE"}
SEVERITY_RANK = {"ROUTINE": 0, "AMBER": 1, "RED": 2}


@dataclass(frozen=True)
class WorkingHours:
    days: frozenset[int]  # Monday = 0
    start: time
    end: time


@dataclass(frozen=True)
class EscalationConfig:
    working_hours: WorkingHours
    batch_max: int
    batch_window: timedelta
    client_ack_severities: frozenset[str]
    client_ack_reasons: frozenset[str]
    client_ack_skip: frozenset[str]
    still_open: tuple[str, ...] = ()

    def closes(self, outcome: str) -> bool:
        """False for an outcome such as "could not reach, still trying" (config [outcomes])."""
        low = outcome.strip().lower()
        return not any(low.startswith(p.lower()) for p in self.still_open)


def _time(text: str, key: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"config/escalation.toml {key}: {text!r} is not HH:MM") from None


@lru_cache(maxsize=1)
def load_config(path: Path = CONFIG) -> EscalationConfig:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    wh = raw["working_hours"]
    bad = [d for d in wh["days"] if d not in DAYS]
    if bad:
        raise ValueError(f"config/escalation.toml working_hours.days: unknown {bad}")
    hours = WorkingHours(frozenset(DAYS.index(d) for d in wh["days"]),
                         _time(wh["start"], "working_hours.start"),
                         _time(wh["end"], "working_hours.end"))
    if hours.start >= hours.end or not hours.days:
        raise ValueError("config/escalation.toml working_hours: start must be before end")
    batching = raw["batching"]
    ack = raw["client_ack"]
    return EscalationConfig(
        working_hours=hours,
        batch_max=int(batching["max_alerts"]),
        batch_window=timedelta(minutes=int(batching["window_minutes"])),
        client_ack_severities=frozenset(ack["severities"]),
        client_ack_reasons=frozenset(ack["reasons"]),
        client_ack_skip=frozenset(ack["skip_reasons"]),
        still_open=tuple(raw.get("outcomes", {}).get("still_open", ())),
    )


def in_working_hours(moment: datetime, hours: WorkingHours, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz)
    return local.weekday() in hours.days and hours.start <= local.time() < hours.end


def next_opening(moment: datetime, hours: WorkingHours, tz: ZoneInfo) -> datetime:
    """The start of the next working period at or after `moment` (moment itself if inside)."""
    local = moment.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in hours.days:
            continue
        opening = datetime.combine(day, hours.start, tz)
        closing = datetime.combine(day, hours.end, tz)
        if offset == 0 and local >= closing:
            continue
        return max(opening, local)
    raise ValueError("no working day in the configured week")


def add_working_time(start: datetime, amount: timedelta, hours: WorkingHours,
                     tz: ZoneInfo) -> datetime:
    """`amount` of working time after `start`, skipping evenings and weekends."""
    remaining = amount
    cursor = next_opening(start, hours, tz)
    while True:
        closing = datetime.combine(cursor.astimezone(tz).date(), hours.end, tz)
        if cursor + remaining <= closing:
            return cursor + remaining
        remaining -= closing - cursor
        cursor = next_opening(closing, hours, tz)


def ack_deadline(severity: str, now: datetime, deadlines: Mapping[str, timedelta],
                 hours: WorkingHours, tz: ZoneInfo) -> datetime:
    """RED: wall-clock (a crisis does not wait for Monday). AMBER: working time. ROUTINE: the
    deadline counted in working days, landing inside working hours."""
    if severity == "RED":
        return now + deadlines["red"]
    if severity == "AMBER":
        return add_working_time(now, deadlines["amber"], hours, tz)
    # The same local time on the Nth working day after today (Friday 16:30 -> Monday 16:30, as
    # Thursday -> Friday; Sunday 10:00 -> Monday 10:00), kept within that day's working hours
    # (a 22:00 finding is due by the next working day's close).
    days = max(1, round(deadlines["routine"] / timedelta(days=1)))
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(days):
        day += timedelta(days=1)
        while day.weekday() not in hours.days:
            day += timedelta(days=1)
    return datetime.combine(day, min(max(local.time(), hours.start), hours.end), tz)


@dataclass(frozen=True)
class People:
    """Who can be asked, now. Unavailable staff are already left out of duty and supervisors."""

    assigned: int | None  # None: nobody's client yet (crisis words from an unknown number)
    assigned_available: bool
    duty_officer: int | None
    duty_supervisor: int | None
    supervisors: Sequence[int]


def chain(severity: str, people: People) -> list[list[int]]:
    """Who to tell at each level; the last level (every supervisor) repeats until acknowledged."""
    if people.assigned is None:
        # Nobody's client: the duty officer and every supervisor at once, and all of them again
        # at every deadline until someone acknowledges.
        everyone = [p for p in (people.duty_officer, people.duty_supervisor) if p is not None]
        return [_unique([*everyone, *people.supervisors])]
    first: list[int] = []
    if people.assigned_available:
        first.append(people.assigned)
    fallback = people.duty_officer or people.duty_supervisor or (
        people.supervisors[0] if people.supervisors else None)
    if (severity == "RED" or not first) and fallback is not None:
        first.append(fallback)
    if not first:  # nobody available at all: still tell the assigned officer
        first.append(people.assigned)
    levels = [first]
    if people.duty_officer is not None:
        levels.append([people.duty_officer])
    supervisor = people.duty_supervisor or (people.supervisors[0] if people.supervisors else None)
    if supervisor is not None:
        levels.append([supervisor])
    levels.append(list(people.supervisors) or [people.assigned])
    return [_unique(level) for level in levels]


def targets_at(level: int, severity: str, people: People, already: set[int]) -> tuple[int, list[int]]:
    """The first level at or after `level` that has someone not yet told at this stage.

    Returns (level used, staff ids). Past the end, the final level is told again: an
    unacknowledged alert keeps being sent until a human takes it.
    """
    levels = chain(severity, people)
    for index in range(level, len(levels)):
        fresh = [s for s in levels[index] if s not in already]
        if fresh:
            return index, fresh
    return len(levels) - 1, levels[-1]


def should_hold(severity: str, recent_alerts: int, cfg: EscalationConfig) -> bool:
    """Batch AMBER and ROUTINE when an officer has had more than `batch_max` lately."""
    return severity != "RED" and recent_alerts >= cfg.batch_max


def _unique(ids: Sequence[int]) -> list[int]:
    seen: list[int] = []
    for i in ids:
        if i not in seen:
            seen.append(i)
    return seen
