"""Adding and changing staff and clients: shared by the CLI and the admin panel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import add_identity
from bot.core.phones import normalise_phone

# evaluator: the programme dashboard and its CSVs only (aggregated, small counts suppressed).
ROLES = ("officer", "supervisor", "admin", "mentor", "evaluator")
# Roles that hold a caseload and can be on the duty rota.
CASE_ROLES = ("officer", "supervisor")
CASE_ROLES_SQL = "('officer', 'supervisor')"  # the same, for an SQL IN (...)
STAGES = (
    "referral", "engagement", "police_assessment", "rehab_assessment", "pre_admission",
    "in_rehab", "completed", "discharged_early", "aftercare",
    "diverted", "inactive", "withdrawn", "deceased",
)
STATUSES = ("referral_waiting", "active", "inactive", "withdrawn")
# The programme's own reporting status follows from the stage unless set explicitly.
STAGE_STATUS = {
    "referral": "referral_waiting", "inactive": "inactive", "withdrawn": "withdrawn",
    "deceased": "inactive", "diverted": "inactive",
}
# Where a referral came from: a fixed list, so the dashboard's referrals-by-source table does
# not fragment into spellings (labels in admin_web/labels.py SOURCE_LABELS).
REFERRAL_SOURCES = ("officer_outreach", "retail", "neighbourhood_team", "probation",
                    "word_of_mouth")
REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
CONSENT_WORDING_IN_PERSON = "in-person-v1"


class InputError(ValueError):
    """Bad input from an operator or a form: the message says which field and why."""


@dataclass(frozen=True)
class Contact:
    phone: str | None = None
    telegram_chat_id: str | None = None


def _clean_name(name: str, field: str = "name") -> str:
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise InputError(f"{field}: give 1-80 characters")
    return name


def _chat_id(raw: str) -> str:
    if not re.fullmatch(r"-?\d{1,20}", raw.strip()):
        raise InputError(f"telegram chat id: {raw!r} is not a number")
    return raw.strip()


async def _add_contacts(tx: Tx, now: datetime, contact: Contact, actor: str, *,
                        client_id: int | None = None, staff_id: int | None = None) -> None:
    if contact.phone:
        try:
            phone = normalise_phone(contact.phone)
        except ValueError as exc:
            raise InputError(f"phone: {exc}") from None
        await add_identity(tx, now, "sms", phone, client_id=client_id, staff_id=staff_id,
                           actor=actor, replace=True)
    if contact.telegram_chat_id:
        await add_identity(tx, now, "telegram", _chat_id(contact.telegram_chat_id),
                           client_id=client_id, staff_id=staff_id, actor=actor, replace=True)


async def add_staff(tx: Tx, now: datetime, *, name: str, role: str, contact: Contact = Contact(),
                    username: str | None = None, password_hash: str | None = None,
                    actor: str = "cli") -> int:
    if role not in ROLES:
        raise InputError(f"role: {role!r} must be one of {', '.join(ROLES)}")
    if username is not None and not re.fullmatch(r"[a-z0-9._-]{3,40}", username):
        raise InputError("username: 3-40 characters from a-z, 0-9, '.', '_' and '-'")
    if username and await tx.value("SELECT 1 FROM staff WHERE username = ?", (username,)):
        raise InputError(f"username: {username!r} is taken")
    staff_id = await tx.execute(
        "INSERT INTO staff (name, role, username, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?)", (_clean_name(name), role, username, password_hash, iso(now)))
    await _add_contacts(tx, now, contact, actor, staff_id=staff_id)
    await audit(tx, now, actor, "staff.added", "staff", staff_id, role=role)
    return staff_id


async def add_client(tx: Tx, now: datetime, *, ref: str, first_name: str, officer_id: int,
                     contact: Contact = Contact(), language: str = "en_GB",
                     stage: str = "referral", consented: bool = False, area: str | None = None,
                     referral_source: str | None = None, actor: str = "cli") -> int:
    if not REF_RE.fullmatch(ref):
        raise InputError("ref: 2-32 characters from letters, digits, '-' and '_'")
    if await tx.value("SELECT 1 FROM clients WHERE ref = ?", (ref,)):
        raise InputError(f"ref: {ref!r} already exists")
    officer = await tx.one("SELECT role, active FROM staff WHERE id = ?", (officer_id,))
    if officer is None or not officer[1] or officer[0] not in CASE_ROLES:
        raise InputError(f"officer: {officer_id} is not an active officer or supervisor")
    if stage not in STAGES:
        raise InputError(f"stage: {stage!r} must be one of {', '.join(STAGES)}")
    if referral_source is not None and referral_source not in REFERRAL_SOURCES:
        raise InputError(f"referral source: {referral_source!r} must be one of"
                         f" {', '.join(REFERRAL_SOURCES)}")
    from bot.core.texts import available_locales

    if language not in available_locales():
        raise InputError(f"language: {language!r} has no texts; have {available_locales()}")
    status = STAGE_STATUS.get(stage, "active")
    client_id = await tx.execute(
        "INSERT INTO clients (ref, first_name, officer_id, stage, status, language, area,"
        " referral_source, consent_at, consent_wording, consent_method, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ref, _clean_name(first_name, "first name"), officer_id, stage, status, language, area,
         referral_source, iso(now) if consented else None,
         CONSENT_WORDING_IN_PERSON if consented else None,
         "officer_in_person" if consented else None, iso(now)))
    await _add_contacts(tx, now, contact, actor, client_id=client_id)
    await audit(tx, now, actor, "client.added", "client", client_id, stage=stage,
                consented=consented)
    return client_id


async def client_id_by_ref(tx: Tx, ref: str) -> int:
    cid = await tx.value("SELECT id FROM clients WHERE ref = ?", (ref,))
    if cid is None:
        raise InputError(f"client: no client with ref {ref!r}")
    return int(cid)
