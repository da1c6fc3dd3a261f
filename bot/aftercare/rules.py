"""Pure aftercare rules: the meeting rule, mentor keywords, numbered replies, attendance streaks,
milestone dates and the mentors' prompt calendar. Data in, data out; the clock is a parameter.
"""

from __future__ import annotations

import calendar
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.paths import config_file
from reminders.schedule.clock import WEEKDAYS, local_instant, parse_clock, parse_weekday
from reminders.schedule.durations import parse_duration
from reminders.schedule.recurrence import Recurrence, recurring

CONFIG = config_file("aftercare.toml")


# Configuration -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AftercareConfig:
    plan_ahead: timedelta
    register_after: timedelta
    plan_at: time
    agreement_version: str
    concern_day: int  # 0 = Monday
    concern_at: time
    wellbeing_day: int  # 1..31, clamped to the month
    wellbeing_at: time
    prompt_ttl: timedelta
    milestone_days: tuple[int, ...]
    milestone_at: time


def _get(raw: dict[str, Any], section: str, key: str) -> Any:
    try:
        return raw[section][key]
    except KeyError:
        raise ValueError(f"config/aftercare.toml {section}.{key}: missing") from None


def _convert(section: str, key: str, fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"config/aftercare.toml {section}.{key}: {exc}") from None


def parse_config(raw: dict[str, Any]) -> AftercareConfig:
    def duration(section: str, key: str) -> timedelta:
        return _convert(section, key, parse_duration, _get(raw, section, key))

    def clock(section: str, key: str) -> time:
        return _convert(section, key, parse_clock, _get(raw, section, key))

    days = _get(raw, "milestones", "days")
    if not (isinstance(days, list) and days and all(isinstance(d, int) and d > 0 for d in days)):
        raise ValueError("config/aftercare.toml milestones.days: a list of whole days above 0")
    wellbeing_day = _get(raw, "mentors", "wellbeing_day")
    if not isinstance(wellbeing_day, int) or not 1 <= wellbeing_day <= 31:
        raise ValueError("config/aftercare.toml mentors.wellbeing_day: 1..31")
    version = _get(raw, "mentors", "agreement_version")
    if not isinstance(version, str) or not re.fullmatch(r"[a-z0-9._-]{1,40}", version):
        raise ValueError("config/aftercare.toml mentors.agreement_version: a short lowercase id")
    return AftercareConfig(
        plan_ahead=duration("meetings", "plan_ahead"),
        register_after=duration("meetings", "register_after"),
        plan_at=clock("meetings", "plan_at"),
        agreement_version=version,
        concern_day=_convert("mentors", "concern_day", parse_weekday,
                             _get(raw, "mentors", "concern_day")),
        concern_at=clock("mentors", "concern_at"),
        wellbeing_day=wellbeing_day,
        wellbeing_at=clock("mentors", "wellbeing_at"),
        prompt_ttl=duration("mentors", "prompt_ttl"),
        milestone_days=tuple(sorted(set(days))),
        milestone_at=clock("milestones", "at"),
    )


@lru_cache(maxsize=1)
def load_config(path: Path = CONFIG) -> AftercareConfig:
    with path.open("rb") as fh:
        return parse_config(tomllib.load(fh))


# The meeting rule ----------------------------------------------------------------------------

_MEETS = re.compile(r"^weekly:\s*([a-z]+)\s+(\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class MeetingRule:
    weekday: int  # 0 = Monday
    at: time

    @classmethod
    def parse(cls, text: str) -> MeetingRule:
        """'weekly:tue 18:00' (any weekday spelling parse_weekday knows, 24-hour time)."""
        m = _MEETS.match(" ".join(text.lower().split()))
        if not m:
            raise ValueError(f"{text!r} is not a meeting rule like 'weekly:tue 18:00'")
        clock = m.group(2).zfill(5)
        return cls(parse_weekday(m.group(1)), parse_clock(clock))

    @property
    def text(self) -> str:
        return f"weekly:{WEEKDAYS[self.weekday][:3]} {self.at.strftime('%H:%M')}"

    def recurrence(self) -> Recurrence:
        return Recurrence("weekly", self.at, day=self.weekday)


def meeting_times(rule: MeetingRule, first_day: date, last_day: date,
                  tz: str | ZoneInfo) -> list[tuple[date, datetime]]:
    """(local date, UTC start) of every meeting from `first_day` to `last_day` inclusive."""
    z = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return [(moment.astimezone(z).date(), moment)
            for moment in recurring(rule.recurrence(), first_day, last_day, z)]


# What people type ----------------------------------------------------------------------------

KEYWORDS = {
    "mentor": "mentor", "/mentor": "mentor",
    "attendance": "attendance", "/attendance": "attendance", "register": "attendance",
    "/register": "attendance",
    "concern": "concern", "/concern": "concern", "worried": "concern", "/worried": "concern",
    "support": "support", "/support": "support", "i need support": "support",
    "members": "members", "/members": "members", "group": "members", "/group": "members",
    "/open": "staff_only",
}
# Slash commands only a mentor has: anyone else gets a plain "not for you" (typed words fall
# through to the usual handling, so "support" in a sentence is never hijacked).
MENTOR_ONLY = frozenset({"attendance", "concern", "members", "staff_only"})
_ACK = re.compile(r"^ack\s+#?\d+$")


def _alone(text: str) -> str:
    """The whole message as one keyword candidate: trimmed, lower-case, outer punctuation off,
    a Telegram '@botname' suffix dropped."""
    t = unicodedata.normalize("NFKC", text or "").strip().lower()
    t = " ".join(t.strip(" \t\r\n.!?,;:\"'").split())
    return re.sub(r"^(/\w+)@\w+", r"\1", t)


def keyword(text: str) -> str | None:
    """The aftercare keyword a whole message is ('mentor', 'attendance', 'concern', 'support',
    'members', 'staff_only'), or None."""
    alone = _alone(text)
    if _ACK.match(alone):
        return "staff_only"
    return KEYWORDS.get(alone)


def is_slash(text: str) -> bool:
    return _alone(text).startswith("/")


_NONE_WORDS = frozenset({"0", "none", "no one", "noone", "nobody", "no"})
_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\s)\s*")


def parse_numbers(text: str, size: int) -> tuple[int, ...] | None:
    """Numbers picked from a numbered list of `size`: '1 3', '1,3', '1 and 3' -> (1, 3);
    '0' / 'none' / 'nobody' -> (). None when it is not such a reply or a number is off the list."""
    alone = _alone(text)
    if alone in _NONE_WORDS:
        return ()
    parts = [p for p in _SPLIT.split(alone) if p]
    if not parts or not all(p.isdigit() and len(p) <= 3 for p in parts):
        return None
    picked = sorted({int(p) for p in parts})
    if picked == [0]:
        return ()
    if any(not 1 <= n <= size for n in picked):
        return None
    return tuple(picked)


def parse_choice(text: str, choices: int) -> int | None:
    """A single number 1..`choices`, or None."""
    alone = _alone(text)
    return int(alone) if alone.isdigit() and 1 <= int(alone) <= choices else None


def numbered(names: Sequence[str]) -> str:
    """'1 Sam\\n2 Jo': the list a mentor answers with numbers (first names only)."""
    return "\n".join(f"{i} {name}" for i, name in enumerate(names, start=1))


# Attendance ----------------------------------------------------------------------------------

def misses_in_a_row(outcomes_newest_first: Iterable[str]) -> int:
    count = 0
    for outcome in outcomes_newest_first:
        if outcome != "missed":
            break
        count += 1
    return count


def note_officer(outcomes_newest_first: Sequence[str]) -> bool:
    """Two missed meetings in a row make one note for the officer: on the second miss, not on
    every later one (a third miss would only repeat it)."""
    return misses_in_a_row(outcomes_newest_first) == 2


# Milestones ----------------------------------------------------------------------------------

def local_today(now: datetime, tz: str | ZoneInfo) -> date:
    z = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return now.astimezone(z).date()


def days_in_recovery(since: date, today: date) -> int:
    return (today - since).days


def upcoming_milestones(since: date, today: date, days: Iterable[int]) -> list[tuple[int, date]]:
    """(days, local date) of each milestone on or after `today`."""
    return [(n, since + timedelta(days=n)) for n in sorted(set(days))
            if since + timedelta(days=n) >= today]


def milestone_due(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    return local_instant(day, at, tz)


# The mentors' prompt calendar ----------------------------------------------------------------

def next_weekly(after: datetime, weekday: int, at: time, tz: str | ZoneInfo) -> datetime:
    """The first `weekday` at `at` (local) strictly after `after`."""
    day = local_today(after, tz)
    for offset in range(8):
        d = day + timedelta(days=offset)
        if d.weekday() == weekday:
            moment = local_instant(d, at, tz)
            if moment > after:
                return moment
    raise AssertionError("a weekday recurs within eight days")


def next_monthly(after: datetime, day_of_month: int, at: time, tz: str | ZoneInfo) -> datetime:
    """Day `day_of_month` (clamped to the month) at `at` (local), strictly after `after`."""
    today = local_today(after, tz)
    y, m = today.year, today.month
    for _ in range(3):
        d = date(y, m, min(day_of_month, calendar.monthrange(y, m)[1]))
        moment = local_instant(d, at, tz)
        if moment > after:
            return moment
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    raise AssertionError("a day of the month recurs within three months")
