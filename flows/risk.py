"""Risk rules: pure functions from answers (+ history) to findings, per the §5.5 matrix.

Thresholds come from config/risk.toml (`load_thresholds`). Rules never conclude "low risk":
they only add findings; a zero on PHQ-9 item 9 is not reassurance and is not reported as such.
Hard-coded RED rules stay here, outside any future statistical model.

Not covered here, by design: free-text crisis phrases (flows/intents.py; `crisis_finding` turns
a match into the RED finding), self-discharge notices (entered by rehab/officer, not a client
answer) and silence (reminders' missed-check-in windows), and the "lower thresholds in the
vulnerability window" of §5.1, which has no agreed numbers yet beyond the daily safety item
and treating any use in the window as AMBER.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from config.paths import config_file
from flows import questions as q
from flows.client import ClientView, History
from flows.intents import Detection
from flows.model import Severity
from flows.scales import BARC10, SPANE, Scale, score, score_scale

RISK_TOML = config_file("risk.toml")
SEVERITY_ORDER: Mapping[str, int] = {"RED": 3, "AMBER": 2, "YELLOW": 1, "ROUTINE": 0}

# Texts sent to the client with a finding (params from crisis.toml + the client).
CRISIS_MESSAGES = ("crisis.ack", "crisis.reply")
OVERDOSE_MESSAGES = ("crisis.ack_overdose", "crisis.reply")
ITEM9_MESSAGES = ("crisis.reply", "safety.followup_today")
TOLERANCE_MESSAGES = ("safety.tolerance",)
SUPPORT_MESSAGES = ("support.encourage",)


@dataclass(frozen=True)
class Finding:
    severity: Severity
    reason: str
    detail: str
    # The human contact must include a safety check (C-SSRS verbally, overdose risk).
    safety_followup: bool = False
    # Catalog keys to send to the client at once (crisis numbers, tolerance advice...).
    messages: tuple[str, ...] = ()

    @property
    def stops_flow(self) -> bool:
        """RED suspends the questionnaire: no more survey items after it (§5.3 rule 5)."""
        return self.severity == "RED"


@dataclass(frozen=True)
class Thresholds:
    red_phq9_item9_min: int
    amber_phq9_item9_min: int
    amber_phq4_total_min: int
    amber_phq4_subscale_min: int
    amber_phq4_subscale_rise_min: int
    amber_ons_anxious_min: int
    amber_craving_min: int
    amber_craving_above_mean_min: int
    amber_craving_mean_min_values: int
    amber_abstinence_days_min: int
    amber_peers_craving_min: int
    yellow_ons_happy_max: int
    yellow_ons_happy_low_days: int
    yellow_barc10_fall_min: int
    yellow_spane_b_fall_min: int
    yellow_readiness_drop_min: int


def parse_thresholds(data: Mapping[str, Any]) -> Thresholds:
    """Thresholds from parsed TOML sections ([red], [amber], [yellow]); strict about keys."""
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, Mapping):
            raise ValueError(f"risk thresholds: [{section}] must be a table")
        for key, value in table.items():
            flat[f"{section}_{key}"] = value
    names = {f.name for f in fields(Thresholds)}
    unknown, missing = set(flat) - names, names - set(flat)
    if unknown or missing:
        raise ValueError(f"risk thresholds: unknown {sorted(unknown)}, missing {sorted(missing)}")
    for key, value in flat.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"risk thresholds: {key} must be a whole number")
    return Thresholds(**flat)


def load_thresholds(path: Path | str | None = None) -> Thresholds:
    with open(path or RISK_TOML, "rb") as fh:
        return parse_thresholds(tomllib.load(fh))


def crisis_finding(found: Detection) -> Finding:
    """RED for a crisis phrase in free text (overdose phrases get the overdose wording)."""
    # The frame in plain language and the client's own words: what the officer sees on the
    # alert and the queue card ("why did this alert?").
    detail = found.explanation if found.label else f"{found.category or 'crisis'}: matched {found.phrase!r}"
    if found.category == "overdose":
        return Finding("RED", "overdose", detail, True, OVERDOSE_MESSAGES)
    return Finding("RED", "crisis_text", detail, True, CRISIS_MESSAGES)


def callback_finding(found: Detection) -> Finding:
    """AMBER: the client asked for a call; same-day contact."""
    return Finding("AMBER", "callback_requested", f"matched {found.phrase!r}", False,
                   ("callback.ack",))


def _int(answers: Mapping[str, Any], key: str) -> int | None:
    v = answers.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _scale_total(scale: Scale, answers: Mapping[str, Any]) -> dict[str, int] | None:
    """Subscales (+ "total") of a scale answered in full in `answers`, else None."""
    values: dict[str, int] = {}
    for item in scale.items:
        v = answers.get(f"{scale.id}_{item.id}")
        if isinstance(v, str) and v in item.aliases:
            v = item.aliases[v]
        if not isinstance(v, int) or isinstance(v, bool):
            return None
        values[item.id] = v
    s = score_scale(scale, values)
    return {**s.subscales, "total": sum(values.values())}


def evaluate(
    answers: Mapping[str, Any],
    history: History,
    thresholds: Thresholds,
    client: ClientView,
    now: datetime,
) -> list[Finding]:
    """Findings for the answers given so far in one session (question_key -> parsed value)."""
    t = thresholds
    out: list[Finding] = []

    # RED
    if answers.get(q.SAFE_NOW) == "need_to_talk":
        out.append(Finding("RED", "safety_need_to_talk", "safety item: 2 = I need to talk",
                           True, CRISIS_MESSAGES))
    item9 = _int(answers, q.PHQ9_ITEM9)
    if item9 is not None and item9 >= t.red_phq9_item9_min:
        out.append(Finding("RED", "phq9_item9", f"PHQ-9 item 9 = {item9}", True, CRISIS_MESSAGES))
    elif item9 is not None and item9 >= t.amber_phq9_item9_min:
        out.append(Finding("AMBER", "phq9_item9", f"PHQ-9 item 9 = {item9}", True, ITEM9_MESSAGES))

    # AMBER
    phq4 = {item: _int(answers, key) for key, item in q.PHQ4_ITEMS.items()}
    if all(v is not None for v in phq4.values()):
        s = score("phq4", {k: v for k, v in phq4.items() if v is not None})
        if s.total is not None and s.total >= t.amber_phq4_total_min:
            out.append(Finding("AMBER", "phq4_high", f"PHQ-4 total = {s.total}"))
        last = {"anxiety": history.last_phq4_anxiety, "depression": history.last_phq4_depression}
        rises = [
            f"{name} {s.subscales[name]} (last week {before})"
            for name, before in last.items()
            if before is not None
            and s.subscales[name] >= t.amber_phq4_subscale_min
            and s.subscales[name] - before >= t.amber_phq4_subscale_rise_min
        ]
        if rises:
            out.append(Finding("AMBER", "phq4_rise", "PHQ-4 subscale rise: " + "; ".join(rises)))

    anxious = _int(answers, q.ONS_ANXIOUS)
    prev = history.previous_ons_anxious
    if anxious is not None and prev is not None and min(anxious, prev) >= t.amber_ons_anxious_min:
        out.append(Finding("AMBER", "anxious_two_days",
                           f"ONS anxious {anxious} today, {prev} the day before"))

    craving = _int(answers, q.CRAVING)
    if craving is not None:
        past = history.craving_last_7_days
        mean = sum(past) / len(past) if len(past) >= t.amber_craving_mean_min_values else None
        vs_mean = f" (7-day mean {mean:.1f})" if mean is not None else ""
        if craving >= t.amber_craving_min:
            out.append(Finding("AMBER", "craving_high", f"craving {craving}{vs_mean}"))
        elif mean is not None and craving - mean >= t.amber_craving_above_mean_min:
            out.append(Finding("AMBER", "craving_above_mean", f"craving {craving}{vs_mean}"))

    if answers.get(q.USED) is True:
        days = (now - history.last_use_at) if history.last_use_at else None
        long_gap = days is not None and days >= timedelta(days=t.amber_abstinence_days_min)
        if client.in_heightened_window or long_gap:
            why = [w for w, on in (("in vulnerability window", client.in_heightened_window),
                                   (f"{days.days if days else 0} days since last use", long_gap))
                   if on]
            out.append(Finding("AMBER", "use_after_abstinence", "use reported: " + ", ".join(why),
                               True, TOLERANCE_MESSAGES))

    if answers.get(q.HOUSING_LOST) is True:
        out.append(Finding("AMBER", "housing_lost", "lost place to stay / told to leave"))

    peers = answers.get(q.TIME_WITH_USERS, history.recent_time_with_users)
    latest = craving if craving is not None else (
        history.craving_last_7_days[-1] if history.craving_last_7_days else None)
    if peers is True and latest is not None and latest >= t.amber_peers_craving_min:
        out.append(Finding("AMBER", "peers_and_craving",
                           f"time with people who use, craving {latest}"))

    # YELLOW
    happy = _int(answers, q.ONS_HAPPY)
    if happy is not None and happy <= t.yellow_ons_happy_max:
        recent = [*history.ons_happy_last_7_days[-6:], happy]
        low = sum(1 for v in recent if v <= t.yellow_ons_happy_max)
        if low >= t.yellow_ons_happy_low_days:
            out.append(Finding("YELLOW", "happy_low_days",
                               f"ONS happy <= {t.yellow_ons_happy_max} on {low} of the last 7 days",
                               messages=SUPPORT_MESSAGES))
    ready = _int(answers, q.READINESS)
    if ready is not None and history.last_readiness is not None:
        drop = history.last_readiness - ready
        if drop >= t.yellow_readiness_drop_min:
            out.append(Finding("YELLOW", "readiness_drop",
                               f"readiness {ready} (was {history.last_readiness})",
                               messages=SUPPORT_MESSAGES))
    barc = _scale_total(BARC10, answers)
    if barc and history.last_barc10_total is not None:
        if history.last_barc10_total - barc["total"] >= t.yellow_barc10_fall_min:
            out.append(Finding("YELLOW", "barc10_fall",
                               f"BARC-10 {barc['total']} (was {history.last_barc10_total})",
                               messages=SUPPORT_MESSAGES))
    spane = _scale_total(SPANE, answers)
    if spane and history.last_spane_b is not None:
        if history.last_spane_b - spane["B"] >= t.yellow_spane_b_fall_min:
            out.append(Finding("YELLOW", "spane_b_fall",
                               f"SPANE-B {spane['B']} (was {history.last_spane_b})",
                               messages=SUPPORT_MESSAGES))
    return out
