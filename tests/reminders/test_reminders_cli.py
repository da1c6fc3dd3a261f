"""The operator CLI for appointments, the course and the reminder listing (bot.cli.main)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def o2r(cli):  # type: ignore[no-untyped-def]
    run = cli

    assert run("staff", "add", "--name", "Dana Hughes", "--role", "officer")[0] == 0
    assert run("client", "add", "--ref", "C-1", "--first-name", "Sam", "--officer", "1",
               "--phone", "+447700900123", "--consented", "--stage", "pre_admission")[0] == 0
    return run


def test_appointments_from_the_command_line(o2r) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = o2r("appointment", "add", "--client", "C-1", "--kind", "court",
                       "--at", "2035-03-12T10:00", "--place", "Victoria Law Courts",
                       "--with", "Duty solicitor")
    assert code == 0 and out == "1  (3 reminders planned)"
    code, out, _ = o2r("reminders", "list", "--client", "C-1", "--json")
    listed = json.loads(out)
    assert [r["what"] for r in listed] == ["reminder.court.7d", "reminder.court.1d",
                                           "reminder.court.2h"]
    assert listed[0]["due_local"] == "Mon 05 Mar 2035 10:00 GMT"
    assert listed[2]["due_local"] == "Mon 12 Mar 2035 08:00 GMT"
    assert listed[0]["event_local"] == "Mon 12 Mar 2035 10:00 GMT"
    code, out, _ = o2r("appointment", "reschedule", "1", "--at", "2035-04-02T10:00")
    assert code == 0
    _, out, _ = o2r("reminders", "list")
    assert "Mon 26 Mar 2035 10:00 BST" in out and "2035-03-12" not in out
    code, out, _ = o2r("appointment", "cancel", "1")
    assert code == 0 and o2r("reminders", "list")[1] == "nothing pending"
    code, _, err = o2r("appointment", "add", "--client", "C-1", "--kind", "court",
                       "--at", "2001-01-01T10:00")
    assert code == 1 and "has already passed" in err
    code, _, err = o2r("appointment", "add", "--client", "nobody", "--kind", "court",
                       "--at", "2035-01-01T10:00")
    assert code == 1 and "no client with ref 'nobody'" in err


def test_course_from_the_command_line(o2r) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = o2r("course", "add-session", "--at", "2035-01-09T10:00",
                       "--place", "Hope Centre", "--cohort", "Jan")
    assert (code, out) == (0, "1")
    code, out, _ = o2r("course", "enrol", "--client", "C-1", "--json")
    assert code == 0 and json.loads(out) == {"enrolment": 1, "next_session": 1}
    _, out, _ = o2r("reminders", "list")
    assert "reminder.course_session.eve" in out and "Mon 08 Jan 2035 18:00 GMT" in out
    code, out, _ = o2r("course", "attendance", "--session", "1", "--client", "C-1", "missed")
    assert code == 0
    _, out, _ = o2r("reminders", "list", "--json")
    assert [r["kind"] for r in json.loads(out)] == ["missed_session"]
    code, _, err = o2r("course", "attendance", "--session", "9", "--client", "C-1", "attended")
    assert code == 1 and "no course session 9" in err


def test_place_alias_from_the_command_line(o2r) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = o2r("place", "alias", "--place", "Probation Office, Broad St",
                       "--alias", "the usual place on Broad St", "--json")
    assert code == 0 and json.loads(out) == {"id": 1}
    code, out, _ = o2r("place", "alias", "--place", "probation office,  broad st",
                       "--alias", "the office", "--client", "C-1", "--json")
    assert code == 0 and json.loads(out) == {"id": 2}
    code, _, err = o2r("place", "alias", "--place", "X", "--alias", "y" * 41)
    assert code == 1 and "alias: at most 40 characters" in err
