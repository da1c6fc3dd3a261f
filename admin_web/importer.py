"""Caseload CSV import: parse and check every row first (pure), then create all or nothing.

The programme ran on spreadsheets, so the columns are the obvious ones: ref, first_name,
officer_username, phone, stage, area, referral_source (telegram_chat_id optional). Header names
are matched loosely ("First name" = first_name). Stages and referral sources may be codes or
the panel's labels; a referral source not on the fixed list is refused (free text would split
the dashboard's referrals-by-source table). The caseload CSV export (routes/caseload.py) writes
these columns plus EXPORT_ONLY ones, which an import skips, so an export imports as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from admin_web.csvout import FORMULA_START
from admin_web.labels import SOURCE_LABELS, STAGE_LABELS
from bot.core.db import Tx
from bot.core.people import (
    CASE_ROLES_SQL,
    REF_RE,
    REFERRAL_SOURCES,
    STAGES,
    Contact,
    InputError,
    add_client,
)
from bot.core.phones import InvalidPhone, normalise_phone

REQUIRED = ("ref", "first_name", "officer_username")
OPTIONAL = ("phone", "stage", "area", "referral_source", "telegram_chat_id")
# Written by the caseload export for people and the dashboard, skipped by the import.
EXPORT_ONLY = ("officer", "stage_label", "status", "status_label", "referral_source_label",
               "open_escalations", "last_heard", "unreachable_since")
MAX_ROWS = 2000
MAX_BYTES = 1_000_000
MAX_TEXT = 80


@dataclass(frozen=True)
class NewClient:
    ref: str
    first_name: str
    officer_username: str
    officer_id: int
    phone: str | None
    telegram_chat_id: str | None
    stage: str
    area: str | None
    referral_source: str | None


@dataclass
class RowResult:
    line: int  # the spreadsheet's row number (header is row 1)
    raw: dict[str, str]
    client: NewClient | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Preview:
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and bool(self.rows) and all(not r.errors for r in self.rows)

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(len(r.errors) for r in self.rows)


def _header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _stage(raw: str) -> str | None:
    if not raw:
        return "referral"
    key = _header(raw)
    if key in STAGES:
        return key
    by_label = {_header(label): code for code, label in STAGE_LABELS.items()}
    return by_label.get(key)


def _source(raw: str) -> str | None:
    """A referral source code from its code or label; None if it is not on the list."""
    key = _header(raw)
    by_label = {_header(label): code for code, label in SOURCE_LABELS.items()}
    return key if key in REFERRAL_SOURCES else by_label.get(key)


def _unguard(value: str) -> str:
    """Undo csvout.neutralise (our own exports) so a cell reads back as it was stored."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


def decode(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else Windows-1252 as Excel writes on Windows."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse(text: str, officers: Mapping[str, int], existing_refs: set[str],
          taken_addresses: set[str]) -> Preview:
    """Check every row against the file itself and the database's current state.

    `officers`: username -> staff id of active officers and supervisors; `existing_refs`: refs
    already used; `taken_addresses`: phone numbers and chat ids that belong to someone.
    """
    preview = Preview()
    reader = csv.reader(io.StringIO(text))
    try:
        header = [_header(h) for h in next(reader)]
    except StopIteration:
        preview.file_errors.append("The file is empty.")
        return preview
    except csv.Error as exc:
        preview.file_errors.append(f"Not a CSV file: {exc}.")
        return preview
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        preview.file_errors.append("Missing column(s): " + ", ".join(missing)
                                   + ". Needed: " + ", ".join(REQUIRED) + ".")
        return preview
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL + EXPORT_ONLY]
    if unknown:
        preview.warnings.append("Unknown column(s), ignored: " + ", ".join(unknown) + ".")
    refs_seen: dict[str, int] = {}
    addresses_seen: dict[str, int] = {}
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(preview.rows) >= MAX_ROWS:
                preview.file_errors.append(f"More than {MAX_ROWS} rows: split the file.")
                break
            raw = {h: _unguard(values[i].strip() if i < len(values) else "")
                   for i, h in enumerate(header) if h}
            preview.rows.append(_check(line, raw, officers, existing_refs, taken_addresses,
                                       refs_seen, addresses_seen))
    except csv.Error as exc:
        preview.file_errors.append(f"The file could not be read past row {reader.line_num}: {exc}.")
    if not preview.rows and not preview.file_errors:
        preview.file_errors.append("The file has a header but no rows.")
    return preview


def _check(line: int, raw: dict[str, str], officers: Mapping[str, int], existing_refs: set[str],
           taken: set[str], refs_seen: dict[str, int], addresses_seen: dict[str, int]
           ) -> RowResult:
    result = RowResult(line, raw)
    errors = result.errors
    ref = raw.get("ref", "")
    if not REF_RE.fullmatch(ref):
        errors.append("ref: 2-32 letters, digits, '-' or '_'")
    elif ref in existing_refs:
        errors.append(f"ref: {ref} already exists")
    elif ref in refs_seen:
        errors.append(f"ref: {ref} is also on row {refs_seen[ref]}")
    refs_seen.setdefault(ref, line)
    first = " ".join(raw.get("first_name", "").split())
    if not first or len(first) > MAX_TEXT:
        errors.append(f"first_name: 1-{MAX_TEXT} characters")
    username = raw.get("officer_username", "").lower()
    officer_id = officers.get(username)
    if officer_id is None:
        errors.append(f"officer_username: no active officer {username!r}" if username
                      else "officer_username: required")
    phone: str | None = None
    if raw.get("phone"):
        try:
            phone = normalise_phone(raw["phone"])
        except InvalidPhone:
            errors.append(f"phone: {raw['phone']!r} is not a phone number")
    chat = raw.get("telegram_chat_id") or None
    if chat and not re.fullmatch(r"-?\d{1,20}", chat):
        errors.append("telegram_chat_id: digits only")
    for kind, address in (("sms", phone), ("telegram", chat)):
        if address is None:
            continue
        key = f"{kind}:{address}"
        if key in taken:
            errors.append(f"{'phone' if kind == 'sms' else 'telegram_chat_id'}: already belongs"
                          " to someone")
        elif key in addresses_seen:
            errors.append(f"{'phone' if kind == 'sms' else 'telegram_chat_id'}: also on row"
                          f" {addresses_seen[key]}")
        addresses_seen.setdefault(key, line)
    stage = _stage(raw.get("stage", ""))
    if stage is None:
        errors.append(f"stage: {raw.get('stage')!r} is not a stage")
    area = raw.get("area") or None
    source = _source(raw["referral_source"]) if raw.get("referral_source") else None
    if raw.get("referral_source") and source is None:
        errors.append(f"referral_source: {raw['referral_source'][:MAX_TEXT]!r} is not on the"
                      " list (see the import page)")
    if area and len(area) > MAX_TEXT:
        errors.append(f"area: at most {MAX_TEXT} characters")
    if not errors and officer_id is not None and stage is not None:
        result.client = NewClient(ref, first, username, officer_id, phone, chat, stage, area,
                                  source)
    return result


async def current_state(db: Any) -> tuple[dict[str, int], set[str], set[str]]:
    """What `parse` checks against: officers, used refs, taken addresses (db or tx)."""
    officers = {r[0]: r[1] for r in await db.all(
        "SELECT username, id FROM staff WHERE active = 1 AND username IS NOT NULL"
        " AND role IN " + CASE_ROLES_SQL)}
    refs = {r[0] for r in await db.all("SELECT ref FROM clients")}
    taken = {f"{r[0]}:{r[1]}" for r in await db.all(
        "SELECT channel, address FROM identities WHERE active = 1")}
    return officers, refs, taken


async def apply(tx: Tx, now: datetime, text: str, actor: str) -> int:
    """Create every client in the caller's transaction, or raise (and so create none)."""
    preview = parse(text, *await current_state(tx))
    if not preview.ok:
        raise InputError(f"the file has {preview.error_count} problem(s); nothing was imported")
    for row in preview.rows:
        c = row.client
        assert c is not None
        await add_client(tx, now, ref=c.ref, first_name=c.first_name, officer_id=c.officer_id,
                         contact=Contact(c.phone, c.telegram_chat_id), stage=c.stage, area=c.area,
                         referral_source=c.referral_source, actor=actor)
    return len(preview.rows)
