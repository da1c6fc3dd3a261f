"""Reading the programme calendar (appointments, course sessions, attendance) for the panel.

The tables belong to reminders/ (migration 004); changes go through reminders.calendar. Until
that migration exists the panel shows no calendar rather than failing.
"""

from __future__ import annotations

from typing import Any

CALENDAR_TABLES = frozenset({"appointments", "course_sessions", "course_enrolments",
                             "course_attendance"})


async def available(database: Any) -> bool:
    return CALENDAR_TABLES <= (await database.columns()).keys()


async def for_client(database: Any, client_id: int) -> dict[str, Any] | None:
    if not await available(database):
        return None
    appointments = await database.all(
        "SELECT * FROM appointments WHERE client_id = ? ORDER BY at DESC LIMIT 50", (client_id,))
    enrolment = await database.one(
        "SELECT e.*, k.name AS cohort FROM course_enrolments e"
        " LEFT JOIN course_cohorts k ON k.id = e.cohort_id WHERE e.client_id = ?"
        " ORDER BY e.enrolled_at DESC LIMIT 1", (client_id,))
    attendance = await database.all(
        "SELECT s.id, s.starts_at, s.place, a.outcome FROM course_attendance a"
        " JOIN course_sessions s ON s.id = a.session_id WHERE a.client_id = ?"
        " ORDER BY s.starts_at DESC", (client_id,))
    return {"appointments": appointments, "enrolment": enrolment, "attendance": attendance,
            "attended": sum(1 for a in attendance if a["outcome"] == "attended")}


async def course_marks(database: Any) -> tuple[list[int], list[tuple[int, int, str]]] | None:
    """(client ids ever enrolled, (client, session, outcome) marks), or None without the tables."""
    if not await available(database):
        return None
    enrolled = [r[0] for r in await database.all(
        "SELECT DISTINCT client_id FROM course_enrolments")]
    marks = [(r[0], r[1], r[2]) for r in await database.all(
        "SELECT a.client_id, a.session_id, a.outcome FROM course_attendance a"
        " JOIN course_sessions s ON s.id = a.session_id WHERE s.status <> 'cancelled'")]
    return enrolled, marks
