"""Each language's AMBER net (`[amber]` in config/crisis_lang/<code>.toml, `Screens.amber`):
broad words for the messages the crisis frames did not fire on."""

from __future__ import annotations

import tomllib

import pytest

from flows.detector import Detector, language_files
from flows.intents import possible_crisis, screen


def test_every_language_file_has_an_amber_net() -> None:
    # Adding a language (docs/translations.md) includes its AMBER list.
    for path in language_files():
        with path.open("rb") as fh:
            amber = tomllib.load(fh).get("amber", {})
        assert len(amber.get("words", ())) >= 50, path


@pytest.mark.parametrize(("text", "lang", "words"), [
    ("tabletki mam przy sobie", "pl", "tabletki"),       # "I have the pills on me"
    ("Tabletki mam przy sobie.", "pl", "tabletki"),
    ("pastilele sunt pe masa", "ro", "pastilele"),       # "the pills are on the table"
    ("goliyan mere paas hain", "ur", "goliyan"),         # romanised Urdu
    ("گولیاں میرے پاس ہیں", "ur", "goliyan"),              # Urdu script, read through its lexicon
    ("ਗੋਲੀਆਂ ਮੇਰੇ ਕੋਲ ਨੇ", "pa", "goliyan"),               # Gurmukhi
    ("ਮੈਨੂੰ ਡਰ ਲੱਗਦਾ ਹੈ", "pa", "dar ਲਗਦਾ"),               # "I am afraid": a native-script phrase
    ("مجھے ڈر لگتا ہے", "ur", "dar لگتا"),
])
def test_the_net_catches_what_the_screen_does_not(text: str, lang: str, words: str) -> None:
    assert screen(text) is None
    found = possible_crisis(text)
    assert found is not None
    assert (found.lang, found.words, found.frame, found.source) == (lang, words, "possible",
                                                                    "amber")
    name = {"pl": "Polish", "ro": "Romanian", "ur": "Urdu", "pa": "Punjabi"}[lang]
    assert found.label == f"possible crisis words in {name}: the screen was not sure"


@pytest.mark.parametrize("text", [
    "chce umrzec",                      # RED: the screen fired, the net is not asked
    "umieram ze smiechu",               # the frames' idiom guards hold for the net too
    "3 lata temu chcialem sie zabic, teraz jest dobrze",  # and so do their history guards
    "mor de foame",                     # a Romanian idiom ("starving")
    "tableta mea e sparta",             # a Romanian tablet computer, not pills
    "I need more time",                 # English: Romanian "mor*" must not read "more"
    "can we move thursday, the bus is late",
    "ok",
    "note 112",                         # numbers are answers and amounts, not crisis words
    "999",
    "",
])
def test_the_net_stays_quiet(text: str) -> None:
    assert possible_crisis(text) is None


def test_except_blanks_ordinary_phrases_first() -> None:
    spec = {"language": {"code": "xx", "name": "Test"},
            "frames": {"suicidal": {"patterns": ["zzzz"]}},
            "amber": {"words": ["tabl*", "noc"], "except": ["tablet", "dobra noc"]}}
    d = Detector(spec)
    assert d.amber("mam tabletki") == "tabletki"
    assert d.amber("moj tablet") is None
    assert d.amber("dobra noc wszystkim") is None
    assert d.amber("ta noc") == "noc"
    assert Detector({**spec, "amber": {}}).amber("mam tabletki") is None
