"""The reviewed risk-language list (config/risk_language.toml) and its matcher."""

from flows.risk_language import is_more_than_a_typo, load, match


def test_the_issue_message_is_use_language() -> None:
    assert match("cant sleep, thinking about using") == ["use"]
    assert match("Can't sleep. Thinking about USING.") == ["use"]


def test_each_category_has_phrases_and_matches_whole_words() -> None:
    cats = load()
    assert set(cats) == {"use", "relapse", "craving", "housing", "arrest", "violence"}
    assert match("I got evicted today") == ["housing"]
    assert match("got nicked last night") == ["arrest"]
    assert match("he hit me") == ["violence"]
    assert match("scoreboard was good") == []  # "score" inside a word is not a match
    assert match("see you at the group") == []


def test_typo_or_words() -> None:
    assert not is_more_than_a_typo("t")
    assert not is_more_than_a_typo("55")
    assert is_more_than_a_typo("He seemed low and talked about using again")
    assert is_more_than_a_typo("whatever")
