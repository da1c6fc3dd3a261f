"""Dashboard measures, CSV safety and chart geometry, as pure functions on hand-made data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from admin_web import charts, csvout, metrics, programme_settings
from admin_web.metrics import ClientFacts

T = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
LONDON = ZoneInfo("Europe/London")


def client(cid: int, officer: str, status: str, stage: str, moves: list[tuple[int, str, str]]
           = (), area: str | None = None, source: str | None = None,  # type: ignore[assignment]
           created_days_ago: int = 400) -> ClientFacts:
    created = T - timedelta(days=created_days_ago)
    return ClientFacts(cid, officer, status, stage, created, area, source,
                       tuple((created + timedelta(days=d), f, to) for d, f, to in moves))


def plain(rows: tuple[tuple[object, ...], ...]) -> tuple[tuple[object, ...], ...]:
    """Rows with each Stat as its value, as the page and CSV show them."""
    return tuple(tuple(v.value if isinstance(v, metrics.Stat) else v for v in row) for row in rows)


CASELOAD = [
    client(1, "Officer 1", "referral_waiting", "referral", area="City Centre", source="retail"),
    client(2, "Officer 1", "active", "in_rehab",
           [(10, "referral", "engagement"), (40, "engagement", "police_assessment"),
            (60, "police_assessment", "rehab_assessment"), (70, "rehab_assessment",
                                                            "pre_admission"),
            (100, "pre_admission", "in_rehab")], area="Erdington", source="officer_outreach"),
    client(3, "Officer 2", "withdrawn", "withdrawn",
           [(5, "referral", "engagement"), (30, "engagement", "withdrawn")],
           area="Erdington", source="retail"),
    client(4, "Officer 2", "active", "aftercare",
           [(1, "in_rehab", "completed"), (2, "completed", "aftercare")]),
    client(5, "Officer 2", "inactive", "engagement",
           [(10, "in_rehab", "discharged_early"), (20, "discharged_early", "engagement")],
           area="Harborne"),
]


def test_table_1_referrals_by_officer_and_status() -> None:
    t = metrics.referrals_by_officer(CASELOAD)
    assert t.columns == ("Current status", "Officer 1", "Officer 2", "Overall")
    assert t.codes == ("referral_waiting", "active", "inactive", "withdrawn", "total")
    assert plain(t.rows) == (
        ("Referral/Waiting", 1, 0, 1),
        ("Active", 1, 1, 2),
        ("Inactive", 0, 1, 1),
        ("Withdrawn", 0, 1, 1),
        ("Total", 2, 3, 5),
    )


def test_funnel_counts_who_ever_reached_each_step() -> None:
    rows = {r[0]: r[1].value for r in metrics.journey_funnel(CASELOAD).rows}
    assert rows["Referred"] == 5
    # 2 walked the path; 3 engaged then withdrew; 4 and 5 were admitted before we knew them.
    assert rows["Engaged"] == 4
    assert rows["Assessed (police or rehab)"] == 3
    assert rows["Pre-admission course"] == 3
    assert rows["Admitted to rehab"] == 3
    assert rows["Completed 12 weeks"] == 1
    assert rows["Discharged early"] == 1
    assert rows["Aftercare"] == 1
    assert rows["Withdrawn"] == 1 and rows["Diverted to another service"] == 0
    assert {r[0]: r[2] for r in plain(metrics.journey_funnel(CASELOAD).rows)}["Engaged"] == 80.0


def test_referrals_by_source_and_area() -> None:
    source = metrics.referrals_by_source(CASELOAD)
    assert plain(source.rows)[0] == ("Retail business", 1, 0, 0, 1, 2)
    assert ("Not recorded", 0, 1, 1, 0, 2) in plain(source.rows)
    assert source.codes is not None and source.codes[0] == "retail" and source.codes[-1] == ""
    area = {r[0]: r[-1] for r in plain(metrics.referrals_by_area(CASELOAD).rows)}
    assert area == {"Erdington": 2, "City Centre": 1, "Harborne": 1, "Not recorded": 1}


def test_preadmission_attendance() -> None:
    marks = [(1, s, "attended") for s in range(4)] + [(2, 0, "missed"), (2, 1, "attended")]
    rows = dict(plain(metrics.preadmission_attendance([1, 2, 3], marks).rows))
    assert rows["Clients enrolled"] == 3 and rows["Attended"] == 5 and rows["Missed"] == 1
    assert rows["Attendance rate (%)"] == 83.3
    assert rows["Enrolled clients with all 4 sessions attended"] == 1
    assert rows["Enrolled clients who attended none yet"] == 1


def test_checkin_response_rate_by_week() -> None:
    sessions = [(T, True), (T + timedelta(days=1), False), (T + timedelta(days=2), True),
                (T + timedelta(days=7), False)]
    t = metrics.checkin_response(sessions, LONDON)
    assert plain(t.rows) == ((date(2026, 1, 5), 3, 2, 66.7), (date(2026, 1, 12), 1, 0, 0.0),
                             ("Whole period", 4, 2, 50.0))
    assert t.codes == ("2026-01-05", "2026-01-12", "whole_period")
    assert plain(metrics.checkin_response([], LONDON).rows) == (("Whole period", 0, 0, None),)


def test_escalations_by_severity_with_median_time_to_acknowledge() -> None:
    escs = [
        ("RED", "resolved", T, T + timedelta(minutes=4)),
        ("RED", "acknowledged", T, T + timedelta(minutes=10)),
        ("RED", "acknowledged", T, T + timedelta(minutes=30)),
        ("AMBER", "notified", T, None),
    ]
    rows = {r[0]: r for r in plain(metrics.escalations_by_severity(escs).rows)}
    assert rows["Red"] == ("Red", 3, 0, 2, 1, 10.0)
    assert rows["Amber"] == ("Amber", 1, 1, 0, 0, None)
    assert rows["Routine"][1] == 0


def test_weekly_wellbeing_means() -> None:
    happy = [(T, 2.0), (T + timedelta(days=1), 4.0), (T + timedelta(days=8), 7.0)]
    craving = [(T, 9.0)]
    assert metrics.weekly_means(happy, LONDON) == [
        (T.date(), 3.0, 2), ((T + timedelta(days=7)).date(), 7.0, 1)]
    t = metrics.wellbeing_table({"Happy": happy, "Craving": craving}, LONDON)
    assert t.columns == ("Week starting", "Happy (mean)", "Happy (answers)", "Craving (mean)",
                         "Craving (answers)")
    assert plain(t.rows)[0] == (date(2026, 1, 5), 3.0, 2, 9.0, 1)
    assert plain(t.rows)[1] == (date(2026, 1, 12), 7.0, 1, None, 0)


def test_time_in_rehab_and_aftercare() -> None:
    now = T
    two = CASELOAD[1]  # in rehab since day 100 of 400
    assert metrics.time_in_stages(two, metrics.NOT_OFFENDING_STAGES, now) == timedelta(days=300)
    five = CASELOAD[4]  # in rehab from creation to day 10, then discharged early
    assert metrics.time_in_stages(five, metrics.NOT_OFFENDING_STAGES, now) == timedelta(days=10)
    fresh = client(9, "O", "active", "in_rehab", created_days_ago=0)
    assert metrics.time_in_stages(fresh, metrics.NOT_OFFENDING_STAGES, now) == timedelta(0)


def test_theft_avoided_uses_the_briefs_method() -> None:
    params = metrics.DEFAULT_THEFT
    low, high = params.stolen_per_year()
    assert (low, high) == (Fraction(38000), Fraction(57000))
    one_year = ClientFacts(1, "O", "active", "in_rehab", T - metrics.YEAR)
    rows = {r[0]: r[1:] for r in plain(metrics.theft_avoided([one_year], params, T).rows)}
    assert rows["Client-years in rehab or aftercare so far"] == (1.0, 1.0)
    assert rows["Estimated retail theft avoided so far (£)"] == (38000, 57000)
    assert rows["Clients in rehab or aftercare now"] == (1, 1)
    assert rows["Avoided per year at today's numbers (£)"] == (38000, 57000)


def test_theft_parameters_parse_and_validate() -> None:
    p = programme_settings.theft_params({"theft.habit_cost_per_year": "£20,000",
                                         "theft.resale_min": "25%", "theft.resale_max": "0.5"})
    assert p.stolen_per_year() == (Fraction(40000), Fraction(80000))
    for bad in ({"theft.resale_min": "0"}, {"theft.resale_min": "2"},
                {"theft.resale_min": "abc"}, {"theft.habit_cost_per_year": "-5"},
                {"theft.resale_min": "3/4"}):
        with pytest.raises(ValueError):
            programme_settings.theft_params(bad)


@pytest.mark.parametrize(("value", "expected"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"),
    ("\t=1", "'\t=1"), ("Sam", "Sam"), (5, 5), (-5, -5), (None, None), ("", ""),
])
def test_csv_cells_that_start_a_formula_are_made_inert(value: object, expected: object) -> None:
    assert csvout.neutralise(value) == expected


def test_csv_output_round_trips() -> None:
    text = csvout.to_csv(["a", "b"], [["=1+1", 'say "hi", ok'], [None, 3]])
    assert text == "a,b\r\n'=1+1,\"say \"\"hi\"\", ok\"\r\n,3\r\n"


def test_line_chart_geometry_and_summary() -> None:
    chart = charts.line_chart("Craving", [charts.Series("Craving", [
        (T, 8.0), (T + timedelta(days=1), 4.0), (T + timedelta(days=2), 0.0)])], (0, 10))
    assert chart is not None
    line = chart.lines[0]
    xs = [d.x for d in line.dots]
    ys = [d.y for d in line.dots]
    assert xs[0] == charts.LEFT and xs[-1] == charts.WIDTH - charts.RIGHT
    assert ys[0] < ys[1] < ys[2] == charts.HEIGHT - charts.BOTTOM  # 0 sits on the axis
    assert line.points.count(",") == 3
    assert "latest 0" in chart.summary and "from 0 to 8" in chart.summary
    assert [label for _, label in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert charts.line_chart("Empty", [charts.Series("x", [])]) is None
    single = charts.line_chart("One", [charts.Series("x", [(T, 5.0)])])
    assert single is not None and single.lines[0].dots[0].x == charts.LEFT + (
        charts.WIDTH - charts.LEFT - charts.RIGHT) / 2


def test_bar_chart_scales_to_the_largest() -> None:
    chart = charts.bar_chart("Funnel", [("Referred", 10), ("Engaged", 5), ("None", 0)])
    assert chart is not None
    widths = [b.width for b in chart.bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert "Referred 10" in chart.summary


def test_suppression_hides_counts_of_one_to_four_and_figures_resting_on_them() -> None:
    t = metrics.suppress(metrics.journey_funnel(CASELOAD))  # 5 referred, 4 engaged, 1 completed
    rows = {r[0]: r for r in t.rows}
    assert rows["Referred"][1] == metrics.Stat(5, 5) and rows["Referred"][2].value == 100.0
    assert rows["Engaged"][1] is metrics.SUPPRESSED and rows["Engaged"][2] is metrics.SUPPRESSED
    assert rows["Diverted to another service"][1] == metrics.Stat(0, 0)  # nobody: not hidden
    assert t.suppressed is not None
    header, csv_rows = metrics.csv_rows(t)
    assert header == ("step", "Step", "Clients", "Of referred (%)", "suppressed")
    by_code = {r[0]: r for r in csv_rows}
    assert by_code["referred"] == ("referred", "Referred", 5, 100.0, "")
    assert by_code["engaged"] == ("engaged", "Engaged", "", "", "Clients; Of referred (%)")
    assert metrics.display(metrics.SUPPRESSED) == "fewer than 5"


def test_suppression_leaves_no_hidden_count_to_work_out_from_a_total() -> None:
    """Table 1 with totals: hiding a 3 beside a shown row total and shown neighbours would give
    it away by subtraction, so a second cell in each such row and column is hidden too."""
    caseload = ([client(i, "Officer A", "active", "in_rehab") for i in range(1, 21)]
                + [client(i, "Officer A", "withdrawn", "withdrawn") for i in range(21, 24)]
                + [client(i, "Officer B", "active", "in_rehab") for i in range(24, 44)]
                + [client(i, "Officer B", "withdrawn", "withdrawn") for i in range(44, 52)]
                + [client(i, "Officer C", "active", "in_rehab") for i in range(52, 62)])
    t = metrics.suppress(metrics.referrals_by_officer(caseload))
    rows = {r[0]: r for r in t.rows}
    assert rows["Withdrawn"][1] is metrics.SUPPRESSED  # Officer A's 3: the primary cell
    # Its row (A 3, B 8, C 0, overall 11) and column (A 20 active, 3 withdrawn, total 23) would
    # each give it away: B's 8 and A's 20 active are hidden as well.
    assert rows["Withdrawn"][2] is metrics.SUPPRESSED
    assert rows["Active"][1] is metrics.SUPPRESSED
    grid = [list(r) for r in t.rows]
    for parts, total in metrics._additive_lines(t):
        hidden = [c for c in parts if grid[c[0]][c[1]] is metrics.SUPPRESSED]
        assert len(hidden) != 1 or grid[total[0]][total[1]] is metrics.SUPPRESSED, (parts, total)
    # Without totals (the journey funnel) nothing more than the small counts is hidden.
    funnel = metrics.suppress(metrics.journey_funnel(CASELOAD))
    assert {r[0]: r for r in funnel.rows}["Referred"][1] == metrics.Stat(5, 5)


def test_csv_cells_are_machine_readable() -> None:
    t = metrics.checkin_response([(T, True)], LONDON)
    header, rows = metrics.csv_rows(t)
    assert header == ("period", "Week starting", "Sent", "Answered", "Response rate (%)")
    assert rows[0] == ("2026-01-05", "2026-01-05", 1, 1, 100.0)
    empty = metrics.csv_rows(metrics.escalations_by_severity([]))[1]
    assert empty[0] == ("RED", "Red", 0, 0, 0, 0, "")  # no median: an empty cell, not "—"
    text = csvout.to_csv(*metrics.csv_rows(metrics.theft_avoided([], metrics.DEFAULT_THEFT, T)))
    assert "£" not in text.splitlines()[1] and "%" not in text


def test_outcome_change_first_against_latest_per_client_and_cohort() -> None:
    day = timedelta(days=1)
    points = [
        (1, "k10", T, 30.0), (1, "k10", T + 30 * day, 24.0), (1, "k10", T + 60 * day, 20.0),
        (2, "k10", T, 25.0), (2, "k10", T + 30 * day, 27.0),
        (3, "k10", T, 40.0),  # measured once: not counted
        (1, "spane_b", T, -4.0), (1, "spane_b", T + 9 * day, 6.0),
        (2, "ons_happy", T + day, 3.0), (2, "ons_happy", T, 5.0),  # out of order on purpose
    ]
    cohort = {r[0]: r for r in plain(metrics.outcome_change(points).rows)}
    k10 = cohort["K10 distress total (10-50)"]
    assert k10[1:6] == (2, 27.5, 23.5, -4.0, 1)  # (30+25)/2 -> (20+27)/2; client 1 improved
    assert cohort["SPANE balance (-24 to 24)"][1:6] == (1, -4.0, 6.0, 10.0, 1)
    assert cohort["ONS happy yesterday (0-10)"][1:6] == (1, 5.0, 3.0, -2.0, 0)
    assert cohort["BARC-10 recovery capital total (10-60)"][1:6] == (0, None, None, None, 0)
    per = metrics.outcome_by_client(points, {1: "D-001", 2: "D-002"})
    assert [r[:2] for r in per.rows] == [("D-001", "K10 distress total (10-50)"),
                                         ("D-001", "SPANE balance (-24 to 24)"),
                                         ("D-002", "K10 distress total (10-50)"),
                                         ("D-002", "ONS happy yesterday (0-10)")]
    assert per.rows[0][2:] == (T.date(), 30.0, (T + 60 * day).date(), 20.0, -10.0)
    assert per.codes == ("k10", "spane_b", "k10", "ons_happy")


def test_feedback_ratings() -> None:
    t = metrics.feedback_ratings({"feedback_listened": [8, 9, 4, 10, 7, 2]})
    rows = {r[0]: r for r in plain(t.rows)}
    assert rows["Felt listened to"][1:] == (6, 6.67, 7.5, 66.7)
    assert rows["Helped me change"][1:] == (0, None, None, None)
    assert t.codes == ("feedback_listened", "feedback_think_differently", "feedback_changed")
