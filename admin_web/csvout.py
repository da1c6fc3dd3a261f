"""CSV downloads. Text cells that a spreadsheet would run as a formula are made inert."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

# = + - @ start a formula in Excel, LibreOffice and Sheets; tab and carriage return can smuggle
# one past a naive check (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefix an apostrophe to text that would start a formula; numbers are left as numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "export.csv"
    # A BOM so Excel reads UTF-8 names correctly.
    return Response("\ufeff" + to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{safe}"'})
