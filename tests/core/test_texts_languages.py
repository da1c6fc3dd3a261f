"""Translated catalogs: every language has every en_GB key; only reviewed entries are sent; an
unreviewed safety text goes in English with a one-line note in the client's language (within
its segment budget); `o2r texts status|export|import` round-trip the .po files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.core.segments import count_segments
from bot.core.texts import (
    DEFAULT_LOCALE,
    ENGLISH_NOTE,
    available_locales,
    catalog,
    drafts,
    english_note,
    is_safety,
    render,
)
from config.paths import LOCALE_DIR
from flows.crisis import load_crisis_config
from tests.conftest import Harness

LANGUAGES = ["pa_IN", "pl_PL", "ro_RO", "ur_PK"]
CRISIS_KEYS = ["crisis.reply", "crisis.ack", "crisis.ack_overdose"]


def test_the_four_languages_are_available() -> None:
    assert sorted(set(available_locales()) - {DEFAULT_LOCALE}) == LANGUAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_en_gb_key_and_no_other(lang: str) -> None:
    english = set(catalog(DEFAULT_LOCALE))
    theirs = set(catalog(lang)) | set(drafts(lang))
    assert english - theirs == set(), f"{lang} lacks {sorted(english - theirs)}"
    assert theirs - english == set(), f"{lang} has keys en_GB does not: {sorted(theirs - english)}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unreviewed_safety_text_goes_in_english_with_a_note(lang: str) -> None:
    params = load_crisis_config().message_params()
    assert "crisis.reply" not in catalog(lang) and drafts(lang)["crisis.reply"]  # a draft
    text = render("crisis.reply", params, locale=lang)
    english = render("crisis.reply", params, locale=DEFAULT_LOCALE)
    note = english_note(lang)
    assert note and note == drafts(lang)[ENGLISH_NOTE]
    assert text == f"{english}\n{note}"
    assert drafts(lang)["crisis.reply"].format(**params) not in text  # never the draft


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unreviewed_ordinary_text_goes_in_english_without_a_note(lang: str) -> None:
    assert not is_safety("unknown.neutral")
    assert render("unknown.neutral", locale=lang) == render("unknown.neutral")


def test_english_gets_no_note_and_the_safety_list_covers_the_named_texts() -> None:
    assert english_note(DEFAULT_LOCALE) is None
    for key in ("crisis.reply", "safety.tolerance.discreet", "optout.confirm", "help.reply",
                "escalation.client_ack.discreet", "weekly.item9", "checkin.safe"):
        assert is_safety(key), key


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", CRISIS_KEYS)
def test_crisis_text_in_english_with_the_note_fits_three_segments(lang: str, key: str) -> None:
    text = render(key, load_crisis_config().message_params() | {"first_name": "Alexandra",
                                                                "officer": "Samantha"},
                  locale=lang)
    assert count_segments(text) <= 3, (len(text), text)


def _review(po: Path, key: str) -> None:
    """What a translator does in Poedit: untick "Needs work" for one entry."""
    lines = po.read_text().splitlines()
    i = lines.index(f'msgid "{key}"')
    assert lines[i - 1] == "#, fuzzy"
    del lines[i - 1]
    po.write_text("\n".join(lines) + "\n")


def test_status_export_import_round_trip(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Work on a copy of the catalogs: import writes into config/locale.
    locale_dir = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    monkeypatch.setattr("bot.texts_cli.LOCALE_DIR", locale_dir)
    code, out, err = cli("texts", "status", "--json")
    assert code == 0, err
    rows = {r["language"]: r for r in json.loads(out)}
    assert set(rows) == set(LANGUAGES)
    for r in rows.values():
        assert r["missing"] == 0 and r["reviewed"] + r["drafts"] + r["untranslated"] == r["entries"]
    code, out, err = cli("texts", "export", "pl_PL", "--out", str(tmp_path / "out"), "--json")
    assert code == 0, err
    files = json.loads(out)["files"]
    # one file per catalog English has
    assert sorted(Path(f).name for f in files) == sorted(
        p.name for p in (LOCALE_DIR / "en_GB" / "LC_MESSAGES").glob("*.po"))
    flows_po = tmp_path / "out" / "flows.po"
    _review(flows_po, "crisis.reply")
    code, out, err = cli("texts", "import", "pl_PL", str(flows_po), "--json")
    assert code == 0, err
    with (locale_dir / "pl_PL" / "LC_MESSAGES" / "flows.po").open("rb") as fh:
        reviewed = {m.id for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    assert reviewed == {"crisis.reply"}


def test_import_refuses_a_dropped_param_or_an_unknown_key(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locale_dir = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    monkeypatch.setattr("bot.texts_cli.LOCALE_DIR", locale_dir)
    before = (locale_dir / "ur_PK" / "LC_MESSAGES" / "flows.po").read_text()
    bad = tmp_path / "flows.po"
    bad.write_text(before.replace("{emergency}", "999")
                   + '\nmsgid "no.such.key"\nmsgstr "x"\n')
    code, _out, err = cli("texts", "import", "ur_PK", str(bad))
    assert code != 0
    assert "crisis.reply: params must be" in err and "no.such.key: not an en_GB key" in err
    assert (locale_dir / "ur_PK" / "LC_MESSAGES" / "flows.po").read_text() == before


async def test_an_urdu_client_in_crisis_gets_english_contacts_and_an_urdu_note(harness: Harness) -> None:
    dana = await harness.add_officer("Dana Hughes", phone="+447700900101", chat=7001)
    client = await harness.add_client(officer=dana, phone="+447700900124")
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET language = 'ur_PK' WHERE id = ?", (client,)))
    await harness.sms("+447700900124", "میں مرنا چاہتا ہوں")
    await harness.settle()
    bodies = [m.params["Body"] for m in harness.twilio.sent("messages.create")]
    reply = next(b for b in bodies if "116 123" in b)
    assert reply.startswith("If you are not safe right now call 999")
    assert reply.endswith(english_note("ur_PK") or "?")
    esc = await harness.db.one("SELECT * FROM escalations")
    assert (esc["severity"], esc["reason"]) == ("RED", "crisis_text")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_client_add_takes_each_language(cli, lang: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("staff", "add", "--name", "Dana Hughes", "--role", "officer",
                         "--phone", "+447700900101", "--json")
    assert code == 0, err
    officer = json.loads(out)["id"]
    code, out, err = cli("client", "add", "--ref", "C-201", "--first-name", "Ana", "--officer",
                         str(officer), "--phone", "07700900127", "--language", lang, "--json")
    assert code == 0, err
    assert json.loads(out)["id"]
    code, _out, err = cli("client", "add", "--ref", "C-202", "--first-name", "Bo", "--officer",
                          str(officer), "--phone", "07700900128", "--language", "xx_XX")
    assert code != 0 and "has no texts" in err
