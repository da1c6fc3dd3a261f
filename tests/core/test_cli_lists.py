"""`o2r staff list`, `o2r client list`, `o2r appointment list`: ids for every other command."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def o2r(cli, db_url, monkeypatch):  # type: ignore[no-untyped-def]
    if db_url is not None:  # the same commands on PostgreSQL (a bare `1` condition broke there)
        monkeypatch.setenv("O2R_DB", db_url)
    assert cli("staff", "add", "--name", "Dana Hughes", "--role", "officer")[0] == 0
    assert cli("staff", "add", "--name", "Mo Reid", "--role", "mentor")[0] == 0
    assert cli("staff", "add", "--name", "Ash Patel", "--role", "officer")[0] == 0
    assert cli("client", "add", "--ref", "C-2", "--first-name", "Jo", "--officer", "1",
               "--phone", "+447700900124")[0] == 0
    assert cli("client", "add", "--ref", "C-1", "--first-name", "Sam", "--officer", "1",
               "--phone", "+447700900123", "--consented", "--stage", "pre_admission")[0] == 0
    return cli


def test_staff_list_names_ids_roles_and_caseloads(o2r) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = o2r("staff", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(s["id"], s["name"], s["role"], s["clients"]) for s in listed] == [
        (3, "Ash Patel", "officer", 0), (1, "Dana Hughes", "officer", 2),
        (2, "Mo Reid", "mentor", 0)]
    assert all(s["active"] and s["available"] for s in listed)
    _, out, _ = o2r("staff", "list", "--role", "mentor")
    assert out.split() == ["2", "Mo", "Reid", "mentor"]
    o2r("staff", "availability", "3", "off", "--reason", "leave")
    _, out, _ = o2r("staff", "list", "--role", "officer")
    assert "Ash Patel" in out and "unavailable" in out.splitlines()[0]
    assert "2 client(s)" in out.splitlines()[1]


def test_client_list_filters_and_shows_consent(o2r) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = o2r("client", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [(c["id"], c["ref"], c["consented"], c["officer"]) for c in listed] == [
        (2, "C-1", True, "Dana Hughes"), (1, "C-2", False, "Dana Hughes")]
    _, out, _ = o2r("client", "list", "--stage", "pre_admission")
    assert "C-1" in out and "C-2" not in out
    _, out, _ = o2r("client", "list")
    assert "C-2" in out and "(no consent yet)" in out
    assert o2r("client", "list", "--officer", "3")[1] == "no clients"


def test_appointment_list_with_reminder_counts(o2r) -> None:  # type: ignore[no-untyped-def]
    assert o2r("appointment", "list")[1] == "no appointments"
    o2r("appointment", "add", "--client", "C-1", "--kind", "court", "--at", "2035-03-12T10:00",
        "--place", "Victoria Law Courts")
    o2r("appointment", "add", "--client", "C-1", "--kind", "probation",
        "--at", "2035-02-01T09:30")
    code, out, _ = o2r("appointment", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [(a["id"], a["kind"], a["client"]) for a in listed] == [
        (2, "probation", "C-1"), (1, "court", "C-1")]
    assert listed[1]["at_local"] == "Mon 12 Mar 2035 10:00 GMT"
    assert listed[1]["reminders"] == 3
    o2r("appointment", "cancel", "2")
    _, out, _ = o2r("appointment", "list")
    assert out.splitlines()[0].split()[0] == "1" and "Victoria Law Courts" in out
    assert len(json.loads(o2r("appointment", "list", "--all", "--json")[1])) == 2
    assert o2r("appointment", "list", "--client", "C-2")[1] == "no appointments"
