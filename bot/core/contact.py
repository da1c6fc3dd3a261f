"""The contact policy: whether, and why not, a client may be written to. One rule, every sender.

`decide` is pure and holds the whole table (docs/ARCHITECTURE.md shows it). `verdict_for` reads
what it needs about the person. `outbox.enqueue` asks it for every message to a client, so no
sender can forget; the timer handlers ask first (reminders/due.py) so they can skip cleanly and,
for a client in custody, tell the officer instead.

Purposes:
- reply      an answer to someone who just wrote to us (a flow's next question included)
- keyword    the confirmation of their own STOP / START / HELP (carriers expect it)
- crisis     the crisis contacts, and "someone has your message" after a crisis alert
- safety     the post-discharge safety text and the 28-day safety check-in
- reminder   appointment, course-session and group-meeting reminders
- checkin    a questionnaire we start (daily/weekly/monthly check-ins, scales)
- onboarding the consent conversation (the only thing before consent is recorded)
- group      mentor and group messages, milestones
- officer    an officer's own words to the client
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.db import Tx
from bot.core.identities import Identity

PURPOSES = ("reply", "keyword", "crisis", "safety", "reminder", "checkin", "onboarding", "group",
            "officer")
# Sent because of the calendar or the programme, not because the client or an officer acted now.
AUTOMATED = frozenset({"safety", "reminder", "checkin", "onboarding", "group"})
# What a client who opted out still gets: help in a crisis, and the confirmation of their STOP.
WHEN_OPTED_OUT = frozenset({"crisis", "keyword"})
# What a client who withdrew from the programme still gets: answers to their own messages.
WHEN_WITHDRAWN = frozenset({"reply", "keyword", "crisis"})
NEEDS_CONSENT = frozenset({"safety", "reminder", "checkin", "group"})


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str  # "ok", or why not in words the timeline and the audit show
    tell_officer: bool = False  # nothing automated went; the officer should know instead


OK = Verdict(True, "ok")


def decide(purpose: str, *, stage: str, consented: bool, opted_out: bool,
           in_custody: bool) -> Verdict:
    """May a client in this situation be sent a message for this purpose?"""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose {purpose!r} must be one of {PURPOSES}")
    if stage == "deceased":
        # The phone may be in a grieving family's hands: nothing, ever.
        return Verdict(False, "deceased")
    if opted_out and purpose not in WHEN_OPTED_OUT:
        return Verdict(False, "opted out")
    if stage == "withdrawn" and purpose not in WHEN_WITHDRAWN:
        return Verdict(False, "withdrawn from the programme")
    if in_custody and purpose in AUTOMATED:
        return Verdict(False, "in custody", tell_officer=True)
    if not consented and purpose in NEEDS_CONSENT:
        return Verdict(False, "no recorded consent")
    return OK


async def verdict_for(tx: Tx, identity: Identity, purpose: str) -> Verdict:
    """The policy for the client behind `identity` (staff and strangers are not clients: OK)."""
    if identity.client_id is None:
        return OK
    row = await tx.one("SELECT stage, consent_at IS NOT NULL, in_custody_since IS NOT NULL"
                       " FROM clients WHERE id = ?", (identity.client_id,))
    if row is None:
        return Verdict(False, "no such client")
    return decide(purpose, stage=row[0], consented=bool(row[1]), opted_out=identity.opted_out,
                  in_custody=bool(row[2]))
