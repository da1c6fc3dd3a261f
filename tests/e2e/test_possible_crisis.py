"""A language's AMBER net (config/crisis_lang/<code>.toml `[amber]`) through the real router,
dispatcher and fake Twilio: words the crisis screen was not sure of raise an AMBER finding the
officer hears about, file the message, and send the crisis contacts at most once in a while."""

from __future__ import annotations

from datetime import timedelta

from flows.intents import possible_crisis, screen
from tests.conftest import Harness

SAM = "+447700900123"
OFFICER = "+447700900101"
# "I have the pills on me": no crisis frame fires (the screen is not sure), the net does.
PILLS = "tabletki mam przy sobie"


def test_the_example_is_amber_not_red() -> None:
    assert screen(PILLS) is None
    found = possible_crisis(PILLS)
    assert found is not None and found.lang == "pl" and "Polish" in found.label


async def _crisis_replies(h: Harness) -> list[str]:
    rows = await h.db.all("SELECT body FROM outbox WHERE address = ? AND message_key ="
                          " 'crisis.reply' ORDER BY id", (SAM,))
    return [r["body"] for r in rows]


async def test_possible_crisis_is_amber_filed_and_answered_once_in_four_hours(
        harness: Harness) -> None:
    cid = await harness.add_client()
    await harness.sms(SAM, PILLS)
    await harness.settle()
    finding = await harness.db.one("SELECT severity, reason, detail FROM findings"
                                   " WHERE client_id = ?", (cid,))
    assert (finding["severity"], finding["reason"]) == ("AMBER", "possible_crisis")
    assert "possible crisis words in Polish: the screen was not sure" in finding["detail"]
    assert '"tabletki"' in finding["detail"]
    esc = await harness.db.one("SELECT severity, reason FROM escalations WHERE client_id = ?",
                               (cid,))
    assert (esc["severity"], esc["reason"]) == ("AMBER", "possible_crisis")
    assert await harness.db.value("SELECT inbox FROM inbound WHERE client_id = ?",
                                  (cid,)) == "outside_flow"
    replies = await _crisis_replies(harness)
    assert len(replies) == 1 and "999" in replies[0] and "116 123" in replies[0]
    assert any("New message from C-1 Sam" in m["body"]
               for m in harness.twilio.messages(to=OFFICER))

    # The same words again within the hour: the officer hears, the client is not re-sent them.
    await harness.advance(timedelta(hours=1))
    await harness.sms(SAM, "tabletki dalej mam przy sobie")
    await harness.settle()
    assert await harness.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ? AND"
                                  " reason = 'possible_crisis'", (cid,)) == 2
    assert len(await _crisis_replies(harness)) == 1

    # Past the window: sent again.
    await harness.advance(timedelta(hours=4))
    await harness.sms(SAM, PILLS)
    await harness.settle()
    assert len(await _crisis_replies(harness)) == 2


async def test_unreviewed_translation_goes_in_english_with_the_note(harness: Harness) -> None:
    cid = await harness.add_client()
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET language = 'pl_PL' WHERE id = ?", (cid,)))
    await harness.sms(SAM, PILLS)
    await harness.settle()
    (reply,) = await _crisis_replies(harness)
    # pl_PL's crisis.reply is still a draft: the reviewed English, and one line in Polish.
    assert reply.startswith("If you are not safe right now call 999")
    assert "Ta wazna wiadomosc jest po angielsku." in reply


async def test_english_words_are_not_read_by_other_languages_nets(harness: Harness) -> None:
    cid = await harness.add_client()
    await harness.sms(SAM, "can I have more time this morning, the bus is late")
    await harness.settle()
    assert await harness.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ?",
                                  (cid,)) == 0
    assert await _crisis_replies(harness) == []
