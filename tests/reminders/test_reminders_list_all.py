"""`o2r reminders list` shows every planned send, aftercare meeting reminders included, and marks
those the contact policy will skip, with the reason."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def o2r(cli):  # type: ignore[no-untyped-def]
    assert cli("staff", "add", "--name", "Dana Hughes", "--role", "officer")[0] == 0
    for ref, name, phone, stage in (("C-10", "Gil", "+447700900210", "aftercare"),
                                    ("C-1", "Sam", "+447700900123", "aftercare")):
        assert cli("client", "add", "--ref", ref, "--first-name", name, "--officer", "1",
                   "--phone", phone, "--consented", "--stage", stage)[0] == 0
    assert cli("client", "add", "--ref", "C-3", "--first-name", "Kim", "--officer", "1",
               "--phone", "+447700900125", "--stage", "engagement")[0] == 0
    return cli


def test_meeting_reminders_listed_and_skips_marked(o2r) -> None:  # type: ignore[no-untyped-def]
    mentor = json.loads(o2r("mentor", "promote", "--client", "C-10", "--agreed", "--json")[1])
    assert o2r("group", "add", "--name", "Tuesday group", "--mentor", str(mentor["staff_id"]),
               "--meets", "weekly:tue 18:00", "--place", "Hope Centre")[0] == 0
    assert o2r("group", "enrol", "--group", "Tuesday group", "--client", "C-1")[0] == 0
    listed = json.loads(o2r("reminders", "list", "--client", "C-1", "--json")[1])
    meetings = [r for r in listed if r["kind"] == "meeting_reminder"]
    assert meetings and all(r["skip"] is None for r in meetings)
    assert all(r["event_local"] for r in meetings)
    # In custody: nothing automated goes, and the list says so before it happens.
    assert o2r("client", "custody", "C-1", "on")[0] == 0
    listed = json.loads(o2r("reminders", "list", "--client", "C-1", "--json")[1])
    assert {r["skip"] for r in listed if r["kind"] == "meeting_reminder"} == {"in custody"}
    out = o2r("reminders", "list", "--client", "C-1")[1]
    assert "meeting_reminder" in out and "SKIPPED: in custody" in out
    # No consent recorded yet: an appointment's reminders are planned but will not go.
    assert o2r("appointment", "add", "--client", "C-3", "--kind", "court",
               "--at", "2035-03-12T10:00")[0] == 0
    listed = json.loads(o2r("reminders", "list", "--client", "C-3", "--json")[1])
    assert listed and {r["skip"] for r in listed} == {"no recorded consent"}
