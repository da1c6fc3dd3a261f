"""Crisis screening in Polish, Romanian, Urdu and Punjabi (romanised and native script), on every
message whatever the client's language, through `o2r crisis check|eval` and a signed webhook.

The per-language sets tests/data/crisis/lang/<code>.tsv were written by someone else for this
purpose and are frozen (hashes below); the frame files in config/crisis_lang/ were tuned on
tests/data/crisis/lang_dev/<code>.tsv. Targets as for English: recall >= 97% overall and >= 95%
in every crisis category, false alarms <= 2%.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from flows.detector import Detector, language_files
from tests.conftest import Harness

DATA = Path(__file__).resolve().parents[1] / "data" / "crisis"
FROZEN = {
    "pl": "7c1c3b2101377ee91db6d838e6a9a7207360f2c82dc7e073a3a3dc4b2fa7dba6",
    "ro": "444c68219e673c3836196e99b2a228d913984970bc82bb6e236120bf9103f761",
    "ur": "28ee0e8a0b394db93278f2a92e24e0cf77dbf9026a650b1de027c6471388e193",
    "pa": "48575e0fc4d249471bea88ab9bddb93cecd357aa44923fc500f54d0361f0d8f8",
}
CRISIS_CATEGORIES = {"suicidal", "means", "farewell", "hopeless", "medical", "self_harm", "unsafe"}


def evaluate(cli, path: Path) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = cli("crisis", "eval", str(path), "--json")
    assert code == 0, err
    return json.loads(out)


def check(cli, text: str) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = cli("crisis", "check", text, "--json")
    assert code == 0, err
    return json.loads(out)


def test_every_language_has_a_frame_file_and_a_frozen_set() -> None:
    assert sorted(p.stem for p in language_files()) == sorted(FROZEN)
    for code, digest in FROZEN.items():
        path = DATA / "lang" / f"{code}.tsv"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
        rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
        assert sum(r[0] == "crisis" for r in rows) >= 60
        assert sum(r[0] == "ordinary" for r in rows) >= 60
        assert {r[1] for r in rows if r[0] == "crisis"} == CRISIS_CATEGORIES


@pytest.mark.parametrize("split", ["lang", "lang_dev"])
@pytest.mark.parametrize("code", sorted(FROZEN))
def test_recall_and_false_alarm_targets_per_language(cli, code: str, split: str) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(cli, DATA / split / f"{code}.tsv")
    report = "\n".join(f"{e['category']}: {e['text']}" for e in result["errors"])
    assert result["recall"] >= 0.97, report
    assert result["false_alarm_rate"] <= 0.02, report
    per = {c["category"]: c for c in result["categories"] if c["label"] == "crisis"}
    assert set(per) == CRISIS_CATEGORIES
    for category, row in per.items():
        assert row["recall"] >= 0.95, f"{category}: {row}\n{report}"


@pytest.mark.parametrize(("text", "lang", "frame"), [
    ("Zabiję się dziś w nocy", "pl", "suicidal"),  # with diacritics
    ("zabije sie dzis w nocy", "pl", "suicidal"),  # without
    ("vreau să mor", "ro", "suicidal"),
    ("m-am tăiat iar pe brațe", "ro", "self_harm"),
    ("میں مرنا چاہتا ہوں", "ur", "suicidal"),  # Urdu script
    ("ميں مرنا چاهتا هوں", "ur", "suicidal"),  # typed on an Arabic keyboard (ي ه)
    ("main mar jana chahta hun", "ur", "suicidal"),  # romanised
    ("میرے پاس ۴۰ گولیاں ہیں", "ur", "means"),  # Extended Arabic-Indic digits
    ("ਮੈਂ ਮਰਨਾ ਚਾਹੁੰਦਾ ਹਾਂ", "pa", "suicidal"),  # Gurmukhi
    ("ਮੇਰੇ ਕੋਲ ੪੦ ਗੋਲੀਆਂ ਹਨ", "pa", "means"),  # Gurmukhi digits
    ("jeen nu dil nai karda", "pa", "suicidal"),
])
def test_native_script_romanised_and_native_digits(cli, text: str, lang: str, frame: str) -> None:  # type: ignore[no-untyped-def]
    d = check(cli, text)
    assert d["crisis"] and d["language"] == lang and d["frame"] == frame, d


@pytest.mark.parametrize("text", [
    "mama mnie zabije jak sie spoznie", "mor de ras", "hans hans ke mar gaya",
    "hass hass ke mar gaya", "10 baje dawai leni hai", "phone ki battery khatam ho gayi",
])
def test_idioms_in_each_language_do_not_alert(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    assert not check(cli, text)["crisis"], text


def test_english_words_alert_only_through_the_english_frames(cli) -> None:  # type: ignore[no-untyped-def]
    # The other files leave English to the English screen and its guards.
    assert check(cli, "I want to die")["language"] == "en"
    assert not check(cli, "had naloxone training in group, got my kit now")["crisis"]


def test_a_new_language_is_one_file(tmp_path: Path) -> None:
    spec = {
        "language": {"code": "xx", "name": "Test"},
        "classes": {"SELF": ["myself_xx"]},
        "frames": {"suicidal": {"label": "wants to die", "patterns": ["vrrp* {SELF}"]}},
    }
    d = Detector(spec)
    found = d.screen("VRRPING myself_xx")
    assert found is not None and (found.lang, found.frame) == ("xx", "suicidal")
    assert d.screen("vrrp someone") is None


async def test_a_polish_crisis_from_a_client_set_to_english_alerts_red(harness: Harness) -> None:
    dana = await harness.add_officer("Dana Hughes", phone="+447700900101", chat=7001)
    await harness.add_client(officer=dana, phone="+447700900123")
    await harness.sms("+447700900123", "nie chce juz zyc, mam odlozone tabletki")
    await harness.settle()
    body = " ".join(m.params["Body"] for m in harness.twilio.sent("messages.create"))
    assert "999" in body and "116 123" in body
    esc = await harness.db.one("SELECT * FROM escalations")
    assert (esc["severity"], esc["reason"]) == ("RED", "crisis_text")
