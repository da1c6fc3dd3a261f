"""Conversation transcripts (tests/transcripts/*.txt) run through the real inbound path.

Each line of a transcript is one of:
  setup: key=value ...        client options: stage, consented, discreet, heightened, phone;
                              mentor=yes: promoted to peer mentor of a group meeting today
                              at 10:30 (members Jo and Ali)
  start: FLOW [key=value ...] an officer or the scheduler starts a flow now
  client: TEXT                the client texts us (a signed Twilio webhook)
  service: TEXT               the next text we sent them contains TEXT (case-insensitive)
  wait: 2h                    the clock moves (timers run, messages go)
  nothing                     we sent them nothing more
  finding: SEVERITY REASON [TEXT]  a risk finding was stored (TEXT: in its detail)
  no finding                  no finding was stored
  answer: KEY = JSON          the last stored answer to KEY has this value (null: not answered)
  score: SCALE TOTAL          the last stored score of SCALE has this total
  restart                     the service stops and a new one starts on the same database
  # ...                       a comment
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.conversation import start_flow
from bot.core.clock import iso
from bot.service import Service
from tests.conftest import Harness

TRANSCRIPTS = sorted((Path(__file__).resolve().parents[1] / "transcripts").glob("*.txt"))
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    assert m, f"bad duration {text!r}"
    return timedelta(**{UNITS[m.group(2)]: int(m.group(1))})


class Run:
    def __init__(self, h: Harness, name: str) -> None:
        self.h = h
        self.name = name
        self.phone = "+447700900123"
        self.client_id = 0
        self.seen = 0

    async def outbound(self) -> list[str]:
        rows = await self.h.service.db.all(
            "SELECT body FROM outbox WHERE address = ? AND op = 'send' AND status = 'sent'"
            " ORDER BY sent_at, id", (self.phone,))
        return [r[0] for r in rows]

    async def setup(self, opts: dict[str, str]) -> None:
        self.phone = opts.get("phone", self.phone)
        self.client_id = await self.h.add_client(
            phone=self.phone, consented=opts.get("consented", "yes") == "yes",
            stage=opts.get("stage", "engagement"), onboard=True)
        discreet = opts.get("discreet", "no") == "yes"
        heightened = opts.get("heightened")
        until = iso(self.h.clock.now() + timedelta(days=int(heightened))) if heightened else None
        await self.h.write(lambda tx: tx.execute(
            "UPDATE clients SET discreet = ?, heightened_until = ? WHERE id = ?",
            (int(discreet), until, self.client_id)))
        if opts.get("mentor") == "yes":
            await self.mentor()
        await self.h.settle()

    async def mentor(self) -> None:
        """The client becomes a peer mentor of a group that meets today at 10:30."""
        from bot.aftercare import enrolment, mentors

        h = self.h
        officer = int(await h.db.value("SELECT officer_id FROM clients WHERE id = ?",
                                       (self.client_id,)))
        staff = await h.write(lambda tx: mentors.promote(tx, h.clock.now(), self.client_id,
                                                         agreed=True))
        group = await h.write(lambda tx: enrolment.add_group(
            tx, h.clock.now(), name="Wednesday group", mentor_ids=[staff],
            meets="weekly:wed 10:30", place="Hope Centre"))
        for ref, name, phone in (("C-2", "Jo", "+447700900124"), ("C-3", "Ali", "+447700900125")):
            member = await h.add_client(ref, name, officer=officer, phone=phone,
                                        stage="aftercare")
            await h.write(lambda tx, m=member: enrolment.enrol(tx, h.clock.now(), group, m))

    async def line(self, number: int, line: str) -> None:
        where = f"{self.name}:{number}: {line}"
        head, _, rest = line.partition(":")
        rest = rest.strip()
        h = self.h
        if line == "nothing":
            out = await self.outbound()
            assert len(out) == self.seen, f"{where}: unexpected {out[self.seen:]}"
        elif line == "no finding":
            n = await h.service.db.value("SELECT COUNT(*) FROM findings")
            assert n == 0, f"{where}: {n} findings"
        elif line == "restart":
            settings = h.service.settings
            await h.service.stop()
            h.service = Service(settings, clock=h.clock, tick_seconds=3600)
            await h.service.start()
            h.app.state.service = h.service
        elif head == "setup":
            await self.setup(dict(kv.split("=", 1) for kv in rest.split()))
        elif head == "start":
            flow, *params = rest.split()
            kv = dict(p.split("=", 1) for p in params)
            await h.write(lambda tx: start_flow(tx, h.clock.now(), self.client_id, flow,
                                                officer_started=False, params=kv))
            await h.settle()
        elif head == "client":
            r = await h.sms(self.phone, rest)
            assert r.status_code == 200, where
            await h.settle()
        elif head == "service":
            out = await self.outbound()
            assert len(out) > self.seen, f"{where}: nothing more was sent (had {out})"
            got = out[self.seen]
            assert rest.lower() in got.lower(), f"{where}: got {got!r}"
            self.seen += 1
        elif head == "wait":
            await h.advance(duration(rest))
        elif head == "finding":
            severity, reason, *words = rest.split(maxsplit=2)
            rows = await h.service.db.all("SELECT severity, reason, detail FROM findings")
            assert any((r[0], r[1]) == (severity, reason) and (not words or words[0] in r[2])
                       for r in rows), f"{where}: {[tuple(r) for r in rows]}"
        elif head == "answer":
            key, _, value = rest.partition("=")
            row = await h.service.db.one(
                "SELECT value FROM answers WHERE client_id = ? AND question_key = ?"
                " ORDER BY id DESC LIMIT 1", (self.client_id, key.strip()))
            assert row is not None, f"{where}: no answer stored"
            stored = None if row[0] is None else json.loads(row[0])
            assert stored == json.loads(value), f"{where}: stored {stored!r}"
        elif head == "score":
            scale, total = rest.split()
            got = await h.service.db.value(
                "SELECT total FROM scores WHERE client_id = ? AND scale_id = ?"
                " ORDER BY id DESC LIMIT 1", (self.client_id, scale))
            assert got == float(total), f"{where}: score {got}"
        else:
            raise AssertionError(f"{where}: unknown line")


@pytest.mark.parametrize(("name", "text"),
                         [(p.name, p.read_text(encoding="utf-8")) for p in TRANSCRIPTS],
                         ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(harness: Harness, name: str, text: str) -> None:
    run = Run(harness, name)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            await run.line(number, line)
