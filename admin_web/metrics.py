"""Dashboard measures as pure functions over plain facts (no database, no clock).

The route (routes/dashboard.py) loads the facts; these functions turn them into `Table`s that
the page shows and the CSV download writes. Each is unit-tested with hand-made data.

Cells are typed, not display strings: numbers as numbers, dates as dates, and a figure that
rests on a count of people or events as a `Stat` carrying that count, so `suppress()` can
hide small counts for evaluators and the CSV writes machine-readable values (csv_value).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from admin_web import labels
from flows import questions as q

STATUSES = ("referral_waiting", "active", "inactive", "withdrawn")
# The main path through the programme, as ranks: reaching a later rank implies the earlier ones
# (a client imported mid-journey was engaged and assessed before we knew them).
PATH_RANK = {
    "referral": 0, "engagement": 1, "police_assessment": 2, "rehab_assessment": 2,
    "pre_admission": 3, "in_rehab": 4, "completed": 5, "discharged_early": 5, "aftercare": 5,
}
FUNNEL_STEPS = (
    ("Referred", 0, "referred"), ("Engaged", 1, "engaged"),
    ("Assessed (police or rehab)", 2, "assessed"), ("Pre-admission course", 3, "pre_admission"),
    ("Admitted to rehab", 4, "admitted"),
)
OUTCOME_STAGES = (("Completed 12 weeks", "completed"), ("Discharged early", "discharged_early"),
                  ("Aftercare", "aftercare"))
DIVERSIONS = (("Diverted to another service", "diverted"), ("Withdrawn", "withdrawn"),
              ("Inactive", "inactive"), ("Deceased", "deceased"))
# Not offending: in residential rehab, or after it (completed, in aftercare).
NOT_OFFENDING_STAGES = frozenset({"in_rehab", "completed", "aftercare"})
YEAR = timedelta(days=365.25)


# Counts under this (and figures resting on them) are hidden from evaluators: a cell of 1-4
# people can point at a person (ONS/NHS Digital small-number practice).
SMALL_COUNT = 5


@dataclass(frozen=True)
class Stat:
    """A figure (`value`: a count, mean, rate; None when there is nothing to show) resting on
    `n` people or events."""

    value: float | int | None
    n: int


class Suppressed:
    """A cell hidden because it rests on fewer than SMALL_COUNT."""

    def __repr__(self) -> str:
        return "SUPPRESSED"


SUPPRESSED = Suppressed()


def count(n: int) -> Stat:
    return Stat(n, n)


def share(part: int, whole: int) -> Stat:
    """Percentage, one decimal; it rests on the smaller of the two counts."""
    return Stat(round(100 * part / whole, 1) if whole else None, min(part, whole))


def mean_of(values: Sequence[float]) -> Stat:
    return Stat(round(statistics.fmean(values), 2) if values else None, len(values))


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""
    # Machine-readable code of each row (a stage, status, measure...), written as the CSV's
    # first column `code_column` next to the row's label.
    codes: tuple[str, ...] | None = None
    code_column: str = "code"
    suppressed: tuple[tuple[str, ...], ...] | None = None  # per row: columns hidden


def suppress(table: Table) -> Table:
    """The table as an evaluator sees it: each Stat resting on 1-4 hidden, then, where the table
    shows totals, enough further cells that no hidden one can be worked out by subtraction."""
    grid = [list(row) for row in table.rows]
    for row in grid:
        for j, v in enumerate(row):
            if isinstance(v, Stat) and 0 < v.n < SMALL_COUNT:
                row[j] = SUPPRESSED
    _secondary(grid, _additive_lines(table))
    hidden = tuple(tuple(column for column, v in zip(table.columns, row, strict=True)
                         if isinstance(v, Suppressed)) for row in grid)
    return replace(table, rows=tuple(tuple(row) for row in grid), suppressed=hidden)


TOTAL_HEADINGS = ("Total", "Overall")


def _additive_lines(table: Table) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Each row and column of a table whose last column and/or last row is a total:
    ([cells that add up], total cell), cells as (row, column)."""
    lines: list[tuple[list[tuple[int, int]], tuple[int, int]]] = []
    n_rows, n_cols = len(table.rows), len(table.columns)
    total_col = n_cols - 1 if table.columns and table.columns[-1] in TOTAL_HEADINGS else None
    total_row = n_rows - 1 if table.codes and table.codes[-1] == "total" else None
    body_rows = [i for i in range(n_rows) if i != total_row]
    body_cols = [j for j in range(1, n_cols) if j != total_col]  # column 0 is the label
    if total_col is not None:
        lines += [([(i, j) for j in body_cols], (i, total_col)) for i in range(n_rows)]
    if total_row is not None:
        lines += [([(i, j) for i in body_rows], (total_row, j)) for j in range(1, n_cols)]
    return lines


def _secondary(grid: list[list[Any]], lines: list[tuple[list[tuple[int, int]],
                                                         tuple[int, int]]]) -> None:
    """Complementary suppression: a line with exactly one hidden part and a shown total would
    give the hidden figure away (total minus the rest), so hide its smallest other non-zero
    part, or, if there is none, its total. Repeat until no line gives anything away."""
    changed = True
    while changed:
        changed = False
        for parts, total in lines:
            hidden = [c for c in parts if isinstance(grid[c[0]][c[1]], Suppressed)]
            if len(hidden) != 1 or isinstance(grid[total[0]][total[1]], Suppressed):
                continue
            shown = [c for c in parts if isinstance(grid[c[0]][c[1]], Stat)
                     and grid[c[0]][c[1]].n > 0]
            victim = min(shown, key=lambda c: grid[c[0]][c[1]].n) if shown else total
            grid[victim[0]][victim[1]] = SUPPRESSED
            changed = True


def suppress_count(n: int) -> int | Suppressed:
    return SUPPRESSED if 0 < n < SMALL_COUNT else n


def csv_value(v: Any) -> Any:
    """A cell for the CSV: numbers as numbers, ISO dates, empty for nothing or hidden."""
    if isinstance(v, Stat):
        v = v.value
    if v is None or isinstance(v, Suppressed):
        return ""
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Fraction):
        return round(float(v), 2)
    return v


def csv_rows(table: Table) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """(header, rows) for the download: code column first, `suppressed` last when hidden."""
    header = ((table.code_column,) if table.codes else ()) + table.columns
    if table.suppressed is not None:
        header += ("suppressed",)
    rows = []
    for i, row in enumerate(table.rows):
        out = ((table.codes[i],) if table.codes else ()) + tuple(csv_value(v) for v in row)
        if table.suppressed is not None:
            out += ("; ".join(table.suppressed[i]),)
        rows.append(out)
    return header, rows


def display(v: Any) -> str:
    """A cell for the page."""
    if isinstance(v, Stat):
        v = v.value
    if isinstance(v, Suppressed):
        return "fewer than 5"
    if v is None or v == "":
        return "—"
    if isinstance(v, datetime):
        return f"{v:%d %b %Y}"
    if isinstance(v, date):
        return f"{v:%d %b %Y}"
    if isinstance(v, bool):
        return "Yes" if v else "No"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return str(v)


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


# Table 1 and the referral dimensions ------------------------------------------------------------

def referrals_by_officer(clients: Sequence[ClientFacts]) -> Table:
    """The programme's own Table 1: current status by officer, with totals."""
    officers = sorted({c.officer for c in clients})
    counts = Counter((c.status, c.officer) for c in clients)
    rows = []
    for status in STATUSES:
        per = [counts[(status, o)] for o in officers]
        rows.append((labels.status(status), *map(count, per), count(sum(per))))
    totals = [sum(1 for c in clients if c.officer == o) for o in officers]
    rows.append(("Total", *map(count, totals), count(len(clients))))
    return Table("referrals-by-officer", "Referrals by officer and status (Table 1)",
                 ("Current status", *officers, "Overall"), tuple(rows),
                 codes=(*STATUSES, "total"), code_column="status")


def by_dimension(clients: Sequence[ClientFacts], slug: str, title: str, heading: str,
                 key: Callable[[ClientFacts], str | None],
                 label: Callable[[str], str] = lambda v: v, code_column: str = "code") -> Table:
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for c in clients:
        groups[key(c) or ""][c.status] += 1
    # Biggest first; "Not recorded" always last.
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == "", -sum(kv[1].values()), kv[0]))
    rows = [((label(name) if name else "Not recorded"), *(count(cnt[s]) for s in STATUSES),
             count(sum(cnt.values()))) for name, cnt in ordered]
    return Table(slug, title, (heading, *(labels.status(s) for s in STATUSES), "Total"),
                 tuple(rows), codes=tuple(name for name, _ in ordered), code_column=code_column)


def referrals_by_source(clients: Sequence[ClientFacts]) -> Table:
    return by_dimension(clients, "referrals-by-source", "Referrals by source", "Referral source",
                        lambda c: c.source, labels.source, "referral_source")


def referrals_by_area(clients: Sequence[ClientFacts]) -> Table:
    return by_dimension(clients, "referrals-by-area", "Referrals by primary offending area",
                        "Area", lambda c: c.area, code_column="area")


# The journey funnel ---------------------------------------------------------------------------

def journey_funnel(clients: Sequence[ClientFacts]) -> Table:
    """Who ever reached each step (stage history, not just today's stage)."""
    total = len(clients)
    rows: list[tuple[Any, ...]] = []
    codes: list[str] = []
    for name, rank, code in FUNNEL_STEPS:
        n = sum(1 for c in clients if c.furthest_rank >= rank)
        rows.append((name, count(n), share(n, total)))
        codes.append(code)
    for name, stage in OUTCOME_STAGES + DIVERSIONS:
        n = sum(1 for c in clients if stage in c.stages_reached)
        rows.append((name, count(n), share(n, total)))
        codes.append(stage)
    return Table("journey-funnel", "Journey funnel: clients who ever reached each step",
                 ("Step", "Clients", "Of referred (%)"), tuple(rows), codes=tuple(codes),
                 code_column="step", note=
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
        ("Clients enrolled", count(len(enrolled))),
        ("Sessions marked", count(len(marks))),
        ("Attended", count(n_att)),
        ("Missed", count(n_missed)),
        ("Attendance rate (%)", share(n_att, n_att + n_missed)),
        ("Enrolled clients with all 4 sessions attended", count(four)),
        ("Enrolled clients who attended none yet",
         count(sum(1 for c in enrolled if not attended[c]))),
    )
    return Table("preadmission-attendance", "Pre-admission course attendance",
                 ("Measure", "Value"), rows,
                 codes=("enrolled", "sessions_marked", "attended", "missed", "attendance_rate",
                        "all_four_attended", "none_attended"), code_column="measure")


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
    shown = sorted(per.items())[-weeks:]
    rows: list[tuple[Any, ...]] = [(wk, count(sent), count(ans), share(ans, sent))
                                   for wk, (sent, ans) in shown]
    sent_all = sum(v[0] for v in per.values())
    ans_all = sum(v[1] for v in per.values())
    rows.append(("Whole period", count(sent_all), count(ans_all), share(ans_all, sent_all)))
    return Table("checkin-response", "Check-in response rate (daily and weekly check-ins)",
                 ("Week starting", "Sent", "Answered", "Response rate (%)"), tuple(rows),
                 "Answered: the client replied to at least one question.",
                 codes=(*(wk.isoformat() for wk, _ in shown), "whole_period"),
                 code_column="period")


# Escalations ----------------------------------------------------------------------------------

def escalations_by_severity(escalations: Sequence[tuple[str, str, datetime, datetime | None]]
                            ) -> Table:
    """(severity, status, created_at, acknowledged_at) -> counts and median time to acknowledge."""
    rows = []
    for sev in ("RED", "AMBER", "ROUTINE"):
        mine = [e for e in escalations if e[0] == sev]
        waits = [(e[3] - e[2]).total_seconds() / 60 for e in mine if e[3] is not None]
        rows.append((
            sev.capitalize(), count(len(mine)),
            count(sum(1 for e in mine if e[1] in ("open", "notified"))),
            count(sum(1 for e in mine if e[1] == "acknowledged")),
            count(sum(1 for e in mine if e[1] == "resolved")),
            Stat(round(statistics.median(waits), 1) if waits else None, len(waits)),
        ))
    return Table("escalations", "Escalations by severity",
                 ("Severity", "Total", "Waiting for acknowledgement", "Acknowledged",
                  "Resolved", "Median minutes to acknowledge"), tuple(rows),
                 codes=("RED", "AMBER", "ROUTINE"), code_column="severity")


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
        row: list[Any] = [wk]
        for name in series:
            m = means[name].get(wk)
            row.extend([Stat(round(m[0], 2), m[1]) if m else Stat(None, 0),
                        count(m[1] if m else 0)])
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

    def pounds(v: Fraction | float) -> int:
        return round(float(v))

    rows = (
        ("Client-years in rehab or aftercare so far", round(years, 2), round(years, 2)),
        ("Goods stolen per active client per year (£)", pounds(low), pounds(high)),
        ("Estimated retail theft avoided so far (£)", pounds(low * Fraction(years)),
         pounds(high * Fraction(years))),
        ("Clients in rehab or aftercare now", count(current), count(current)),
        # Resting on today's count: divided by the low rate it would give a small count away.
        ("Avoided per year at today's numbers (£)", Stat(pounds(low * current), current),
         Stat(pounds(high * current), current)),
    )
    return Table("theft-avoided", "Estimated retail theft avoided",
                 ("Measure", "Low estimate", "High estimate"), rows,
                 codes=("client_years", "stolen_per_client_year_gbp", "avoided_so_far_gbp",
                        "clients_now", "avoided_per_year_gbp"), code_column="measure",
                 note=f"A habit costs about {gbp(params.habit_cost_per_year)} a year; stolen goods"
                 f" resell at {float(params.resale_min):.0%} to {float(params.resale_max):.0%} of"
                 " retail. Counts time in residential rehab, after completing, and in aftercare.")


# Outcomes over time ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    better: str  # "higher" or "lower": which way is improvement


# K10, SPANE balance, BARC-10 (monthly scales, from `scores`) and the four ONS items (check-in
# answers): the evaluation's outcome measures.
OUTCOMES = (
    Measure("k10", "K10 distress total (10-50)", "lower"),
    Measure("spane_b", "SPANE balance (-24 to 24)", "higher"),
    Measure("barc10", "BARC-10 recovery capital total (10-60)", "higher"),
    Measure("ons_satisfied", "ONS life satisfaction (0-10)", "higher"),
    Measure("ons_worthwhile", "ONS things worthwhile (0-10)", "higher"),
    Measure("ons_happy", "ONS happy yesterday (0-10)", "higher"),
    Measure("ons_anxious", "ONS anxious yesterday (0-10)", "lower"),
)

# (client id, measure code, when, value)
Point = tuple[int, str, datetime, float]


def first_and_latest(points: Iterable[Point]
                     ) -> dict[tuple[int, str], tuple[tuple[datetime, float], tuple[datetime, float]]]:
    """Per (client, measure) with two or more measurements: the first and the latest."""
    per: dict[tuple[int, str], list[tuple[datetime, float]]] = defaultdict(list)
    for client_id, code, at, value in points:
        per[(client_id, code)].append((at, value))
    out = {}
    for key, series in per.items():
        if len(series) >= 2:
            series.sort()
            out[key] = (series[0], series[-1])
    return out


def outcome_change(points: Iterable[Point]) -> Table:
    """Per measure, over clients measured at least twice: mean first, mean latest, mean change."""
    pairs = first_and_latest(points)
    rows = []
    for m in OUTCOMES:
        mine = [(first[1], latest[1]) for (_, code), (first, latest) in pairs.items()
                if code == m.code]
        better = sum(1 for a, b in mine if (b < a if m.better == "lower" else b > a))
        rows.append((m.label, count(len(mine)), mean_of([a for a, _ in mine]),
                     mean_of([b for _, b in mine]), mean_of([b - a for a, b in mine]),
                     count(better), "Lower" if m.better == "lower" else "Higher"))
    return Table("outcome-change", "Outcome change: first and latest measurement (cohort)",
                 ("Measure", "Clients measured twice or more", "First (mean)", "Latest (mean)",
                  "Change (mean)", "Clients improved", "Better is"), tuple(rows),
                 "Each client's first and latest measurement in the period; a client measured"
                 " once is not counted.", codes=tuple(m.code for m in OUTCOMES),
                 code_column="measure")


def outcome_by_client(points: Iterable[Point], refs: dict[int, str]) -> Table:
    """The same pairs client by client (case detail: supervisors only)."""
    pairs = first_and_latest(points)
    order = {m.code: i for i, m in enumerate(OUTCOMES)}
    label = {m.code: m.label for m in OUTCOMES}
    keys = sorted(pairs, key=lambda k: (refs.get(k[0], ""), order.get(k[1], 99)))
    rows = tuple((refs.get(cid, str(cid)), label.get(code, code), first[0].date(), first[1],
                  latest[0].date(), latest[1], round(latest[1] - first[1], 2))
                 for (cid, code), (first, latest) in ((k, pairs[k]) for k in keys))
    return Table("outcome-by-client", "Outcome change client by client",
                 ("Client", "Measure", "First on", "First", "Latest on", "Latest", "Change"),
                 rows, codes=tuple(code for _, code in keys), code_column="measure")


# Programme feedback ----------------------------------------------------------------------------

FEEDBACK_QUESTIONS = (
    (q.FEEDBACK_LISTENED, "Felt listened to"),
    (q.FEEDBACK_THINK, "Helped me think differently"),
    (q.FEEDBACK_CHANGED, "Helped me change"),
)


def feedback_ratings(answers: dict[str, Sequence[float]]) -> Table:
    """The programme feedback questionnaire's 1-10 ratings (1 = not at all, 10 = a lot)."""
    rows = []
    for key, label in FEEDBACK_QUESTIONS:
        values = list(answers.get(key, ()))
        rows.append((label, count(len(values)), mean_of(values),
                     Stat(statistics.median(values) if values else None, len(values)),
                     share(sum(1 for v in values if v >= 7), len(values))))
    return Table("feedback", "Programme feedback ratings (1-10)",
                 ("Question", "Answers", "Mean", "Median", "Rated 7 or more (%)"), tuple(rows),
                 "From the programme feedback questionnaire, which an officer sends from the"
                 " client's page.", codes=tuple(k for k, _ in FEEDBACK_QUESTIONS),
                 code_column="question")
