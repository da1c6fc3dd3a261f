"""The retention schedule (config/retention.toml), loaded and checked once. Pure: no I/O but
reading the file; cut-offs are computed from a `now` passed in."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.people import STAGES
from config.paths import config_file

EVENTS = ("message_date", "entry_date", "case_closed")
# Every kind the purge knows; the file must name each (a missing kind would silently keep
# everything, a stray one would be silently ignored).
KINDS = ("unmatched", "delivery_receipts", "message_bodies", "answers", "notes", "escalations",
         "client_records", "audit_log", "backups")
# Kinds o2r does not purge itself (files outside the database): shown in the report only.
OPERATOR_KINDS = frozenset({"backups"})


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Kind:
    name: str
    event: str
    days: int
    reason: str

    def cutoff(self, now: datetime) -> datetime:
        """Rows whose event is before this are past their period."""
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class Schedule:
    kinds: dict[str, Kind]
    run_at: time
    batch: int
    closed_stages: tuple[str, ...]
    staff_names: str           # 'names' | 'roles'
    review_every_months: int
    dormant_days: int


def _table(obj: object, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ScheduleError(f"{where}: expected a table")
    return obj


def parse(raw: dict[str, Any]) -> Schedule:
    """The schedule from the TOML's dict; ScheduleError names the wrong field."""
    sched = _table(raw.get("schedule", {}), "[schedule]")
    kinds_raw = _table(raw.get("kinds", {}), "[kinds]")
    missing = [k for k in KINDS if k not in kinds_raw]
    stray = [k for k in kinds_raw if k not in KINDS]
    if missing or stray:
        raise ScheduleError(f"[kinds]: missing {missing}, unknown {stray}")
    kinds: dict[str, Kind] = {}
    for name in KINDS:
        k = _table(kinds_raw[name], f"[kinds.{name}]")
        event, days, reason = k.get("from"), k.get("days"), k.get("reason")
        if event not in EVENTS:
            raise ScheduleError(f"[kinds.{name}] from: one of {EVENTS}")
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ScheduleError(f"[kinds.{name}] days: a whole number of days, at least 1")
        if not isinstance(reason, str) or not reason.strip():
            raise ScheduleError(f"[kinds.{name}] reason: say why this period")
        kinds[name] = Kind(name, str(event), days, reason.strip())
    closed = sched.get("closed_stages", [])
    if not isinstance(closed, list) or not closed or any(s not in STAGES for s in closed):
        raise ScheduleError(f"[schedule] closed_stages: stages from {STAGES}")
    batch = sched.get("batch", 500)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ScheduleError("[schedule] batch: a positive whole number")
    try:
        run_at = time.fromisoformat(str(sched.get("run_at", "03:30")))
    except ValueError:
        raise ScheduleError("[schedule] run_at: HH:MM local time") from None
    export = _table(raw.get("export", {}), "[export]")
    staff_names = export.get("staff_names", "roles")
    if staff_names not in ("names", "roles"):
        raise ScheduleError('[export] staff_names: "names" or "roles"')
    review = _table(raw.get("access_review", {}), "[access_review]")
    every, dormant = review.get("every_months", 3), review.get("dormant_days", 90)
    if every not in (1, 2, 3, 4, 6, 12):
        raise ScheduleError("[access_review] every_months: 1, 2, 3, 4, 6 or 12")
    if not isinstance(dormant, int) or isinstance(dormant, bool) or dormant < 1:
        raise ScheduleError("[access_review] dormant_days: a positive whole number")
    return Schedule(kinds, run_at, batch, tuple(str(s) for s in closed), str(staff_names),
                    int(every), dormant)


def load(path: Path | None = None) -> Schedule:
    with open(path or config_file("retention.toml"), "rb") as fh:
        return parse(tomllib.load(fh))


@cache
def current() -> Schedule:
    return load()
