"""Global intents: crisis first (anywhere, tolerant matching), then keywords, then call-me."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.paths import config_file
from flows.crisis import CATEGORIES, load_crisis_config
from flows.intents import Intent, classify, detect, normalise

CONFIG = load_crisis_config()
PHRASES = CONFIG.phrases


def intent(text: str, **kw: bool) -> Intent | None:
    return detect(text, PHRASES, **kw)


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", "Stop.", " STOP ", "StopAll", "UNSUBSCRIBE", "cancel", "END", "quit!",
     "/stop", "/stop@o2r_helper_bot"],
)
def test_opt_out(text: str) -> None:
    assert intent(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text", ["stop texting me at work", "don't stop", "please stop", "the end", "stopped"]
)
def test_opt_out_only_when_sent_alone(text: str) -> None:
    assert intent(text) is not Intent.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "/start"])
def test_opt_in(text: str) -> None:
    assert intent(text) is Intent.OPT_IN


def test_start_with_a_code_is_linking_and_yes_is_an_answer() -> None:
    assert intent("/start AB12CD") is None
    assert intent("YES") is None


@pytest.mark.parametrize("text", ["HELP", "help", "Help?", "/help", "info"])
def test_help_alone(text: str) -> None:
    assert intent(text) is Intent.HELP


@pytest.mark.parametrize(
    "text",
    ["call me", "Can someone call me please", "ring me", "pls phone me", "can you ring",
     "give me a call later", "help me", "I want to talk to someone", "call me back x"],
)
def test_callback(text: str) -> None:
    assert intent(text) is Intent.CALLBACK


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "i want to die",
        "I want to diiiiie",
        "wanna die",
        "KILL MYSELF",
        "kill  myself",
        "kill-myself",
        "killmyself",
        "gonna kill meself",
        "I can't go on",
        "i cant go on",
        "I can not go on",
        "I cannot go on",
        "I can\u2019t do this anymore",
        "cant do this any more",
        "I'm going to end it all",
        "better off dead",
        "no point living",
        "what's the point",
        "whats the point",
        "I took all my pills",
        "\U0001f48a\U0001f48a\U0001f48a",
        "\U0001f48a\ufe0f",
        "he's gone over",
        "Gone over!!",
        "mate OD'd", "my mate o.d.",
        "I OD\u2019d last night",
        "OD",
        "she's not breathing",
        "he won't wake up",
        "he wont wake",
        "turning blue",
        "need naloxone",
        "bad batch going round",
        "first time since rehab",
        "I'm not safe",
        "someone's hurting me",
        "suicidal",
        "goodbye",
        "I don't want to be here",
        "I don't want to die",  # negation is deliberately not handled (§5.3 rule 2)
    ],
)
def test_crisis_phrases(text: str) -> None:
    assert intent(text) is Intent.CRISIS, text


@pytest.mark.parametrize(
    "text",
    ["over", "7 over", "it's over", "I'm over the moon", "game over", "that's odd", "odd",
     "I'm tired", "ok", "7", "no", "I had a bad day", "see you at the train station",
     "I cut my hair", "hang on", "I went to the bridge club", "I take pills for my back",
     "going to the end of the road", "the ending was good", "Safe thanks", "spend it all",
     "stop", "help"],
)
def test_not_crisis(text: str) -> None:
    assert intent(text) is not Intent.CRISIS, text


@pytest.mark.parametrize(
    "text",
    ["7 I want to end it all", "10 but i wanna die", "7", "STOP I want to die",
     "stop. kill myself", "2 need naloxone"],
)
def test_crisis_anywhere_and_beats_stop(text: str) -> None:
    expected = None if text == "7" else Intent.CRISIS
    assert intent(text) is expected


def test_crisis_beats_callback() -> None:
    assert intent("call me I want to die") is Intent.CRISIS


def test_help_or_call_me_while_a_safety_question_is_pending_is_crisis() -> None:
    for text in ("help", "HELP!", "call me", "can someone call"):
        found = classify(text, PHRASES, safety_question_pending=True)
        assert found is not None and found.intent is Intent.CRISIS
        assert found.category == "safety"
    assert intent("help", safety_question_pending=False) is Intent.HELP
    assert intent("STOP", safety_question_pending=True) is Intent.OPT_OUT


def test_classify_names_phrase_and_category() -> None:
    found = classify("he's gone over", PHRASES)
    assert found is not None
    assert (found.intent, found.phrase, found.category) == (Intent.CRISIS, "gone over", "overdose")


@pytest.mark.parametrize(("phrase", "category"), list(PHRASES.crisis))
def test_every_configured_phrase_matches_itself_in_a_sentence(phrase: str, category: str) -> None:
    for text in (phrase, phrase.upper(), f"well... {phrase}!!", f"7 {phrase} x"):
        found = classify(text, PHRASES)
        assert found is not None and found.intent is Intent.CRISIS, text


@pytest.mark.parametrize("phrase", list(PHRASES.callback))
def test_every_callback_phrase_matches(phrase: str) -> None:
    assert intent(f"hi {phrase} thanks") in (Intent.CALLBACK, Intent.CRISIS)


def test_phrase_list_is_reviewed_data() -> None:
    cats = {c for _, c in PHRASES.crisis}
    assert cats == set(CATEGORIES)
    words = {normalise(p) for p, _ in PHRASES.crisis}
    assert "over" not in words and "gone over" in words


def test_normalise() -> None:
    text = "I CAN\u2019T  go on!!! \U0001f48a\ufe0f meself"
    assert normalise(text) == "i cant go on \U0001f48a myself"
    assert normalise("") == ""


def test_default_phrases_come_from_config() -> None:
    assert detect("I want to die") is Intent.CRISIS
    assert detect("7") is None


def test_config_errors(tmp_path: Path) -> None:
    text = config_file("crisis.toml").read_text()
    path = tmp_path / "crisis.toml"
    for broken, match in (
        (text.replace('"116 123"\nverified = true', '"116 123"\nverified = false'), "not verified"),
        (text.replace("[contacts.shout]", "[contacts.shout_old]"), "missing"),
        (text.replace("ideation = [", "feelings = ["), "categories"),
    ):
        path.write_text(broken)
        with pytest.raises(ValueError, match=match):
            load_crisis_config(path)


# The router and the flow engine both screen each message; the second look reuses the first.

def test_screening_the_same_text_twice_gives_the_same_answer_and_a_new_text_is_screened_afresh(
) -> None:
    crisis = "i cant go on any more"
    ordinary = "7"
    assert detect(crisis, PHRASES) is Intent.CRISIS
    assert detect(crisis, PHRASES) is Intent.CRISIS
    assert detect(ordinary, PHRASES) is None
    assert detect(crisis, PHRASES) is Intent.CRISIS
    # A different phrase list is a different screen: its answer is its own.
    other = load_crisis_config().phrases
    found = classify(crisis, other)
    assert found is not None and found.intent is Intent.CRISIS
    assert detect(ordinary, other) is None


def test_a_started_service_has_its_crisis_screens_compiled_before_the_first_message(
        tmp_path: Path) -> None:
    import asyncio

    from bot.service import Service
    from flows import intents
    from tests.conftest import test_settings

    intents._compile.cache_clear()
    intents._last[:] = [None, None]
    service = Service(test_settings(tmp_path / "o2r.db", None, None))

    async def start_stop() -> None:
        await service.start()
        await service.stop()

    asyncio.run(start_stop())
    assert intents._compile.cache_info().currsize == 1
    assert intents._last[0] is load_crisis_config().phrases
