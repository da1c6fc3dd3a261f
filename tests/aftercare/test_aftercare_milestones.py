"""Milestones: a recovery date the client confirms, messages on the 30/90/180/365th day in the
client's LOCAL date (O2R_TIMEZONE), a congratulation in the group chat only with consent.

Run in Pacific/Auckland (UTC+13 in November), where the local date is a day ahead of UTC for
most of the morning: a milestone at 10:00 local goes out at 21:00 UTC the day before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.aftercare import enrolment, milestones
from bot.app import create_app
from bot.core.clock import FixedClock, iso
from tests.aftercare.support import GROUP_CHAT, SAM, link_chat, run_until, sms_texts, tg_texts
from tests.conftest import T0, Harness
from tests.conftest import test_settings as settings_for
from tests.fakes import FakeTelegramApi, FakeTwilioApi

NZ = "Pacific/Auckland"  # T0 (10:00 UTC, 25 Nov) is 23:00 on 25 Nov there


@pytest.fixture
async def nz(tmp_path: Path, fakes: tuple[FakeTwilioApi, FakeTelegramApi]
             ) -> AsyncIterator[Harness]:
    tw, tg = fakes
    clock = FixedClock(T0)
    app = create_app(settings_for(tmp_path / "o2r.db", tw.url, tg.url, timezone=NZ),
                     clock=clock, tick_seconds=3600)
    service = app.state.service
    await service.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield Harness(app, service, client, tw, tg, clock)
    await service.stop()


async def sam(h: Harness) -> int:
    return await h.add_client("C-1", "Sam", phone=SAM, stage="aftercare")


async def test_milestone_on_the_right_local_day(nz: Harness) -> None:
    h = nz
    cid = await sam(h)
    # 30 days from 27 October (local) is 26 November (local): 10:00 NZDT = 21:00 UTC on the 25th.
    await h.write(lambda tx: milestones.propose(tx, h.clock.now(), cid, date(2026, 10, 27)))
    await h.settle()
    # Proposed at 23:00 local: the question waits for the end of quiet hours (08:00 = 19:00 UTC).
    assert not sms_texts(h, SAM, "count your days")
    await h.advance(timedelta(hours=9, minutes=1))
    assert sms_texts(h, SAM, "shall we count your days from 27 October 2026")
    await h.sms(SAM, "1")
    await h.settle()
    assert sms_texts(h, SAM, "We'll send you a well done on the big days.")
    due = {r[0]: r[1] for r in await h.db.all(
        "SELECT key, due_at FROM timers WHERE kind = 'milestone' AND status = 'pending'")}
    assert due[f"milestone:{cid}:2026-10-27:30"] == "2026-11-25T21:00:00.000000Z"
    assert due[f"milestone:{cid}:2026-10-27:90"] == "2027-01-24T21:00:00.000000Z"
    await run_until(h, datetime(2026, 11, 25, 20, 59, tzinfo=UTC))
    assert not sms_texts(h, SAM, "days today")
    await run_until(h, datetime(2026, 11, 25, 21, 1, tzinfo=UTC))
    assert sms_texts(h, SAM, "days today") == [
        "Hi Sam, 30 days today. That's huge. Well done from all of us."]


async def test_group_congratulation_only_with_consent(nz: Harness) -> None:
    h = nz
    cid = await sam(h)
    await h.write(lambda tx: tx.execute("UPDATE clients SET discreet = 0 WHERE id = ?", (cid,)))
    gil = await h.add_client("C-10", "Gil", phone="+447700900210", stage="aftercare")
    from tests.aftercare.support import promote

    mentor = await promote(h, gil)
    group = await h.write(lambda tx: enrolment.add_group(
        tx, h.clock.now(), name="Tuesday group", mentor_ids=[mentor], meets="weekly:tue 18:00"))
    await h.write(lambda tx: enrolment.enrol(tx, h.clock.now(), group, cid))
    await link_chat(h, group)
    # A date long enough ago that today (local) is day 90: sent at once, daytime there.
    h.clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # 14:00 NZDT on 26 November
    since = date(2026, 11, 26) - timedelta(days=90)
    await h.write(lambda tx: milestones.propose(tx, h.clock.now(), cid, since))
    await h.settle()
    await h.sms(SAM, "2")  # yes, and tell my group
    await h.advance(timedelta(0))
    assert sms_texts(h, SAM, "Sam, 90 days in recovery today")
    assert tg_texts(h, GROUP_CHAT, "Well done Sam: 90 days today!")
    # A new date (things happen) replaces the old plan; "no thanks" plans nothing.
    await h.write(lambda tx: milestones.propose(tx, h.clock.now(), cid, date(2026, 11, 20)))
    await h.sms(SAM, "3")
    await h.settle()
    assert sms_texts(h, SAM, "We won't send those.")
    assert not await h.db.value("SELECT COUNT(*) FROM timers WHERE kind = 'milestone'"
                                " AND status = 'pending'")


async def test_a_milestone_that_would_arrive_a_day_late_is_dropped(nz: Harness) -> None:
    h = nz
    cid = await sam(h)
    await h.write(lambda tx: milestones.propose(tx, h.clock.now(), cid, date(2026, 10, 27)))
    await h.sms(SAM, "1")
    await h.settle()
    # The service was down over the whole of 26 November (local) and back at 22:00 there.
    h.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    await h.advance(timedelta(0))
    assert not sms_texts(h, SAM, "days today")
    outcome = await h.db.value("SELECT outcome FROM timers WHERE key = ?",
                               (f"milestone:{cid}:2026-10-27:30",))
    assert outcome == "dropped: the day has passed"
    assert iso(h.clock.now()).startswith("2026-11-26T09")
