"""The question budget's pure rule (reminders/schedule/budget.py) and its shipped settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reminders.schedule.budget import Gate, scale_gate
from reminders.schedule.plans import load_config

NOW = datetime(2026, 11, 30, 11, tzinfo=UTC)
HOUR = timedelta(hours=1)


def gate(**kw: object) -> Gate:
    args: dict[str, object] = {"running": False, "last_end": None, "asked_today": 0,
                               "questions": 11, "budget": 7, "gap": HOUR, **kw}
    return scale_gate(NOW, **args)  # type: ignore[arg-type]


def test_shipped_budget_and_spacing() -> None:
    c = load_config().checkins
    assert (c.question_budget, c.scale_gap, c.scale_defer_days) == (7, HOUR, 3)


def test_a_scale_alone_on_its_day_goes() -> None:
    assert gate() == Gate("go")
    assert gate(questions=5, asked_today=2) == Gate("go")  # 7: within the budget


def test_a_scale_after_questions_today_over_budget_waits_a_day() -> None:
    assert gate(asked_today=6, last_end=NOW - 3 * HOUR) == Gate("next_day")
    assert gate(questions=2, asked_today=6, last_end=NOW - 3 * HOUR) == Gate("next_day")


def test_never_within_the_gap_of_another_questionnaire_or_while_one_runs() -> None:
    assert gate(last_end=NOW - timedelta(minutes=10)) == Gate("wait", NOW + timedelta(minutes=50))
    assert gate(running=True) == Gate("wait", NOW + HOUR)
    assert gate(last_end=NOW - HOUR) == Gate("go")
