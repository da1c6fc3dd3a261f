"""The README's headline demo in a real browser (issue 16): Sam says "I can't go on" in the
simulator, Dana acknowledges from her simulated phone with the button, the queue shows it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, LiveServer
from tests.browser.test_admin_browser import shot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def phone_until(page: Any, url: str, text: str) -> None:
    """Reload the simulated phone until `text` shows (the dispatcher sends in the background)."""
    for _ in range(40):
        page.goto(url)
        if text in page.content():
            return
        time.sleep(0.25)
    raise AssertionError(f"{text!r} never showed on {url}")


def test_headline_demo_end_to_end(desktop: Any, live_server: LiveServer,
                                  artifacts: Path) -> None:
    page = desktop
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Simulator").click()
    page.get_by_role("link", name="Sam (client D-001)").click()
    page.get_by_label("Your message").fill("I can't go on")
    page.get_by_role("button", name="Send").click()
    phone_until(page, live_server.url + "/sim?address=client-d-001", "Samaritans")
    dana = live_server.url + "/sim?address=officer-dana"
    phone_until(page, dana, "Reply ACK")
    alert = page.locator("ol.chat li", has_text="RED alert").first
    assert "Reply ACK" in alert.inner_text()
    shot(page, artifacts, "sim-dana-alert")
    alert.get_by_role("button", name="Acknowledge").click()
    phone_until(page, dana, "edited")
    assert "[pressed ack:" in page.content()
    assert page.locator("ol.chat li", has_text="RED alert").first \
        .get_by_role("button", name="Acknowledge").count() == 0
    shot(page, artifacts, "sim-dana-acknowledged")
    sign_in(page, live_server, "dana")
    page.goto(live_server.url + "/admin/escalations")
    card = page.locator("article.esc", has_text="RED").first
    assert "acknowledged by dana hughes" in card.inner_text().lower()
