"""Programme settings kept in the `settings` table (an admin edits them on /admin/settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from admin_web.metrics import DEFAULT_THEFT, TheftParams, parse_fraction
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    hint: str
    default: str


THEFT_SETTINGS = (
    Setting("theft.habit_cost_per_year", "Yearly cost of a heroin-and-crack habit (£)",
            "Whole pounds, e.g. 19000.", "19000"),
    Setting("theft.resale_min", "Lowest resale share of stolen goods",
            "A share of retail value: 1/3, 0.33 or 33%.", "1/3"),
    Setting("theft.resale_max", "Highest resale share of stolen goods",
            "A share of retail value: 1/2, 0.5 or 50%.", "1/2"),
)


def _habit(text: str) -> Fraction:
    raw = text.strip().replace(",", "").lstrip("£")
    if not raw.isdigit() or not 0 < int(raw) <= 10_000_000:
        raise ValueError("the yearly cost must be whole pounds above 0")
    return Fraction(int(raw))


def theft_params(values: dict[str, str]) -> TheftParams:
    """Parameters from stored values; raises ValueError naming what is wrong."""
    habit = _habit(values.get("theft.habit_cost_per_year", "19000"))
    low = parse_fraction(values.get("theft.resale_min", "1/3"))
    high = parse_fraction(values.get("theft.resale_max", "1/2"))
    if low > high:
        raise ValueError("the lowest resale share must not be above the highest")
    return TheftParams(habit, low, high)


async def load(database: Any) -> dict[str, str]:
    stored = {r[0]: r[1] for r in await database.all("SELECT key, value FROM settings")}
    return {s.key: stored.get(s.key, s.default) for s in THEFT_SETTINGS}


async def load_theft(database: Any) -> TheftParams:
    try:
        return theft_params(await load(database))
    except ValueError:
        return DEFAULT_THEFT


async def save(tx: Tx, now: datetime, values: dict[str, str], actor: str) -> None:
    theft_params(values)  # validate the set as a whole before writing any of it
    for s in THEFT_SETTINGS:
        value = values[s.key].strip()
        await tx.execute(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (s.key, value, iso(now), actor))
    await audit(tx, now, actor, "settings.changed", None, None,
                **{s.key: values[s.key].strip() for s in THEFT_SETTINGS})
