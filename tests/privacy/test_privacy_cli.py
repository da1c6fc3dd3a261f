"""Subject access export, legal hold, erasure and rectification through `o2r` (bot.cli.main)
on a real database: what the archive holds, who may decide, and what the audit log says."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest


@pytest.fixture
def o2r(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    run = cli
    assert run("staff", "add", "--name", "Dana Hughes", "--role", "officer")[0] == 0
    assert run("staff", "add", "--name", "Priya Shah", "--role", "supervisor")[0] == 0
    assert run("client", "add", "--ref", "C-1", "--first-name", "Sam", "--officer", "1",
               "--phone", "+447700900123", "--consented")[0] == 0
    assert run("send", "--client", "C-1", "See you <b>at 10</b> & bring ID")[0] == 0
    return run


def _db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "o2r.db")
    conn.row_factory = sqlite3.Row
    return conn


def test_export_is_one_archive_with_everything_and_is_audited(o2r, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sar.zip"
    code, printed, _ = o2r("client", "export", "C-1", "--out", str(out), "--json")
    assert code == 0 and json.loads(printed) == {"file": str(out)}
    assert out.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["export.json", "summary.html"]
        data = json.loads(zf.read("export.json"))
        html = zf.read("summary.html").decode()
    assert data["client"]["ref"] == "C-1" and data["client"]["first_name"] == "Sam"
    assert [i["address"] for i in data["identities"]] == ["+447700900123"]
    assert any("See you" in m["body"] for m in data["outbox"])
    for table in ("answers", "scores", "appointments", "escalations", "client_notes",
                  "stage_history", "audit_log", "inbound"):
        assert table in data
    # Staff by role (config/retention.toml [export] staff_names = "roles"): no names.
    assert data["client"]["officer_id"] == "officer"
    assert "Dana" not in json.dumps(data) and "Dana" not in html
    # The summary is readable and escapes what people wrote.
    assert "Information we hold about you" in html and "See you &lt;b&gt;at 10&lt;/b&gt;" in html
    with _db(tmp_path) as conn:
        row = conn.execute("SELECT actor, detail FROM audit_log WHERE action = 'client.exported'"
                           ).fetchone()
    assert row["actor"] == "cli" and json.loads(row["detail"]) == {"file": "sar.zip"}


def test_hold_erase_and_correct_are_a_supervisors_decisions(o2r, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = o2r("client", "erase", "C-1", "--staff", "1", "--reason", "Asked to")
    assert code == 1 and "supervisor" in err
    assert o2r("client", "hold", "C-1", "on", "--staff", "2")[0] == 1   # a reason is needed
    assert o2r("client", "hold", "C-1", "on", "--staff", "2",
               "--reason", "Disclosure to the CPS pending")[0] == 0
    code, _, err = o2r("client", "erase", "C-1", "--staff", "2", "--reason", "Subject asked")
    assert code == 1 and "legal hold" in err
    # A hold also keeps the case from the purge, years on (the message as the service sent it).
    with _db(tmp_path) as conn:
        conn.execute("UPDATE outbox SET status = 'sent'")
    code, out, _ = o2r("retention", "report", "--json",
                       "--at", (datetime.now() + timedelta(days=400)).isoformat())
    assert {r["kind"]: r["due_now"] for r in json.loads(out)}["message_bodies"] == 0
    assert o2r("client", "hold", "C-1", "off", "--staff", "2")[0] == 0
    code, out, _ = o2r("retention", "report", "--json",
                       "--at", (datetime.now() + timedelta(days=400)).isoformat())
    assert {r["kind"]: r["due_now"] for r in json.loads(out)}["message_bodies"] == 1

    assert o2r("client", "correct", "C-1", "--field", "first_name", "--value", "Samir",
               "--staff", "2", "--reason", "Spelt wrong at referral")[0] == 0
    with _db(tmp_path) as conn:
        fixed = conn.execute("SELECT detail FROM audit_log WHERE action = 'client.corrected'"
                             ).fetchone()
    assert json.loads(fixed["detail"]) == {"field": "first_name", "old": "Sam", "new": "Samir",
                                           "reason": "Spelt wrong at referral"}

    code, out, _ = o2r("client", "erase", "C-1", "--staff", "2", "--reason",
                       "Right to erasure request 2026-11")
    assert code == 0
    with _db(tmp_path) as conn:
        client = conn.execute("SELECT * FROM clients").fetchone()
        entries = conn.execute("SELECT actor, action, detail FROM audit_log"
                               " WHERE object_kind = 'client'").fetchall()
        bodies = [r[0] for r in conn.execute("SELECT body FROM outbox")]
        phones = [r[0] for r in conn.execute("SELECT address FROM identities")]
    assert client["ref"] == "ERASED-1" and client["first_name"] == "(erased)"
    assert bodies == [""] and phones == ["erased"]
    erased = [e for e in entries if e["action"] == "client.erased"]
    assert erased[0]["actor"] == "staff:2"
    assert json.loads(erased[0]["detail"]) == {"reason": "Right to erasure request 2026-11"}
    # Who did what stays; what it said (the old and new name) is gone.
    assert all("Sam" not in (e["detail"] or "") for e in entries)
    assert {e["action"] for e in entries} >= {"client.added", "client.corrected",
                                              "client.legal_hold_on", "client.erased"}
    code, _, err = o2r("client", "erase", "ERASED-1", "--staff", "2", "--reason", "again please")
    assert code == 1 and "already erased" in err
