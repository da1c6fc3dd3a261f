"""The onboarding question offers the languages that have catalogs, each named in itself, and
the answer (number in any digits, or a name in English or in the language itself) sets the
client's language with an audit entry, as the LANGUAGE keyword does. A language we have no
texts for tells the officer. A new catalog folder joins the question with no code change."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from bot.core import texts
from bot.core.segments import count_segments
from config.paths import LOCALE_DIR
from flows.language_keyword import OTHER, catalog_locales, choose_language
from tests.conftest import Harness
from tests.flows.test_flow_texts import PARAMS

SAM = "+447700900131"
LOCALES = ["en_GB", "pa_IN", "pl_PL", "ro_RO", "ur_PK"]


@pytest.mark.parametrize(("text", "expected"), [
    ("1", "en_GB"), ("English", "en_GB"), ("3", "pl_PL"), ("polski", "pl_PL"),
    ("Polish please", "pl_PL"), ("polski prosze", "pl_PL"), ("Română", "ro_RO"),
    ("romana", "ro_RO"), ("romanian", "ro_RO"), ("۵", "ur_PK"), ("اردو", "ur_PK"),
    ("urdu", "ur_PK"), ("੨", "pa_IN"), ("ਪੰਜਾਬੀ", "pa_IN"), ("punjabi", "pa_IN"),
    ("6", OTHER), ("another language", OTHER), ("Somali", OTHER), ("bengali", OTHER),
    ("7", None), ("what", None), ("urdu or polish", None),
])
def test_choose_language(text: str, expected: str | None) -> None:
    assert choose_language(text, LOCALES) == expected


@pytest.fixture
def bengali() -> Iterator[str]:
    """A temporary catalog folder config/locale/bn_BD, as docs/translations.md describes:
    entries empty and fuzzy (English is sent), removed afterwards."""
    folder = LOCALE_DIR / "bn_BD"
    assert not folder.exists()
    (folder / "LC_MESSAGES").mkdir(parents=True)
    head = 'msgid ""\nmsgstr ""\n"Language: bn_BD\\n"\n'
    for po in (LOCALE_DIR / "en_GB" / "LC_MESSAGES").glob("*.po"):
        (folder / "LC_MESSAGES" / po.name).write_text(head, encoding="utf-8")
    # One reviewed entry (no fuzzy flag), one unreviewed safety text.
    (folder / "LC_MESSAGES" / "messages.po").write_text(
        head + '\nmsgid "language.set"\nmsgstr "ঠিক আছে, {language}"\n'
        '\n#, fuzzy\nmsgid "help.reply"\nmsgstr "সাহায্য"\n', encoding="utf-8")
    texts._locales.cache_clear()
    try:
        yield "bn_BD"
    finally:
        shutil.rmtree(folder)
        texts._locales.cache_clear()
        texts._entries.cache_clear()


def test_a_message_records_the_catalog_it_was_rendered_from(bengali: str) -> None:
    assert texts.rendered("language.set", {"language": "বাংলা"}, locale=bengali) == (
        "ঠিক আছে, বাংলা", bengali)
    text, language = texts.rendered("help.reply", PARAMS, locale=bengali)
    assert language == "en_GB" and "সাহায্য" not in text  # unreviewed safety text: English
    assert texts.rendered("language.set", {"language": "x"}, locale="pl_PL")[1] == "en_GB"


def _last_body(harness: Harness) -> str:
    return str(harness.twilio.sent("messages.create")[-1].params["Body"])


async def _to_language_question(harness: Harness) -> tuple[int, str]:
    client = await harness.add_client(phone=SAM, consented=False)
    await harness.settle()
    await harness.sms(SAM, "1")  # consent
    await harness.settle()
    return client, _last_body(harness)


async def test_the_question_lists_every_catalog_and_a_choice_sets_the_language(
        harness: Harness) -> None:
    client, question = await _to_language_question(harness)
    assert question == ("Which language should we write in? Reply with a number:\n"
                        "1 English\n2 ਪੰਜਾਬੀ\n3 Polski\n4 Română\n5 اردو\n6 Another language")
    assert count_segments(question) == 2  # UCS-2, within the question budget
    await harness.sms(SAM, "۵")  # Urdu digit five
    await harness.settle()
    row = await harness.db.one("SELECT language FROM clients WHERE id = ?", (client,))
    assert row["language"] == "ur_PK"
    audit = await harness.db.one(
        "SELECT detail FROM audit_log WHERE action = 'client.language' AND object_id = ?",
        (client,))
    assert audit is not None and "ur_PK" in audit["detail"] and "en_GB" in audit["detail"]
    findings = await harness.db.all("SELECT reason FROM findings WHERE client_id = ?", (client,))
    assert "language_request" not in {f["reason"] for f in findings}
    assert "phone" in _last_body(harness)  # the next question went on


async def test_a_language_not_listed_tells_the_officer_and_keeps_english(
        harness: Harness) -> None:
    client, _ = await _to_language_question(harness)
    await harness.sms(SAM, "somali")
    await harness.settle()
    row = await harness.db.one("SELECT language FROM clients WHERE id = ?", (client,))
    assert row["language"] == "en_GB"
    findings = await harness.db.all("SELECT reason, severity FROM findings WHERE client_id = ?",
                                    (client,))
    assert ("language_request", "ROUTINE") in {(f["reason"], f["severity"]) for f in findings}


async def test_a_new_catalog_folder_joins_the_question(harness: Harness, bengali: str) -> None:
    assert bengali in catalog_locales()
    client, question = await _to_language_question(harness)
    assert "\n2 বাংলা\n" in question and question.endswith("\n7 Another language")
    assert count_segments(question) <= 2
    assert choose_language("bengali", catalog_locales()) == bengali
    await harness.sms(SAM, "bangla")
    await harness.settle()
    row = await harness.db.one("SELECT language FROM clients WHERE id = ?", (client,))
    assert row["language"] == bengali
