"""Crisis contacts and phrases, loaded from config/crisis.toml (the one place they live)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from config.paths import config_file

CRISIS_TOML = config_file("crisis.toml")

# Contacts the automated crisis text names; each must exist and be verified.
REPLY_CONTACTS = ("emergency", "nhs_mental_health", "samaritans", "shout")
CATEGORIES = ("ideation", "method", "overdose", "safety")


@dataclass(frozen=True)
class Contact:
    id: str
    service: str  # the "Service" cell of its row in the §5.4 table
    number: str
    verified: bool
    option: str | None = None  # menu option to choose ("111, option 2")
    keyword: str | None = None  # word to text ("text SHOUT to 85258")
    text: str | None = None  # a text short code, when it differs from the number
    note: str = ""


@dataclass(frozen=True)
class Phrases:
    """Reviewed crisis phrases as (phrase, category), and "call me" phrases."""

    crisis: tuple[tuple[str, str], ...]
    callback: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrisisConfig:
    contacts: Mapping[str, Contact]
    phrases: Phrases

    def message_params(self) -> dict[str, str]:
        """Params of the crisis texts ("crisis.reply", "crisis.ack", "safety.tolerance"...)."""
        c = self.contacts
        return {
            "emergency": c["emergency"].number,
            "nhs_mh": c["nhs_mental_health"].number,
            "nhs_mh_option": c["nhs_mental_health"].option or "",
            "samaritans": c["samaritans"].number,
            "shout_keyword": c["shout"].keyword or "",
            "shout_number": c["shout"].number,
        }


def parse_crisis_config(data: Mapping[str, Any]) -> CrisisConfig:
    """Build (and check) a CrisisConfig from the parsed TOML."""
    contacts: dict[str, Contact] = {}
    for cid, row in data.get("contacts", {}).items():
        if not str(row.get("number", "")).strip():
            raise ValueError(f"crisis contact {cid}: no number")
        contacts[cid] = Contact(
            id=cid,
            service=str(row["service"]),
            number=str(row["number"]),
            verified=bool(row.get("verified", False)),
            option=row.get("option"),
            keyword=row.get("keyword"),
            text=row.get("text"),
            note=str(row.get("note", "")),
        )
    for cid in REPLY_CONTACTS:
        if cid not in contacts:
            raise ValueError(f"crisis contact {cid!r} missing: the crisis text needs it")
        if not contacts[cid].verified:
            raise ValueError(f"crisis contact {cid!r} is not verified: never text it to a client")
    table = data.get("phrases", {})
    unknown = set(table) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown crisis phrase categories {sorted(unknown)}")
    crisis = tuple((str(p), cat) for cat in CATEGORIES for p in table.get(cat, ()))
    if not crisis:
        raise ValueError("no crisis phrases configured")
    callback = tuple(str(p) for p in data.get("callback", {}).get("phrases", ()))
    return CrisisConfig(MappingProxyType(contacts), Phrases(crisis, callback))


def load_crisis_config(path: Path | str | None = None) -> CrisisConfig:
    """Read config/crisis.toml (or `path`). The default file is read once per process."""
    if path is None:
        return _default()
    with open(path, "rb") as fh:
        return parse_crisis_config(tomllib.load(fh))


@lru_cache(maxsize=1)
def _default() -> CrisisConfig:
    with CRISIS_TOML.open("rb") as fh:
        return parse_crisis_config(tomllib.load(fh))


def crisis_params() -> dict[str, str]:
    """Params for the crisis texts from the shipped config (for callers outside a flow)."""
    return load_crisis_config().message_params()
