"""LANGUAGE from a client, through a signed webhook: the menu, a choice in any script or digits,
the language stored and used, and words that only start with "language" left for a person."""

from __future__ import annotations

import pytest

from flows.language_keyword import language_request
from tests.conftest import Harness

SAM = "+447700900126"
LOCALES = ["en_GB", "pa_IN", "pl_PL", "ro_RO", "ur_PK"]


@pytest.mark.parametrize(("text", "expected"), [
    ("LANGUAGE", ("menu", None)), ("language 5", ("set", "ur_PK")), ("language urdu", ("set", "ur_PK")),
    ("zaban اردو", ("set", "ur_PK")), ("język polski", ("set", "pl_PL")),
    ("LIMBA 4", ("set", "ro_RO")), ("limba română", ("set", "ro_RO")), ("ਭਾਸ਼ਾ ੨", ("set", "pa_IN")),
    ("bhasha punjabi", ("set", "pa_IN")), ("Language ۱", ("set", "en_GB")),
    ("language barrier at work is hard", None), ("hello", None),
])
def test_language_request(text: str, expected: tuple[str, str | None] | None) -> None:
    assert language_request(text, LOCALES) == expected


def test_a_new_catalog_folder_is_offered_by_its_own_name() -> None:
    assert language_request("language বাংলা", [*LOCALES, "bn_BD"]) == ("set", "bn_BD")
    assert language_request("language 2", [*LOCALES, "bn_BD"]) == ("set", "bn_BD")  # by code


async def test_language_keyword_sets_the_language(harness: Harness) -> None:
    client = await harness.add_client(phone=SAM)
    await harness.sms(SAM, "LANGUAGE")
    await harness.settle()
    menu = harness.twilio.sent("messages.create")[-1].params["Body"]
    assert menu == ("Reply LANGUAGE and a number: 1 English, 2 ਪੰਜਾਬੀ, 3 Polski, 4 Română, "
                    "5 اردو")
    await harness.sms(SAM, "language 5")
    await harness.settle()
    row = await harness.db.one("SELECT language FROM clients WHERE id = ?", (client,))
    assert row["language"] == "ur_PK"
    confirm = harness.twilio.sent("messages.create")[-1].params["Body"]
    assert "اردو" in confirm  # the confirmation is unreviewed: English, naming the language
    audit = await harness.db.one("SELECT * FROM audit_log WHERE action = 'client.language'")
    assert audit is not None
