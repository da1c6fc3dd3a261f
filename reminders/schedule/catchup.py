"""What to do with a due row the claim loop finds, on time or after downtime.

decide_late (safe to call for every claimed row):
- with an event (reminders): event passed -> "drop_event_passed" (log it); now allowed -> "send"
  (late but still useful); now quiet -> "defer" to the end of quiet hours (`resume_at`) if that
  is still before the event, else "skip_window_missed" (no allowed time left before it);
- without an event (check-ins, scales, follow-ups): past `window_end` -> "skip_window_missed";
  now allowed -> "send"; now quiet -> "defer" if quiet hours end before `window_end`, else
  "skip_window_missed". A missed check-in is never sent at night.
- `safety` rows ignore quiet hours.
A deferred row gets due_at = resume_at(...) and is claimed again then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from reminders.schedule.clock import require_aware
from reminders.schedule.model import SendKind
from reminders.schedule.quiet_hours import QuietHours, is_quiet_at, next_allowed

LateDecision = Literal["send", "drop_event_passed", "skip_window_missed", "defer"]
_EVENT_KEY_PREFIXES = ("reminder:", "session:", "meeting:")


def decide_late(
    kind: SendKind,
    due_at: datetime,
    event_at: datetime | None,
    window_end: datetime | None,
    now: datetime,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    *,
    safety: bool = False,
) -> LateDecision:
    require_aware(now, "now")
    require_aware(due_at, "due_at")
    if kind == "reminder" and event_at is None:
        raise ValueError("a reminder row needs its event_at")
    deadline = event_at if event_at is not None else window_end
    if deadline is not None and now >= deadline:
        return "drop_event_passed" if event_at is not None else "skip_window_missed"
    if now < due_at:
        return "defer"  # claimed early (clock skew): not due yet
    if safety or not is_quiet_at(now, quiet, tz):
        return "send"
    if deadline is None or next_allowed(now, quiet, tz) < deadline:
        return "defer"
    return "skip_window_missed"


def resume_at(due_at: datetime, now: datetime, quiet: QuietHours, tz: str | ZoneInfo) -> datetime:
    """New due time (UTC) for a deferred row: the first allowed instant from max(due_at, now)."""
    return next_allowed(max(due_at, now).astimezone(UTC), quiet, tz)


def superseded(due_rows: Iterable[tuple[str, datetime]]) -> set[str]:
    """Keys of due reminder rows made redundant by a later reminder for the same event that is
    also due (after downtime the 1d and 2h texts must not arrive together): all but the latest
    per event. Rows are (key, due_at); the event is the key without its last ':<label>'."""
    latest: dict[str, tuple[datetime, str]] = {}
    out: set[str] = set()
    for key, due in due_rows:
        if not key.startswith(_EVENT_KEY_PREFIXES):
            continue
        event = key.rsplit(":", 1)[0]
        held = latest.get(event)
        if held is None:
            latest[event] = (due, key)
        elif (due, key) > held:
            out.add(held[1])
            latest[event] = (due, key)
        else:
            out.add(key)
    return out
