"""Subject access export: everything held about one client, as one zip archive with
`export.json` (complete, machine-readable) and `summary.html` (readable by the person).

Complete by construction: every table with a `client_id` column is read (a table added later
is included without a change here), plus the client row, who was told of their escalations
and the audit entries about them. Staff appear by name or by role, as config/retention.toml
[export] staff_names says.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.core.clock import iso, parse_iso
from bot.core.db import Database
from bot.privacy.schedule import current

# Columns that name a member of staff, shown as a name or a role.
STAFF_COLUMNS = frozenset({"officer_id", "staff_id", "acknowledged_by", "resolved_by",
                           "read_by", "inbox_staff_id", "legal_hold_by", "recorded_by"})
# Never exported: secrets, not information about the person.
SKIP_TABLES = frozenset({"link_codes"})

_env = Environment(loader=FileSystemLoader(Path(__file__).parent),
                   autoescape=select_autoescape(["html"]))


async def client_tables(db: Database) -> dict[str, list[str]]:
    """Tables with a client_id column (but clients itself) and their columns, by name."""
    return {table: columns for table, columns in sorted((await db.columns()).items())
            if "client_id" in columns and table != "clients" and table not in SKIP_TABLES}


async def gather(db: Database, client_id: int, now: datetime) -> dict[str, Any]:
    """Everything about the client, JSON-ready, staff shown as the organisation decided."""
    client = await db.all("SELECT * FROM clients WHERE id = ?", (client_id,))
    if not client:
        raise LookupError("no such client")
    data: dict[str, Any] = {"generated_at": iso(now), "client": dict(client[0])}
    for table, columns in (await client_tables(db)).items():
        order = "id" if "id" in columns else columns[0]  # the order rows were written in
        data[table] = [dict(r) for r in await db.all(
            f"SELECT * FROM {table} WHERE client_id = ? ORDER BY {order}", (client_id,))]
    data["escalation_notices"] = [dict(r) for r in await db.all(
        "SELECT n.* FROM escalation_notices n JOIN escalations e ON e.id = n.escalation_id"
        " WHERE e.client_id = ? ORDER BY n.id", (client_id,))]
    data["audit_log"] = [dict(r) for r in await db.all(
        "SELECT * FROM audit_log WHERE (object_kind = 'client' AND object_id = ?)"
        " OR actor = ? ORDER BY id", (client_id, f"client:{client_id}"))]
    how = current().staff_names
    staff = {r["id"]: (r["name"] if how == "names" else r["role"])
             for r in await db.all("SELECT id, name, role FROM staff")}
    for rows in [[data["client"]], *(v for v in data.values() if isinstance(v, list))]:
        for row in rows:
            for col in STAFF_COLUMNS & row.keys():
                if row[col] is not None:
                    row[col] = staff.get(row[col], "staff")
            if isinstance(row.get("actor"), str) and row["actor"].startswith("staff:"):
                row["actor"] = staff.get(int(row["actor"][6:]), "staff")
    data["staff_shown_as"] = how
    return data


def messages(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Both ways, in time order, for the summary."""
    out = [{"at": m["received_at"], "way": "from you", "channel": m["channel"],
            "text": m["body"] if not m.get("purged_at") else "(removed under the retention"
            " schedule)"} for m in data.get("inbound", [])]
    out += [{"at": m["created_at"], "way": "to you", "channel": m["channel"],
             "text": (m["body"] if not m.get("purged_at") else "(removed under the retention"
                      " schedule)"), "status": m["status"]}
            for m in data.get("outbox", []) if m.get("op", "send") == "send"]
    return sorted(out, key=lambda m: m["at"])


def summary_html(data: dict[str, Any], tz: str) -> str:
    zone = ZoneInfo(tz)

    def local(at: str | None) -> str:
        return parse_iso(at).astimezone(zone).strftime("%d %b %Y %H:%M") if at else ""
    template = _env.get_template("export.html")
    return template.render(d=data, messages=messages(data), local=local)


def archive(data: dict[str, Any], tz: str) -> bytes:
    """The zip: export.json and summary.html."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export.json", json.dumps(data, indent=2, default=str, ensure_ascii=False))
        zf.writestr("summary.html", summary_html(data, tz))
    return buf.getvalue()
