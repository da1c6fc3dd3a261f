"""Dashboard measures as pure functions over plain facts (no database, no clock).

The route (routes/dashboard.py) loads the facts; these functions turn them into `Table`s that
the page shows and the CSV download writes. Each is unit-tested with hand-made data.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from admin_web import labels

STATUSES = ("referral_waiting", "active", "inactive", "withdrawn")
# The main path through the programme, as ranks: reaching a later rank implies the earlier ones
# (a client imported mid-journey was engaged and assessed before we knew them).
PATH_RANK = {
    "referral": 0, "engagement": 1, "police_assessment": 2, "rehab_assessment": 2,
    "pre_admission": 3, "in_rehab": 4, "completed": 5, "discharged_early": 5, "aftercare": 5,
}
FUNNEL_STEPS = (
    ("Referred", 0), ("Engaged", 1), ("Assessed (police or rehab)", 2),
    ("Pre-admission course", 3), ("Admitted to rehab", 4),
)
OUTCOME_STAGES = (("Completed 12 weeks", "completed"), ("Discharged early", "discharged_early"),
                  ("Aftercare", "aftercare"))
DIVERSIONS = (("Diverted to another service", "diverted"), ("Withdrawn", "withdrawn"),
              ("Inactive", "inactive"), ("Deceased", "deceased"))
# Not offending: in residential rehab, or after it (completed, in aftercare).
NOT_OFFENDING_STAGES = frozenset({"in_rehab", "completed", "aftercare"})
YEAR = timedelta(days=365.25)


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class ClientFacts:
    id: int
    officer: str
    status: str
    stage: str
    created_at: datetime
    area: str | None = None
    source: str | None = None
    # stage_history as (at, from_stage, to_stage), oldest first.
    moves: tuple[tuple[datetime, str | None, str], ...] = field(default_factory=tuple)

    @property
    def initial_stage(self) -> str:
        if self.moves and self.moves[0][1]:
            return self.moves[0][1]
        return self.moves[0][2] if self.moves else self.stage

    @property
    def stages_reached(self) -> frozenset[str]:
        return frozenset({self.initial_stage, self.stage, *(to for _, _, to in self.moves)})

    @property
    def furthest_rank(self) -> int:
        return max((PATH_RANK[s] for s in self.stages_reached if s in PATH_RANK), default=0)


def _pct(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


# Table 1 and the referral dimensions ------------------------------------------------------------

def referrals_by_officer(clients: Sequence[ClientFacts]) -> Table:
    """The programme's own Table 1: current status by officer, with totals."""
    officers = sorted({c.officer for c in clients})
    counts = Counter((c.status, c.officer) for c in clients)
    rows = []
    for status in STATUSES:
        per = [counts[(status, o)] for o in officers]
        rows.append((labels.status(status), *per, sum(per)))
    totals = [sum(1 for c in clients if c.officer == o) for o in officers]
    rows.append(("Total", *totals, len(clients)))
    return Table("referrals-by-officer", "Referrals by officer and status (Table 1)",
                 ("Current status", *officers, "Overall"), tuple(rows))


def by_dimension(clients: Sequence[ClientFacts], slug: str, title: str, heading: str,
                 key: Callable[[ClientFacts], str | None],
                 label: Callable[[str], str] = lambda v: v) -> Table:
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for c in clients:
        groups[key(c) or ""][c.status] += 1
    # Biggest first; "Not recorded" always last.
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == "", -sum(kv[1].values()), kv[0]))
    rows = [((label(name) if name else "Not recorded"), *(cnt[s] for s in STATUSES),
             sum(cnt.values())) for name, cnt in ordered]
    return Table(slug, title, (heading, *(labels.status(s) for s in STATUSES), "Total"),
                 tuple(rows))


def referrals_by_source(clients: Sequence[ClientFacts]) -> Table:
    return by_dimension(clients, "referrals-by-source", "Referrals by source", "Referral source",
                        lambda c: c.source, labels.source)


def referrals_by_area(clients: Sequence[ClientFacts]) -> Table:
    return by_dimension(clients, "referrals-by-area", "Referrals by primary offending area",
                        "Area", lambda c: c.area)


# The journey funnel ---------------------------------------------------------------------------

def journey_funnel(clients: Sequence[ClientFacts]) -> Table:
    """Who ever reached each step (stage history, not just today's stage)."""
    total = len(clients)
    rows: list[tuple[Any, ...]] = []
    for name, rank in FUNNEL_STEPS:
        n = sum(1 for c in clients if c.furthest_rank >= rank)
        rows.append((name, n, _pct(n, total)))
    for name, stage in OUTCOME_STAGES + DIVERSIONS:
        n = sum(1 for c in clients if stage in c.stages_reached)
        rows.append((name, n, _pct(n, total)))
    return Table("journey-funnel", "Journey funnel: clients who ever reached each step",
                 ("Step", "Clients", "Of referred"), tuple(rows),
                 "Reaching a later step counts the earlier ones. Completed, discharged early,"
                 " aftercare and the side exits count anyone who was ever there.")


# Pre-admission course ---------------------------------------------------------------------------

def preadmission_attendance(enrolled: Iterable[int],
                            marks: Sequence[tuple[int, int, str]]) -> Table:
    """`enrolled`: client ids ever enrolled; `marks`: (client, session, 'attended'|'missed')."""
    enrolled = set(enrolled)
    attended = Counter(c for c, _, outcome in marks if outcome == "attended")
    n_att = sum(attended.values())
    n_missed = sum(1 for _, _, o in marks if o == "missed")
    four = sum(1 for c in enrolled if attended[c] >= 4)
    rows = (
        ("Clients enrolled", len(enrolled)),
        ("Sessions marked", len(marks)),
        ("Attended", n_att),
        ("Missed", n_missed),
        ("Attendance rate", _pct(n_att, n_att + n_missed)),
        ("Enrolled clients with all 4 sessions attended", four),
        ("Enrolled clients who attended none yet", sum(1 for c in enrolled if not attended[c])),
    )
    return Table("preadmission-attendance", "Pre-admission course attendance",
                 ("Measure", "Value"), rows)


# Check-ins --------------------------------------------------------------------------------------

def week_start(moment: datetime, tz: ZoneInfo) -> date:
    day = moment.astimezone(tz).date()
    return day - timedelta(days=day.weekday())


def checkin_response(sessions: Sequence[tuple[datetime, bool]], tz: ZoneInfo,
                     weeks: int = 12) -> Table:
    """`sessions`: (started_at, answered at least one question) per check-in sent."""
    per: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for started, answered in sessions:
        w = per[week_start(started, tz)]
        w[0] += 1
        w[1] += int(answered)
    rows: list[tuple[Any, ...]] = [
        (f"{wk:%d %b %Y}", sent, ans, _pct(ans, sent))
        for wk, (sent, ans) in sorted(per.items())[-weeks:]]
    sent_all = sum(v[0] for v in per.values())
    ans_all = sum(v[1] for v in per.values())
    rows.append(("All time", sent_all, ans_all, _pct(ans_all, sent_all)))
    return Table("checkin-response", "Check-in response rate (daily and weekly check-ins)",
                 ("Week starting", "Sent", "Answered", "Response rate"), tuple(rows),
                 "Answered: the client replied to at least one question.")


# Escalations ----------------------------------------------------------------------------------

def escalations_by_severity(escalations: Sequence[tuple[str, str, datetime, datetime | None]]
                            ) -> Table:
    """(severity, status, created_at, acknowledged_at) -> counts and median time to acknowledge."""
    rows = []
    for sev in ("RED", "AMBER", "ROUTINE"):
        mine = [e for e in escalations if e[0] == sev]
        waits = [(e[3] - e[2]).total_seconds() / 60 for e in mine if e[3] is not None]
        rows.append((
            sev, len(mine),
            sum(1 for e in mine if e[1] in ("open", "notified")),
            sum(1 for e in mine if e[1] == "acknowledged"),
            sum(1 for e in mine if e[1] == "resolved"),
            f"{statistics.median(waits):.0f}" if waits else "—",
        ))
    return Table("escalations", "Escalations by severity",
                 ("Severity", "Total", "Waiting for acknowledgement", "Acknowledged",
                  "Resolved", "Median minutes to acknowledge"), tuple(rows))


# Wellbeing ------------------------------------------------------------------------------------

def weekly_means(points: Sequence[tuple[datetime, float]], tz: ZoneInfo
                 ) -> list[tuple[date, float, int]]:
    per: dict[date, list[float]] = defaultdict(list)
    for at, value in points:
        per[week_start(at, tz)].append(value)
    return [(wk, statistics.fmean(vals), len(vals)) for wk, vals in sorted(per.items())]


def wellbeing_table(series: dict[str, Sequence[tuple[datetime, float]]], tz: ZoneInfo,
                    weeks: int = 12) -> Table:
    """Weekly cohort means, one column pair (mean, answers) per measure."""
    means = {name: {wk: (m, n) for wk, m, n in weekly_means(pts, tz)}
             for name, pts in series.items()}
    all_weeks = sorted({wk for per in means.values() for wk in per})[-weeks:]
    rows = []
    for wk in all_weeks:
        row: list[Any] = [f"{wk:%d %b %Y}"]
        for name in series:
            m = means[name].get(wk)
            row.extend([f"{m[0]:.1f}" if m else "—", m[1] if m else 0])
        rows.append(tuple(row))
    cols = ["Week starting"]
    for name in series:
        cols.extend([f"{name} (mean)", f"{name} (answers)"])
    return Table("wellbeing", "Cohort wellbeing: weekly means (0-10)", tuple(cols), tuple(rows))


# Retail theft avoided -------------------------------------------------------------------------

@dataclass(frozen=True)
class TheftParams:
    habit_cost_per_year: Fraction  # pounds a year a heroin-and-crack habit costs
    resale_min: Fraction  # the lowest share of retail value stolen goods fetch (1/3)
    resale_max: Fraction  # the highest (1/2)

    def stolen_per_year(self) -> tuple[Fraction, Fraction]:
        """Goods stolen to fund one habit for a year: (low, high)."""
        return self.habit_cost_per_year / self.resale_max, self.habit_cost_per_year / self.resale_min


DEFAULT_THEFT = TheftParams(Fraction(19000), Fraction(1, 3), Fraction(1, 2))


def parse_fraction(text: str) -> Fraction:
    """'1/3', '0.5', '50%' -> a share strictly between 0 and 1 (inclusive of 1)."""
    raw = text.strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{text!r} is not a share like 1/3, 0.5 or 50%") from None
    if not 0 < value <= 1:
        raise ValueError(f"{text!r} must be above 0 and at most 1")
    return value


def time_in_stages(c: ClientFacts, stages: frozenset[str], now: datetime) -> timedelta:
    """How long a client has spent in any of `stages`, from creation to `now`."""
    spans: list[tuple[datetime, str]] = [(c.created_at, c.initial_stage)]
    spans.extend((at, to) for at, _, to in c.moves)
    total = timedelta(0)
    for (start, stage), (end, _) in zip(spans, [*spans[1:], (now, "")], strict=True):
        if stage in stages and end > start:
            total += end - start
    return total


def theft_avoided(clients: Sequence[ClientFacts], params: TheftParams, now: datetime) -> Table:
    years = sum((time_in_stages(c, NOT_OFFENDING_STAGES, now) for c in clients),
                timedelta(0)) / YEAR
    low, high = params.stolen_per_year()
    current = sum(1 for c in clients if c.stage in NOT_OFFENDING_STAGES)

    def gbp(v: Fraction | float) -> str:
        return f"£{float(v):,.0f}"

    rows = (
        ("Client-years in rehab or aftercare so far", f"{years:.2f}"),
        ("Goods stolen per active client per year", f"{gbp(low)} to {gbp(high)}"),
        ("Estimated retail theft avoided so far", f"{gbp(low * Fraction(years))} to"
                                                 f" {gbp(high * Fraction(years))}"),
        ("Clients in rehab or aftercare now", current),
        ("Avoided per year at today's numbers", f"{gbp(low * current)} to {gbp(high * current)}"),
    )
    return Table("theft-avoided", "Estimated retail theft avoided", ("Measure", "Value"), rows,
                 f"A habit costs about {gbp(params.habit_cost_per_year)} a year; stolen goods"
                 f" resell at {float(params.resale_min):.0%} to {float(params.resale_max):.0%} of"
                 " retail. Counts time in residential rehab, after completing, and in aftercare.")
