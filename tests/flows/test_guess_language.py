"""The language a client's words look like, for the panel: by script for Gurmukhi and Urdu
script, by the screens' word lists for Latin script (romanised Urdu and Punjabi told apart by
their everyday words), nothing when nothing stands out."""

from __future__ import annotations

import pytest

from flows.detector import parse_rows
from flows.intents import guess_language
from tests.flows.test_crisis_languages import DATA


@pytest.mark.parametrize(("text", "expected"), [
    ("ਅੱਜ ਠੀਕ ਹਾਂ ਜੀ", "pa-Guru"), ("آج میں ٹھیک ہوں، شکریہ", "ur"),
    ("nie wiem co robic, jestem zmeczony", "pl"), ("azi e mai bine, multumesc", "ro"),
    ("aaj mujhe bohat acha lag raha hai", "ur-Latn"), ("ajj mainu bahut changa lagda", "pa-Latn"),
    ("feeling a bit better today thanks", "en"), ("7", None), ("👍", None),
])
def test_guess_language(text: str, expected: str | None) -> None:
    assert guess_language(text) == expected


# Measured: pl 87%, ro 91%, ur 95%, pa 95%, English test set 95% right; the rest mostly
# "unknown" ("7", "lol ok"), 0-4% another language.
@pytest.mark.parametrize(("path", "guesses", "share"), [
    ("lang/pl", {"pl"}, 0.85), ("lang/ro", {"ro"}, 0.88),
    ("lang/ur", {"ur", "ur-Latn", "ur+pa-Latn"}, 0.92),
    ("lang/pa", {"pa-Guru", "pa-Latn", "ur+pa-Latn", "pa-Arab"}, 0.92), ("test", {"en"}, 0.92),
])
def test_most_of_a_languages_set_is_guessed_as_that_language(
        path: str, guesses: set[str], share: float) -> None:
    rows = parse_rows((DATA / f"{path}.tsv").read_text(encoding="utf-8"))
    guessed = [guess_language(r.text) for r in rows]
    right = sum(g in guesses for g in guessed)
    wrong = sum(g is not None and g not in guesses for g in guessed)
    assert right / len(rows) >= share, f"{path}: {right}/{len(rows)}"
    assert wrong / len(rows) <= 0.05, f"{path}: {wrong} guessed as another language"
