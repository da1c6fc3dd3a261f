"""No internal codes on any page: every page each role can open, crawled with a lived-in
caseload, must not show snake_case keys or the queue's old codes in its visible text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from admin_web.permissions import allowed
from tests.admin_web.support import Demo, raise_amber, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.admin_web.test_admin_permissions import USERS, cases, concrete, world
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture

# Codes that once leaked onto pages, and any snake_case word (a database or catalog key).
TOKENS = ("source answer", "chain level", "level 0", "alerts held back", "Phq4", "Spane12")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")


class _Text(HTMLParser):
    """The text a person sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "code"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.mark.parametrize("role", list(USERS))
async def test_no_internal_codes_on_any_page(harness: Harness, demo: Demo, panels: Any,
                                             role: str) -> None:
    ids = await world(harness, demo, panels)
    await raise_amber(harness, demo.clients["D-001"], "call_wanted")
    panel = await signed_in(panels, USERS[role])
    pages = {concrete(c, ids) for c in cases(ids) if c.method == "GET"
             and allowed(role, c.capability) and not c.template.endswith((".csv", "/media/{n:int}"))}
    if role in ("officer", "supervisor"):
        pages |= {f"/admin/clients/{demo.clients['D-001']}", "/admin/escalations?view=all"}
    found = {}
    for path in sorted(pages):
        response = await panel.get(path)
        if response.status_code != 200:
            continue
        text = visible_text(response.text)
        bad = [t for t in TOKENS if t in text] + SNAKE.findall(text)
        if bad:
            found[path] = sorted(set(bad))
    assert not found, found
