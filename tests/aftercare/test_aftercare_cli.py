"""The operator CLI for mentors, groups and milestones (bot.cli.main, bot/groups_cli.py)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def o2r(cli):  # type: ignore[no-untyped-def]
    run = cli

    assert run("staff", "add", "--name", "Dana Hughes", "--role", "officer")[0] == 0
    for ref, name, phone, stage in (("C-10", "Gil", "+447700900210", "aftercare"),
                                    ("C-1", "Sam", "+447700900123", "aftercare"),
                                    ("C-2", "Jo", "+447700900124", "engagement")):
        assert run("client", "add", "--ref", ref, "--first-name", name, "--officer", "1",
                   "--phone", phone, "--consented", "--stage", stage)[0] == 0
    return run


def test_mentors_and_groups_from_the_command_line(o2r) -> None:  # type: ignore[no-untyped-def]
    code, _, err = o2r("mentor", "promote", "--client", "C-10")
    assert code == 1 and "mentor agreement" in err
    code, _, err = o2r("mentor", "promote", "--client", "C-2", "--agreed")
    assert code == 1 and "graduates" in err
    code, out, _ = o2r("mentor", "promote", "--client", "C-10", "--agreed", "--json")
    assert code == 0
    mentor = json.loads(out)["staff_id"]
    code, _, err = o2r("mentor", "promote", "--client", "C-10", "--agreed")
    assert code == 1 and "already a mentor" in err

    code, _, err = o2r("group", "add", "--name", "Tuesday group", "--mentor", "1",
                       "--meets", "weekly:tue 18:00")
    assert code == 1 and "not an active mentor" in err
    code, _, err = o2r("group", "add", "--name", "Tuesday group", "--mentor", str(mentor),
                       "--meets", "tuesdays")
    assert code == 1 and "weekly:tue 18:00" in err
    code, out, _ = o2r("group", "add", "--name", "Tuesday group", "--mentor", str(mentor),
                       "--meets", "weekly:tue 18:00", "--place", "Hope Centre")
    assert (code, out) == (0, "1")
    code, out, _ = o2r("group", "enrol", "--group", "Tuesday group", "--client", "C-1")
    assert code == 0 and "reminders planned" in out
    code, _, err = o2r("group", "enrol", "--group", "1", "--client", "C-1")
    assert code == 1 and "already in the group 'Tuesday group'" in err
    code, _, err = o2r("group", "enrol", "--group", "1", "--client", "C-10")
    assert code == 1 and "mentors this group" in err
    code, out, _ = o2r("group", "link-code", "Tuesday group")
    assert code == 0 and "/link " in out and len(out.split()[0]) == 8
    code, out, _ = o2r("group", "list", "--json")
    listed = json.loads(out)
    assert listed[0]["name"] == "Tuesday group" and listed[0]["members"] == 1
    assert listed[0]["mentor_names"] == "Gil" and listed[0]["chat_status"] is None
    code, out, _ = o2r("milestones", "propose", "--client", "C-1", "--since", "2026-01-01")
    assert code == 0 and "asked to confirm 2026-01-01" in out
    code, _, err = o2r("milestones", "propose", "--client", "C-1", "--since", "2999-01-01")
    assert code == 1 and "in the future" in err

    code, out, _ = o2r("mentor", "step-down", "C-10", "--reason", "moving away")
    assert code == 0 and "stepped down" in out
    code, out, _ = o2r("mentor", "list", "--json")
    assert json.loads(out)[0]["status"] == "stepped_down"
    code, out, _ = o2r("group", "list")
    assert "mentors: none" in out
    code, _, err = o2r("mentor", "step-down", str(mentor))
    assert code == 1 and "already stepped down" in err
    code, out, _ = o2r("group", "leave", "--client", "C-1")
    assert code == 0
