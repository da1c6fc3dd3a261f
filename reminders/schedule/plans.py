"""Reminder plans, quiet hours and check-in cadence, loaded from config/reminders.toml.

Everything is validated on load; a bad value raises ConfigError naming its key
(e.g. "plans.court[0].before: '7x' is not a duration ..."), so a typo fails at start-up rather
than silently dropping someone's reminders.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from config.paths import config_file
from reminders.schedule.clock import local_instant, parse_clock, parse_weekday, zone
from reminders.schedule.durations import Offset, parse_duration
from reminders.schedule.quiet_hours import QuietHours

CONFIG_PATH = config_file("reminders.toml")

APPOINTMENT_KINDS = (
    "police_assessment",
    "rehab_assessment",
    "community_drug_service",
    "depot_injection",
    "court",
    "probation",
    "housing",
    "other",
)
EVENT_KINDS = (*APPOINTMENT_KINDS, "course_session", "aftercare_meeting")

DailyMode = Literal["none", "daily", "taper"]
_LABEL = re.compile(r"^[a-z0-9_]+$")
_MESSAGE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class ConfigError(ValueError):
    """reminders.toml is invalid; the message starts with the offending key."""


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One reminder in a plan: either `before` (a lead time) or `days_before` + `at` (a wall time
    on a day relative to the event's local date), optionally capped at `min_lead` before it."""

    label: str
    message_key: str
    before: Offset | None = None
    days_before: int | None = None
    at: time | None = None
    min_lead: timedelta | None = None
    invites_confirmation: bool = True
    plan_prompt: bool = False

    def nominal_due(self, event_utc: datetime, tz: str | ZoneInfo) -> tuple[datetime, date | None]:
        """(due before any quiet-hours shift, the local date an anchored entry must stay on)."""
        if self.before is not None:
            due, anchor = self.before.before(event_utc, tz), None
        else:
            assert self.days_before is not None and self.at is not None
            anchor = event_utc.astimezone(zone(tz)).date() - timedelta(days=self.days_before)
            due = local_instant(anchor, self.at, tz)
        if self.min_lead is not None:
            due = min(due, event_utc - self.min_lead)
        return due, anchor


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    kind: str
    entries: tuple[PlanEntry, ...]


@dataclass(frozen=True, slots=True)
class StageCadence:
    checkin: DailyMode = "none"
    weekly: bool = False
    monthly: bool = False


@dataclass(frozen=True, slots=True)
class TaperStep:
    """From `from_day` days into the stage, `per_week` check-ins per 7-day cycle."""

    from_day: int
    per_week: int


@dataclass(frozen=True, slots=True)
class CheckinCadence:
    default_time: time
    window: timedelta  # a check-in not sent this long after its due time is skipped
    weekly_day: int  # 0 = Monday
    monthly_day: int  # clamped to the month's last day
    scale_after: timedelta
    heightened_days: int
    heightened_exempt: frozenset[str]
    missed_after: timedelta
    missed_after_heightened: timedelta
    stages: Mapping[str, StageCadence]
    taper: tuple[TaperStep, ...]
    # The question budget (issue 16): questionnaire questions a day per person, safety
    # questions exempt; a scale waits scale_gap after another questionnaire ends, and is put
    # off a day at a time (at most scale_defer_days) when it would break the budget.
    question_budget: int = 7
    scale_gap: timedelta = timedelta(hours=1)
    scale_defer_days: int = 3

    def stage(self, name: str) -> StageCadence:
        try:
            return self.stages[name]
        except KeyError:
            known = ", ".join(sorted(self.stages))
            raise ValueError(f"unknown journey stage {name!r} (configured: {known})") from None


@dataclass(frozen=True, slots=True)
class CourseConfig:
    sessions_per_cohort: int = 4
    session_length: timedelta = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class RemindersConfig:
    quiet: QuietHours
    late_grace: timedelta
    followup_after: timedelta
    plans: Mapping[str, ReminderPlan]
    checkins: CheckinCadence
    # The daily planner: when (local) it plans the next day, how far ahead recurring
    # appointments are written out.
    day_plan_at: time = time(12, 0)
    series_horizon: timedelta = timedelta(days=92)
    course: CourseConfig = CourseConfig()

    def plan(self, kind: str) -> ReminderPlan:
        try:
            return self.plans[kind]
        except KeyError:
            raise ValueError(f"no reminder plan for kind {kind!r}") from None


def load_config(path: str | Path | None = None) -> RemindersConfig:
    p = Path(path) if path is not None else CONFIG_PATH
    try:
        with p.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p.name}: not valid TOML: {exc}") from exc
    return parse_config(raw)


def parse_config(raw: Mapping[str, Any]) -> RemindersConfig:
    _only(raw, "", {"quiet_hours", "planning", "course", "plans", "checkins"})
    qh = _table(raw, "quiet_hours")
    _only(qh, "quiet_hours", {"start", "end"})
    planning = _table(raw, "planning")
    _only(planning, "planning", {"late_grace", "day_plan_at", "series_horizon"})
    course = _table(raw, "course")
    _only(course, "course", {"followup_after", "sessions_per_cohort", "session_length"})
    defaults = CourseConfig()
    return RemindersConfig(
        quiet=QuietHours(_clock(qh, "quiet_hours", "start"), _clock(qh, "quiet_hours", "end")),
        late_grace=_duration(planning, "planning", "late_grace", allow_zero=True),
        followup_after=_duration(course, "course", "followup_after", allow_zero=True),
        plans=_plans(_table(raw, "plans"), "plans"),
        checkins=_checkins(_table(raw, "checkins"), "checkins"),
        day_plan_at=_clock(planning, "planning", "day_plan_at")
        if "day_plan_at" in planning
        else time(12, 0),
        series_horizon=_duration(planning, "planning", "series_horizon")
        if "series_horizon" in planning
        else timedelta(days=92),
        course=CourseConfig(
            sessions_per_cohort=_int(course, "course", "sessions_per_cohort", 1, 52)
            if "sessions_per_cohort" in course
            else defaults.sessions_per_cohort,
            session_length=_duration(course, "course", "session_length")
            if "session_length" in course
            else defaults.session_length,
        ),
    )


# -- validation helpers: each names the full key path in its error --------------------------


def _key(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _get(tbl: Mapping[str, Any], path: str, key: str, typ: type | tuple[type, ...]) -> Any:
    if key not in tbl:
        raise ConfigError(f"{_key(path, key)}: missing")
    value = tbl[key]
    if not isinstance(value, typ) or (isinstance(value, bool) and typ is int):
        raise ConfigError(f"{_key(path, key)}: expected {_typename(typ)}, got {value!r}")
    return value


def _typename(typ: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        dict: "a table",
        list: "a list",
    }
    types = typ if isinstance(typ, tuple) else (typ,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def _table(tbl: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _get(tbl, "", key, dict)


def _only(tbl: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    for k in tbl:
        if k not in allowed:
            raise ConfigError(
                f"{_key(path, k)}: unknown setting (allowed: {', '.join(sorted(allowed))})"
            )


def _convert(path: str, fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _clock(tbl: Mapping[str, Any], path: str, key: str) -> time:
    return _convert(_key(path, key), parse_clock, _get(tbl, path, key, str))


def _duration(
    tbl: Mapping[str, Any], path: str, key: str, *, allow_zero: bool = False
) -> timedelta:
    text = _get(tbl, path, key, str)
    value = _convert(_key(path, key), parse_duration, text)
    if not allow_zero and value <= timedelta(0):
        raise ConfigError(f"{_key(path, key)}: must be more than zero")
    return value


def _int(tbl: Mapping[str, Any], path: str, key: str, lo: int, hi: int) -> int:
    value = _get(tbl, path, key, int)
    if not lo <= value <= hi:
        raise ConfigError(f"{_key(path, key)}: {value} is outside {lo}..{hi}")
    return value


def _plans(tbl: Mapping[str, Any], path: str) -> Mapping[str, ReminderPlan]:
    _only(tbl, path, set(EVENT_KINDS))
    plans = {}
    for kind in EVENT_KINDS:
        entries = _get(tbl, path, kind, list)
        ppath = _key(path, kind)
        parsed = tuple(_entry(e, _key(ppath, i)) for i, e in enumerate(entries))
        labels = [e.label for e in parsed]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                raise ConfigError(
                    f"{_key(ppath, i)}.label: {label!r} used twice (labels make keys)"
                )
        plans[kind] = ReminderPlan(kind, parsed)
    return MappingProxyType(plans)


def _entry(raw: Any, path: str) -> PlanEntry:
    if not isinstance(raw, dict):
        raise ConfigError(f'{path}: expected a table like {{ before = "1d", message = "..." }}')
    _only(
        raw,
        path,
        {
            "label",
            "before",
            "days_before",
            "at",
            "min_lead",
            "message",
            "invites_confirmation",
            "plan_prompt",
        },
    )
    message = _get(raw, path, "message", str)
    if not _MESSAGE.match(message):
        raise ConfigError(
            f"{path}.message: {message!r} is not a message key like 'reminder.court.1d'"
        )
    before = days_before = at = None
    if "before" in raw:
        if "days_before" in raw or "at" in raw:
            raise ConfigError(f"{path}: give either 'before' or 'days_before' + 'at', not both")
        before = _convert(f"{path}.before", Offset.parse, _get(raw, path, "before", str))
        if not before.positive:
            raise ConfigError(f"{path}.before: must be more than zero")
        default_label = raw["before"].strip()
    elif "days_before" in raw and "at" in raw:
        days_before = _int(raw, path, "days_before", 0, 60)
        at = _clock(raw, path, "at")
        default_label = None
    else:
        raise ConfigError(f"{path}: needs 'before' (e.g. \"1d\") or 'days_before' and 'at'")
    label = raw.get("label", default_label)
    if not isinstance(label, str) or not _LABEL.match(label):
        raise ConfigError(
            f"{path}.label: needed, lowercase letters, digits and _ only; got {label!r}"
        )
    return PlanEntry(
        label=label,
        message_key=message,
        before=before,
        days_before=days_before,
        at=at,
        min_lead=_duration(raw, path, "min_lead") if "min_lead" in raw else None,
        invites_confirmation=_get(raw, path, "invites_confirmation", bool)
        if "invites_confirmation" in raw
        else True,
        plan_prompt=_get(raw, path, "plan_prompt", bool) if "plan_prompt" in raw else False,
    )


def _checkins(tbl: Mapping[str, Any], path: str) -> CheckinCadence:
    _only(
        tbl,
        path,
        {
            "default_time",
            "window",
            "weekly_day",
            "monthly_day",
            "scale_after",
            "heightened_days",
            "heightened_exempt_stages",
            "missed_after",
            "missed_after_heightened",
            "stages",
            "taper",
            "question_budget",
            "scale_gap",
            "scale_defer_days",
        },
    )
    stages_raw = _get(tbl, path, "stages", dict)
    stages = {name: _stage(v, _key(_key(path, "stages"), name)) for name, v in stages_raw.items()}
    exempt = _get(tbl, path, "heightened_exempt_stages", list)
    for i, name in enumerate(exempt):
        if name not in stages:
            raise ConfigError(f"{path}.heightened_exempt_stages[{i}]: unknown stage {name!r}")
    weekly = _get(tbl, path, "weekly_day", (str, int))
    return CheckinCadence(
        default_time=_clock(tbl, path, "default_time"),
        window=_duration(tbl, path, "window"),
        weekly_day=_convert(_key(path, "weekly_day"), parse_weekday, weekly),
        monthly_day=_int(tbl, path, "monthly_day", 1, 31),
        scale_after=_duration(tbl, path, "scale_after", allow_zero=True),
        heightened_days=_int(tbl, path, "heightened_days", 0, 366),
        heightened_exempt=frozenset(exempt),
        missed_after=_duration(tbl, path, "missed_after"),
        missed_after_heightened=_duration(tbl, path, "missed_after_heightened"),
        stages=MappingProxyType(stages),
        taper=_taper(_get(tbl, path, "taper", list), _key(path, "taper")),
        question_budget=_int(tbl, path, "question_budget", 1, 100)
        if "question_budget" in tbl else 7,
        scale_gap=_duration(tbl, path, "scale_gap", allow_zero=True)
        if "scale_gap" in tbl else timedelta(hours=1),
        scale_defer_days=_int(tbl, path, "scale_defer_days", 0, 14)
        if "scale_defer_days" in tbl else 3,
    )


def _stage(raw: Any, path: str) -> StageCadence:
    if not isinstance(raw, dict):
        raise ConfigError(f'{path}: expected a table like {{ checkin = "daily", weekly = true }}')
    _only(raw, path, {"checkin", "weekly", "monthly"})
    mode = _get(raw, path, "checkin", str)
    if mode not in ("none", "daily", "taper"):
        raise ConfigError(f"{path}.checkin: {mode!r} is not one of 'none', 'daily', 'taper'")
    return StageCadence(mode, _get(raw, path, "weekly", bool), _get(raw, path, "monthly", bool))


def _taper(raw: list[Any], path: str) -> tuple[TaperStep, ...]:
    steps = []
    for i, item in enumerate(raw):
        ipath = _key(path, i)
        if not isinstance(item, dict):
            raise ConfigError(f"{ipath}: expected a table with from_day and per_week")
        _only(item, ipath, {"from_day", "per_week"})
        step = TaperStep(
            _int(item, ipath, "from_day", 0, 10_000), _int(item, ipath, "per_week", 0, 7)
        )
        if steps and step.from_day <= steps[-1].from_day:
            raise ConfigError(f"{ipath}.from_day: must be greater than the step before")
        if not steps and step.from_day != 0:
            raise ConfigError(f"{ipath}.from_day: the first step must start at day 0")
        steps.append(step)
    if not steps:
        raise ConfigError(f"{path}: needs at least one step")
    return tuple(steps)
