"""Rating scales as data, and their scoring (docs: /work/shared/domain/scales-and-safety.md §2, §4).

Each scale lists its items by id (store answers by id, never by position), the response range,
reversed items, subscales and the published bands. `score()` validates strictly: an unknown
item, a missing item or a value out of range is a ValueError; there is no pro-rating (PHQ-4 is
far too short for it). ONS4 is the one exception to "all items": its items are separate
measures, banded one by one and never summed, so any non-empty subset is scored.

Not implemented as bot flows, on purpose:
- C-SSRS screener: electronic implementations are exclusively licensed (Clario, paid per
  administration). Officers ask it verbally; the bot's trigger is PHQ-9 item 9 plus free text.
- DASS-21: the authors restrict delivery to end users by website/app and warn against showing
  scores; it is given with a worker at evaluation milestones.
- WEMWBS / SWEMWBS: registration is required and commercial use reportedly needs a paid licence.
- TOP: an interviewer-administered keyworker form, not a self-report.

Attribution (shown in the bot's "about" text, not in every SMS): PHQ/GAD "Developed by Drs.
Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an educational grant
from Pfizer Inc. No permission required to reproduce, translate, display or distribute."; K6/K10
Kessler et al. 2002/2003; ONS personal well-being questions (ONS); SPANE (c) Diener &
Biswas-Diener, used with credit; BARC-10 Vilsaint et al. 2017.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Item:
    id: str
    label: str
    reversed: bool = False
    # Non-numeric answers that still score, e.g. BARC-10 living space "no living space" -> 1.
    aliases: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Band:
    lo: int
    hi: int
    label: str


@dataclass(frozen=True)
class Flag:
    """`name` is True when `source` ("total", a subscale name, or "item:<id>") is >= `min`."""

    name: str
    source: str
    min: int


@dataclass(frozen=True)
class Scale:
    id: str
    title: str
    lo: int
    hi: int
    items: tuple[Item, ...]
    recall: str = ""
    summed: bool = True
    partial_ok: bool = False
    subscales: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (name, a, b): a derived subscale a - b (SPANE-B = P - N).
    difference: tuple[str, str, str] | None = None
    total_bands: tuple[Band, ...] = ()
    item_bands: tuple[Band, ...] = ()
    item_band_overrides: Mapping[str, tuple[Band, ...]] = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()
    source: str = ""

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise ValueError(f"{self.id}: no item {item_id!r}")

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(it.id for it in self.items)


@dataclass(frozen=True)
class ScaleScore:
    scale_id: str
    total: int | None
    subscales: dict[str, int]
    bands: dict[str, str]
    flags: dict[str, bool]


def _band(bands: tuple[Band, ...], value: int) -> str | None:
    for b in bands:
        if b.lo <= value <= b.hi:
            return b.label
    return None


def score_scale(scale: Scale, answers: Mapping[str, int]) -> ScaleScore:
    unknown = set(answers) - set(scale.item_ids)
    if unknown:
        raise ValueError(f"{scale.id}: unknown item(s) {sorted(unknown)}")
    missing = [i for i in scale.item_ids if i not in answers]
    if missing and not (scale.partial_ok and len(missing) < len(scale.items)):
        raise ValueError(f"{scale.id}: missing item(s) {missing} (no pro-rating)")
    values: dict[str, int] = {}
    for item in scale.items:
        if item.id not in answers:
            continue
        v = answers[item.id]
        if isinstance(v, bool) or not isinstance(v, int) or not scale.lo <= v <= scale.hi:
            raise ValueError(
                f"{scale.id}.{item.id}: {v!r} is not a whole number {scale.lo}-{scale.hi}"
            )
        values[item.id] = scale.lo + scale.hi - v if item.reversed else v

    total = sum(values.values()) if scale.summed else None
    subscales = {name: sum(values[i] for i in ids) for name, ids in scale.subscales.items()}
    if scale.difference:
        name, a, b = scale.difference
        subscales[name] = subscales[a] - subscales[b]
    bands: dict[str, str] = {}
    if total is not None and scale.total_bands:
        label = _band(scale.total_bands, total)
        if label:
            bands["total"] = label
    if scale.item_bands:
        for item_id, v in values.items():
            label = _band(scale.item_band_overrides.get(item_id, scale.item_bands), v)
            if label:
                bands[item_id] = label
    flags: dict[str, bool] = {}
    for f in scale.flags:
        if f.source == "total":
            src = total
        elif f.source.startswith("item:"):
            src = values.get(f.source[5:])
        else:
            src = subscales.get(f.source)
        if src is not None:
            flags[f.name] = src >= f.min
    return ScaleScore(scale.id, total, subscales, bands, flags)


def score(scale_id: str, answers: Mapping[str, int]) -> ScaleScore:
    """Score one administration of a built-in scale; ValueError on anything invalid."""
    if scale_id not in SCALES:
        raise ValueError(f"unknown scale {scale_id!r}")
    return score_scale(SCALES[scale_id], answers)


def _items(*pairs: tuple[str, str]) -> tuple[Item, ...]:
    return tuple(Item(i, label) for i, label in pairs)


_PHQ_SOURCE = "Kroenke, Spitzer & Williams; Pfizer: no permission required to reproduce"

PHQ4 = Scale(
    id="phq4",
    title="PHQ-4 (GAD-2 + PHQ-2)",
    lo=0, hi=3, recall="last 2 weeks",
    items=_items(
        ("nervous", "Feeling nervous, anxious or on edge"),
        ("worry", "Not being able to stop or control worrying"),
        ("interest", "Little interest or pleasure in doing things"),
        ("down", "Feeling down, depressed or hopeless"),
    ),
    subscales={"anxiety": ("nervous", "worry"), "depression": ("interest", "down")},
    total_bands=(Band(0, 2, "normal"), Band(3, 5, "mild"), Band(6, 8, "moderate"),
                 Band(9, 12, "severe")),
    flags=(Flag("anxiety_positive", "anxiety", 3), Flag("depression_positive", "depression", 3)),
    source=f"Kroenke et al. 2009; {_PHQ_SOURCE}",
)

PHQ9 = Scale(
    id="phq9",
    title="PHQ-9",
    lo=0, hi=3, recall="last 2 weeks",
    items=_items(
        ("interest", "Little interest or pleasure in doing things"),
        ("down", "Feeling down, depressed, or hopeless"),
        ("sleep", "Trouble falling or staying asleep, or sleeping too much"),
        ("tired", "Feeling tired or having little energy"),
        ("appetite", "Poor appetite or overeating"),
        ("failure", "Feeling bad about yourself - or that you are a failure"),
        ("concentration", "Trouble concentrating on things"),
        ("moving", "Moving or speaking slowly, or being fidgety or restless"),
        ("self_harm", "Thoughts that you would be better off dead, or of hurting yourself"),
    ),
    total_bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"),
                 Band(15, 19, "moderately_severe"), Band(20, 27, "severe")),
    flags=(Flag("item9_positive", "item:self_harm", 1),),
    source=f"Kroenke et al. 2001; {_PHQ_SOURCE}",
)

# PHQ-9 item 9 asked on its own every week (PHQ-2 gating misses too many: §2.1).
PHQ9_ITEM9 = Scale(
    id="phq9_item9",
    title="PHQ-9 item 9 (stand-alone)",
    lo=0, hi=3, recall="last 2 weeks",
    items=(PHQ9.item("self_harm"),),
    flags=(Flag("positive", "total", 1),),
    source=PHQ9.source,
)

GAD7 = Scale(
    id="gad7",
    title="GAD-7",
    lo=0, hi=3, recall="last 2 weeks",
    items=_items(
        ("nervous", "Feeling nervous, anxious or on edge"),
        ("worry_control", "Not being able to stop or control worrying"),
        ("worry_much", "Worrying too much about different things"),
        ("relax", "Trouble relaxing"),
        ("restless", "Being so restless that it is hard to sit still"),
        ("irritable", "Becoming easily annoyed or irritable"),
        ("afraid", "Feeling afraid as if something awful might happen"),
    ),
    total_bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"),
                 Band(15, 21, "severe")),
    flags=(Flag("positive", "total", 10),),
    source=f"Spitzer et al. 2006; {_PHQ_SOURCE}",
)

_K10_ITEMS = _items(
    ("tired", "tired out for no good reason"),
    ("nervous", "nervous"),
    ("nervous_calm", "so nervous that nothing could calm you down"),
    ("hopeless", "hopeless"),
    ("restless", "restless or fidgety"),
    ("restless_sit", "so restless you could not sit still"),
    ("depressed", "depressed"),
    ("depressed_cheer", "so depressed that nothing could cheer you up"),
    ("effort", "that everything was an effort"),
    ("worthless", "worthless"),
)

# K6, US coding: none of the time = 0 ... all of the time = 4.
K6 = Scale(
    id="k6",
    title="Kessler K6 (US coding 0-4)",
    lo=0, hi=4, recall="past 30 days",
    items=tuple(it for it in _K10_ITEMS if it.id in
                ("nervous", "hopeless", "restless", "depressed_cheer", "effort", "worthless")),
    total_bands=(Band(0, 4, "low"), Band(5, 12, "moderate"), Band(13, 24, "serious")),
    flags=(Flag("serious_distress", "total", 13),),
    source="Kessler et al. 2003; Prochaska et al. 2012 (5-12 moderate)",
)

# K10, Australian coding: none of the time = 1 ... all of the time = 5. All ten items are asked
# (no ABS skip of items 3 and 6): simpler for SMS and the total is unaffected when the skipped
# item would have scored 1 anyway.
K10 = Scale(
    id="k10",
    title="Kessler K10 (Australian coding 1-5)",
    lo=1, hi=5, recall="past 30 days",
    items=_K10_ITEMS,
    total_bands=(Band(10, 15, "low"), Band(16, 21, "moderate"), Band(22, 29, "high"),
                 Band(30, 50, "very_high")),
    source="Kessler et al. 2002; ABS 4817.0.55.001 bands",
)

_ONS_BANDS = (Band(0, 4, "low"), Band(5, 6, "medium"), Band(7, 8, "high"), Band(9, 10, "very_high"))
ONS4 = Scale(
    id="ons4",
    title="ONS personal well-being (ONS4)",
    lo=0, hi=10,
    items=_items(
        ("satisfied", "Overall, how satisfied are you with your life nowadays?"),
        ("worthwhile", "Overall, to what extent do you feel that the things you do in your life"
                       " are worthwhile?"),
        ("happy", "Overall, how happy did you feel yesterday?"),
        ("anxious", "Overall, how anxious did you feel yesterday?"),
    ),
    summed=False,  # ONS: combining them is "not conceptually robust".
    partial_ok=True,
    item_bands=_ONS_BANDS,
    item_band_overrides={"anxious": (Band(0, 1, "very_low"), Band(2, 3, "low"),
                                     Band(4, 5, "medium"), Band(6, 10, "high"))},
    source="ONS personal well-being harmonised standard and thresholds",
)

SPANE = Scale(
    id="spane12",
    title="SPANE-12",
    lo=1, hi=5, recall="past four weeks",
    items=_items(
        ("positive", "Positive"), ("negative", "Negative"), ("good", "Good"), ("bad", "Bad"),
        ("pleasant", "Pleasant"), ("unpleasant", "Unpleasant"), ("happy", "Happy"),
        ("sad", "Sad"), ("afraid", "Afraid"), ("joyful", "Joyful"), ("angry", "Angry"),
        ("contented", "Contented"),
    ),
    summed=False,  # Reported as P, N and B; no published cut-offs (use norms and change).
    subscales={
        "P": ("positive", "good", "pleasant", "happy", "joyful", "contented"),
        "N": ("negative", "bad", "unpleasant", "sad", "afraid", "angry"),
    },
    difference=("B", "P", "N"),
    source="Diener et al. 2010; free with credit to the authors",
)

BARC10 = Scale(
    id="barc10",
    title="BARC-10",
    lo=1, hi=6,
    items=(
        Item("priorities", "There are more important things to me in life than using substances."),
        Item("happy_life", "In general I am happy with my life."),
        Item("energy", "I have enough energy to complete the tasks I set myself."),
        Item("community", "I am proud of the community I live in and feel part of it."),
        Item("friends", "I get lots of support from friends."),
        Item("fulfilling", "I regard my life as challenging and fulfilling without the need for"
                           " using drugs or alcohol."),
        # Programme decision (§2.9): "no living space" is a valid answer, scored as 1 (strongly
        # disagree) so rough sleepers are not forced to pick a number; never pro-rated.
        Item("living_space", "My living space has helped to drive my recovery journey.",
             aliases={"no_living_space": 1}),
        Item("responsibility", "I take full responsibility for my actions."),
        Item("professionals", "I am happy dealing with a range of professional people."),
        Item("progress", "I am making good progress on my recovery journey."),
    ),
    # Only the >= 47 cut-off is published; the 10-29/30-44/45-60 bands are informal: not used.
    flags=(Flag("remission_likely", "total", 47),),
    source="Vilsaint et al. 2017; free, no permission required",
)

# Readiness ruler: 0-3 / 4-6 / 7-10 is a convention, not a validated cut-off.
READINESS = Scale(
    id="readiness_ruler",
    title="Readiness ruler",
    lo=0, hi=10,
    items=_items(("ready", "How ready are you to change?")),
    total_bands=(Band(0, 3, "not_ready"), Band(4, 6, "unsure"), Band(7, 10, "ready")),
    source="Rollnick (motivational interviewing); generic, free",
)

SCALES: Mapping[str, Scale] = MappingProxyType(
    {s.id: s for s in (PHQ4, PHQ9, PHQ9_ITEM9, GAD7, K6, K10, ONS4, SPANE, BARC10, READINESS)}
)
