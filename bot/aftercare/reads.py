"""What the admin panel may read about aftercare, for a mentor (admin_web/routes/mentor.py) and
for supervisors (the groups page). Read-only, on the read connection.

A mentor's reads all start from their own active mentor row and the groups they mentor now, and
return first names, meeting times and attendance: nothing from a case file. A mentor who stepped
down gets nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.core.clock import iso


class Reader(Protocol):
    async def all(self, sql: str, params: Sequence[Any] = ...) -> list[Any]: ...


# The groups this staff member mentors now, if they are an active mentor.
_MY_GROUPS = (
    "SELECT gm.group_id FROM group_mentors gm JOIN mentors m ON m.staff_id = gm.staff_id"
    " JOIN staff s ON s.id = gm.staff_id JOIN aftercare_groups a ON a.id = gm.group_id"
    " WHERE gm.staff_id = ? AND gm.ended_at IS NULL AND m.status = 'active' AND s.active = 1"
    " AND a.status = 'active'")
ATTENDANCE_LIMIT = 200


async def mentor_members(db: Reader, staff_id: int) -> list[Any]:
    return await db.all(
        "SELECT g.client_id, c.first_name, a.name AS group_name FROM group_members g"
        " JOIN clients c ON c.id = g.client_id JOIN aftercare_groups a ON a.id = g.group_id"
        f" WHERE g.status = 'active' AND g.group_id IN ({_MY_GROUPS})"
        " ORDER BY a.name, g.enrolled_at, g.id", (staff_id,))


async def mentor_attendance(db: Reader, staff_id: int) -> list[Any]:
    """Recorded attendance of current members at their group's meetings, newest first."""
    return await db.all(
        "SELECT c.first_name, m.starts_at AS meeting_at, t.outcome FROM meeting_attendance t"
        " JOIN group_meetings m ON m.id = t.meeting_id JOIN clients c ON c.id = t.client_id"
        " JOIN group_members g ON g.client_id = t.client_id AND g.group_id = m.group_id"
        f" AND g.status = 'active' WHERE m.group_id IN ({_MY_GROUPS})"
        " ORDER BY m.starts_at DESC, c.first_name LIMIT ?", (staff_id, ATTENDANCE_LIMIT))


async def mentor_groups(db: Reader, staff_id: int, now: Any) -> list[Any]:
    return await db.all(
        "SELECT a.id, a.name, a.weekday, a.meets_at, a.place, a.chat_status, a.chat_changed_at,"
        " (SELECT MIN(starts_at) FROM group_meetings WHERE group_id = a.id"
        "  AND status = 'scheduled' AND starts_at > ?) AS next_meeting"
        f" FROM aftercare_groups a WHERE a.id IN ({_MY_GROUPS}) ORDER BY a.name",
        (iso(now), staff_id))


async def all_groups(db: Reader, now: Any) -> list[Any]:
    """For supervisors: every active group, its mentors' names, size and chat state."""
    return await db.all(
        "SELECT a.id, a.name, a.weekday, a.meets_at, a.place, a.chat_status, a.chat_changed_at,"
        " (SELECT GROUP_CONCAT(s.name, ', ') FROM group_mentors gm JOIN staff s"
        "  ON s.id = gm.staff_id WHERE gm.group_id = a.id AND gm.ended_at IS NULL"
        "  AND s.active = 1) AS mentor_names,"
        " (SELECT COUNT(*) FROM group_members g WHERE g.group_id = a.id"
        "  AND g.status = 'active') AS members,"
        " (SELECT MIN(starts_at) FROM group_meetings WHERE group_id = a.id"
        "  AND status = 'scheduled' AND starts_at > ?) AS next_meeting"
        " FROM aftercare_groups a WHERE a.status = 'active' ORDER BY a.name", (iso(now),))


async def all_mentors(db: Reader) -> list[Any]:
    """For supervisors: mentors (active first), with the client record they graduated from."""
    return await db.all(
        "SELECT m.staff_id, m.client_id, m.status, m.agreement_version, m.promoted_at,"
        " m.stepped_down_at, s.name, c.ref FROM mentors m JOIN staff s ON s.id = m.staff_id"
        " JOIN clients c ON c.id = m.client_id ORDER BY m.status = 'active' DESC, s.name")
