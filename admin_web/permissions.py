"""Who may do what: the one place the panel's roles are decided.

Two layers, both enforced on the server for every request:
- capabilities: which pages and actions a role may reach at all (else 403);
- reach: which objects (clients, escalations) within those pages (else 404, so a guessed id
  tells the guesser nothing about whether it exists).

Pure data and SQL fragments here; the async checks that run the SQL sit at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.people import ROLES

# capability -> roles. Officer: own caseload and escalations routed to them. Supervisor:
# everything about cases, reassignment, the rota. Admin: staff accounts and settings, never a
# client's file. Mentor: their aftercare group's first names and attendance, and a concern form.
# Evaluator: the dashboard and its CSVs, programme-wide and aggregated with counts under 5
# suppressed (routes/dashboard.py); no case file, no client's name or ref, no officer filter.
CAPABILITIES: dict[str, frozenset[str]] = {
    "account": frozenset(ROLES),
    "queue": frozenset({"officer", "supervisor"}),
    "caseload": frozenset({"officer", "supervisor"}),
    "client": frozenset({"officer", "supervisor"}),
    "client.reassign": frozenset({"supervisor"}),
    # Subject access export, legal hold, rectification, erasure (bot.privacy).
    "client.data_protection": frozenset({"supervisor"}),
    # An officer adds to their own caseload; a supervisor picks the officer.
    "client.add": frozenset({"officer", "supervisor"}),
    "calendar": frozenset({"officer", "supervisor"}),
    "unmatched": frozenset({"officer", "supervisor"}),
    "unmatched.replace": frozenset({"supervisor"}),
    "staff": frozenset({"supervisor", "admin"}),
    "staff.accounts": frozenset({"admin"}),
    # Approving a role change that widens case access (bot.core.accounts): supervisors only.
    "staff.approve": frozenset({"supervisor"}),
    "rota": frozenset({"supervisor"}),
    "audit": frozenset({"supervisor"}),
    # The crisis screen's misses and false alarms that officers marked: the monthly review.
    "crisis_review": frozenset({"supervisor"}),
    "dashboard": frozenset({"supervisor", "evaluator"}),
    # Per-client outcome rows and the officer filter: case detail, so supervisors only.
    "dashboard.detail": frozenset({"supervisor"}),
    "import": frozenset({"supervisor"}),
    "settings": frozenset({"admin"}),
    "mentor": frozenset({"mentor"}),
    # Aftercare groups and their mentors: promote a graduate, step a mentor down.
    "groups": frozenset({"supervisor"}),
}

# Roles that must use the second factor in production (NCSC/GOV.UK Notify: MFA for accounts
# that reach everyone's cases or manage accounts). Every role may turn it on. Not required of
# evaluators: they see aggregates with small counts hidden, no personal data.
TOTP_REQUIRED = frozenset({"supervisor", "admin"})

HOME = {"officer": "/admin/escalations", "supervisor": "/admin/escalations",
        "admin": "/admin/staff", "mentor": "/admin/mentor", "evaluator": "/admin/dashboard"}

# Main navigation: (capability, path, label), in the order shown.
NAV = (
    ("queue", "/admin/escalations", "Escalations"),
    ("caseload", "/admin/clients", "Caseload"),
    ("client", "/admin/inbox", "Inbox"),
    ("calendar", "/admin/calendar", "Calendar"),
    ("unmatched", "/admin/unmatched", "Unmatched"),
    ("dashboard", "/admin/dashboard", "Dashboard"),
    ("staff", "/admin/staff", "Staff & rota"),
    ("groups", "/admin/groups", "Aftercare"),
    ("import", "/admin/import", "Import"),
    ("crisis_review", "/admin/crisis-review", "Crisis review"),
    ("audit", "/admin/audit", "Audit log"),
    ("settings", "/admin/settings", "Settings"),
    ("mentor", "/admin/mentor", "My group"),
    ("account", "/admin/account", "Account"),
)


@dataclass(frozen=True)
class User:
    """The signed-in staff member, as the panel sees them."""

    id: int
    name: str
    role: str
    username: str
    session_hash: str
    flash: str | None = None

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


def allowed(role: str, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")
    return role in CAPABILITIES[capability]


def totp_required(role: str, mode: str) -> bool:
    return mode == "production" and role in TOTP_REQUIRED


def nav_for(role: str) -> list[tuple[str, str]]:
    return [(path, label) for cap, path, label in NAV if role in CAPABILITIES[cap]]


def home_for(role: str) -> str:
    return HOME.get(role, "/admin/account")


# Reach -------------------------------------------------------------------------------------------

_NOBODY = ("1 = 0", ())


def client_scope(user: User, alias: str = "c") -> tuple[str, tuple[Any, ...]]:
    """SQL condition over clients (as `alias`) that the user may open.

    An officer reaches their own caseload, and a client whose unresolved escalation was routed
    to them (a duty officer covering must see who to call); never anyone else's.
    """
    if user.role == "supervisor":
        return "1 = 1", ()
    if user.role == "officer":
        return (f"({alias}.officer_id = ? OR {alias}.id IN (SELECT e2.client_id FROM escalations e2"
                " JOIN escalation_notices n2 ON n2.escalation_id = e2.id"
                " WHERE n2.staff_id = ? AND e2.status <> 'resolved'))", (user.id, user.id))
    return _NOBODY


def caseload_scope(user: User, alias: str = "c") -> tuple[str, tuple[Any, ...]]:
    """The caseload list: an officer's own clients only (covered ones show in the queue)."""
    if user.role == "supervisor":
        return "1 = 1", ()
    if user.role == "officer":
        return f"{alias}.officer_id = ?", (user.id,)
    return _NOBODY


def escalation_scope(user: User, esc: str = "e", client: str = "c",
                     at: str | None = None) -> tuple[str, tuple[Any, ...]]:
    """Escalations on the user's caseload, assigned to them, or sent to them; one without a
    client (a stranger's crisis) also to whoever is duty officer `at` (ISO time, now)."""
    if user.role == "supervisor":
        return "1 = 1", ()
    if user.role == "officer":
        where = (f"({client}.officer_id = ? OR {esc}.officer_id = ? OR {esc}.id IN"
                 " (SELECT escalation_id FROM escalation_notices WHERE staff_id = ?)")
        params: tuple[Any, ...] = (user.id, user.id, user.id)
        if at is not None:
            where += (f" OR ({esc}.client_id IS NULL AND EXISTS (SELECT 1 FROM rota r"
                      " WHERE r.staff_id = ? AND r.duty = 'duty_officer' AND r.starts_at <= ?"
                      " AND r.ends_at > ?))")
            params += (user.id, at, at)
        return where + ")", params
    return _NOBODY


async def client_in_reach(db: Any, user: User, client_id: int) -> bool:
    if not allowed(user.role, "client"):
        return False
    where, params = client_scope(user)
    return bool(await db.value(f"SELECT 1 FROM clients c WHERE c.id = ? AND {where}",
                               (client_id, *params)))


async def client_in_charge(db: Any, user: User, client_id: int) -> bool:
    """May the user change this client's file (stage, numbers, messages, notes, flows, calendar)?

    Stricter than client_in_reach: a duty officer covering someone else's client reads the file
    and acts on the escalation (acknowledge, resolve) but changes nothing else, so cover can
    never move a stage or link a chat that redirects the client's messages.
    """
    if not allowed(user.role, "client"):
        return False
    where, params = caseload_scope(user)
    return bool(await db.value(f"SELECT 1 FROM clients c WHERE c.id = ? AND {where}",
                               (client_id, *params)))


async def escalation_in_reach(db: Any, user: User, esc_id: int, at: str | None = None) -> bool:
    if not allowed(user.role, "queue"):
        return False
    where, params = escalation_scope(user, at=at)
    return bool(await db.value(
        "SELECT 1 FROM escalations e LEFT JOIN clients c ON c.id = e.client_id"
        f" WHERE e.id = ? AND {where}", (esc_id, *params)))
