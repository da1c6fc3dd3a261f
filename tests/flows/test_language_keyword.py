"""LANGUAGE from a client, through a signed webhook: the menu, a choice in any script or digits,
the language stored and used, and words that only start with "language" left for a person."""

from __future__ import annotations

import pytest

from flows.language_keyword import language_request
from tests.conftest import Harness

SAM = "+447700900126"


@pytest.mark.parametrize(("text", "expected"), [
    ("LANGUAGE", ("menu", None)), ("language 4", ("set", "ur_PK")),
    ("zaban اردو", ("set", "ur_PK")), ("język polski", ("set", "pl_PL")),
    ("LIMBA 3", ("set", "ro_RO")), ("ਭਾਸ਼ਾ ੫", ("set", "pa_IN")), ("Language ۱", ("set", "en_GB")),
    ("language barrier at work is hard", None), ("hello", None),
])
def test_language_request(text: str, expected: tuple[str, str | None] | None) -> None:
    assert language_request(text) == expected


async def test_language_keyword_sets_the_language(harness: Harness) -> None:
    client = await harness.add_client(phone=SAM)
    await harness.sms(SAM, "LANGUAGE")
    await harness.settle()
    menu = harness.twilio.sent("messages.create")[-1].params["Body"]
    assert menu.startswith("Reply LANGUAGE and a number: 1 English, 2 Polski") and "4 اردو" in menu
    await harness.sms(SAM, "language 4")
    await harness.settle()
    row = await harness.db.one("SELECT language FROM clients WHERE id = ?", (client,))
    assert row["language"] == "ur_PK"
    confirm = harness.twilio.sent("messages.create")[-1].params["Body"]
    assert "اردو" in confirm  # the confirmation is unreviewed: English, naming the language
    audit = await harness.db.one("SELECT * FROM audit_log WHERE action = 'client.language'")
    assert audit is not None
