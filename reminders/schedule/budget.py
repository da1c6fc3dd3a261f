"""The question budget and the spacing of scales (pure; reminders/jobs.py applies it).

A scale (weekly or monthly questionnaire) starts only when: no other questionnaire is running;
none ended less than `gap` ago (so never straight after "that's all for today"); and the
questions already asked today plus its own stay within the budget, safety questions exempt. A
scale longer than the budget on its own may run on a day nothing else was asked: validated
scales are not cut, and the planner gives them a day of their own (checkins_for_day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class Gate:
    action: Literal["go", "wait", "next_day"]
    until: datetime | None = None  # "wait": try again then


def scale_gate(now: datetime, *, running: bool, last_end: datetime | None, asked_today: int,
               questions: int, budget: int, gap: timedelta) -> Gate:
    """May a scale of `questions` (non-safety) questions start now?"""
    if running:
        return Gate("wait", now + gap)
    if last_end is not None and now < last_end + gap:
        return Gate("wait", last_end + gap)
    if asked_today > 0 and asked_today + questions > budget:
        return Gate("next_day")
    return Gate("go")
