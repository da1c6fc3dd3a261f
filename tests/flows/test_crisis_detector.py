"""The crisis screen (frames + reviewed phrases) through `o2r crisis check` / `o2r crisis eval`.

The labelled corpus is split before tuning: tests/data/crisis/dev.tsv is the part the frames
were tuned on; tests/data/crisis/test.tsv was written first and is frozen (its hash is below).
Targets (issue: crisis detection that generalises): recall >= 97% overall and >= 95% in every
crisis category, false alarms <= 2% on ordinary messages.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crisis"
TEST_SPLIT = DATA / "test.tsv"
DEV_SPLIT = DATA / "dev.tsv"
# The frozen test split. Never edit the file; a new corpus gets a new file and a new hash.
TEST_SPLIT_SHA256 = "d21c1ad4e65e5bff75b7037d9637d05cddb75b75cde7fa47089f2fa5174cba27"
CRISIS_CATEGORIES = {"suicidal", "means", "farewell", "hopeless", "medical", "self_harm", "unsafe"}
ORDINARY_CATEGORIES = {"checkin", "idiom", "recovery", "logistics", "banter"}


def check(cli, text: str) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = cli("crisis", "check", text, "--json")
    assert code == 0, err
    return json.loads(out)


def evaluate(cli, path: Path) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = cli("crisis", "eval", str(path), "--json")
    assert code == 0, err
    return json.loads(out)


def test_test_split_is_frozen_and_big_enough() -> None:
    assert hashlib.sha256(TEST_SPLIT.read_bytes()).hexdigest() == TEST_SPLIT_SHA256
    for split in (TEST_SPLIT, DEV_SPLIT):
        rows = [line.split("\t") for line in split.read_text().splitlines()[1:] if line.strip()]
        assert len(rows) >= 360, split
        labels = {(r[0], r[1]) for r in rows}
        assert {c for lab, c in labels if lab == "crisis"} == CRISIS_CATEGORIES
        assert {c for lab, c in labels if lab == "ordinary"} == ORDINARY_CATEGORIES


@pytest.mark.parametrize("split", [TEST_SPLIT, DEV_SPLIT], ids=["test", "dev"])
def test_recall_and_false_alarm_targets(cli, split: Path) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(cli, split)
    report = "\n".join(f"{e['category']}: {e['text']}" for e in result["errors"])
    assert result["recall"] >= 0.97, report
    assert result["false_alarm_rate"] <= 0.02, report
    per = {c["category"]: c for c in result["categories"] if c["label"] == "crisis"}
    assert set(per) == CRISIS_CATEGORIES
    for category, row in per.items():
        assert row["recall"] >= 0.95, f"{category}: {row}\n{report}"


@pytest.mark.parametrize("text", [
    "sucide", "no reason to live", "thinking of ending things", "i cant do this no more",
    "i am suі\u0441idal",  # Cyrillic і and с
    "sui\u00adcidal",  # soft hyphen
    "kill\u200d my\u2060self",  # zero-width joiner, word joiner
    "I WANT TO DIIIIE", "wanna b dead", "kms",
])
def test_misses_named_in_the_issue_now_alert(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    assert check(cli, text)["crisis"], text


@pytest.mark.parametrize("text", [
    "goodbye see you thursday", "what's the point of the bus", "I'll end it with her tonight",
    "blade runner was good", "dying of boredom here", "I'd kill for a brew",
])
def test_false_alarms_named_in_the_issue_are_gone(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    assert not check(cli, text)["crisis"], text


@pytest.mark.parametrize(("text", "frame"), [
    ("dying of boredom so took 40 paracetamol", "means"),
    ("I'd kill for a brew, got 30 tablets lined up", "means"),
    ("bye for now, he's gone blue", "medical"),
    ("killing it at the gym lol but my mate wont wake up", "medical"),
])
def test_idioms_never_hide_a_means_or_medical_frame(cli, text: str, frame: str) -> None:  # type: ignore[no-untyped-def]
    found = check(cli, text)
    assert found["crisis"] and found["frame"] == frame, found


@pytest.mark.parametrize("text", [
    "I don't want to die", "im not suicidal", "not going to hurt myself", "i would never jump off the bridge",
])
def test_negation_stays_a_match(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    assert check(cli, text)["crisis"], text


@pytest.mark.parametrize(("text", "frame"), [
    ("she overdosed", "medical"), ("he's overdosing", "medical"),
    ("i hanged myself once and will again", "suicidal"),
    ("i cut myself", "self_harm"), ("been cutting myself", "self_harm"), ("they beat me", "unsafe"),
    ("he is beating me", "unsafe"), ("ive been hurting myself", "self_harm"),
])
def test_tense_and_person_variants_meet_one_frame(cli, text: str, frame: str) -> None:  # type: ignore[no-untyped-def]
    found = check(cli, text)
    assert found["crisis"], text
    assert found["frame"] in (frame, "suicidal", "means", "self_harm"), found


def test_check_explains_in_plain_language(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("crisis", "check", "got 32 of my tablets lined up for tonight")
    assert code == 0
    assert "CRISIS" in out and "means" in out and "tablets" in out
    code, out, _ = cli("crisis", "check", "7 good day")
    assert code == 0 and out.startswith("No crisis alert")


def test_eval_reports_per_category_for_an_operators_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "mine.tsv"
    f.write_text("label\tcategory\ttext\n"
                 "crisis\tsuicidal\ti want to end my life\n"
                 "crisis\tmeans\tbought a box of nothing\n"
                 "ordinary\tbanter\tlovely day\n"
                 "ordinary\tidiom\tmy mum will kill me if im late\n")
    result = evaluate(cli, f)
    assert result["crisis_messages"] == 2 and result["ordinary_messages"] == 2
    per = {c["category"]: c for c in result["categories"]}
    assert per["suicidal"]["recall"] == 1.0
    assert per["means"]["flagged"] == 0
    assert result["recall"] == 0.5 and result["false_alarm_rate"] == 0.0
    code, out, _ = cli("crisis", "eval", str(f), "--show-errors")
    assert "bought a box of nothing" in out and "recall 50.0%" in out
    f.write_text("crisis\tonly two columns\n")
    code, _, err = cli("crisis", "eval", str(f))
    assert code == 1 and "line 1" in err
