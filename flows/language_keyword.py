"""Choosing a language (pure): the LANGUAGE keyword ("LANGUAGE" alone asks for the menu of
languages; "LANGUAGE 4", "LANGUAGE urdu", "zaban اردو" choose one) and the onboarding question
(`choose_language`). Local words for "language", each language's name in English and in itself
(from CLDR through Babel, so a new catalog folder is offered without a code change) and native
digits count, whatever the client's set language. The languages are the catalog folders under
config/locale (`catalog_locales`), numbered by `menu_order` in both places."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from babel import Locale

from config.paths import LOCALE_DIR
from flows.detector import prenormalise_native, words

LANGUAGE_WORDS = frozenset({"language", "lang", "jezyk", "limba", "zaban", "zabaan", "زبان",
                            "bhasha", "boli", "ਭਾਸ਼ਾ", "ਬੋਲੀ", "ভাষা"})
# Other names clients use for a language, beside CLDR's English and own names.
EXTRA_NAMES = {"en": ("angielski", "engleza", "angrezi", "انگریزی", "ਅੰਗਰੇਜ਼ੀ"),
               "pa": ("panjabi",), "pl": ("polska",), "ro": ("romaneste",),
               "bn": ("bengali", "bangla")}
# Onboarding: a language we have no texts for. The officer is told (a routine finding).
OTHER = "other"
OTHER_WORDS = frozenset({"other", "another", "another language", "something else", "none",
                         "different", "arabic", "somali", "kurdish", "portuguese", "bengali",
                         "bangla", "sylheti", "farsi", "pashto", "tigrinya", "lithuanian",
                         "gujarati", "hindi", "french", "spanish", "albanian", "czech",
                         "slovak", "hungarian", "bulgarian", "russian", "ukrainian"})


def catalog_locales() -> list[str]:
    """The locales with a catalog folder (config/locale/<code>/LC_MESSAGES): the languages a
    client may choose. Read each call; `bot.core.texts.available_locales` caches it."""
    return sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())


def menu_order(locales: Sequence[str]) -> list[str]:
    """en_GB first, then the others in code order: the numbers of the menu."""
    return sorted(locales, key=lambda loc: (loc != "en_GB", loc))


def own_name(locale: str) -> str:
    """"اردو" for ur_PK: the language named in itself, as the menu shows it."""
    loc = Locale.parse(locale)
    name = str(loc.get_language_name(loc.language))
    return name[:1].upper() + name[1:]  # CLDR writes "polski", "română"; a list says "Polski"


def menu_lines(locales: Sequence[str], sep: str = "\n") -> str:
    """"1 English\n2 ਪੰਜਾਬੀ\n3 Polski...": each language by its number and its own name."""
    return sep.join(f"{n} {own_name(loc)}" for n, loc in enumerate(menu_order(locales), 1))


@lru_cache(maxsize=64)
def _names(locale: str) -> frozenset[str]:
    loc = Locale.parse(locale)
    names = {own_name(locale), str(loc.get_language_name("en")), *EXTRA_NAMES.get(loc.language, ())}
    return frozenset(" ".join(words(prenormalise_native(n), marks=True)) for n in names)


def _pick(rest: str, locales: Sequence[str]) -> str | None:
    """The locale `rest` (normalised words) names whole: its menu number or one of its names."""
    for n, locale in enumerate(menu_order(locales), 1):
        if rest == str(n) or rest in _names(locale):
            return locale
    return None


def choose_language(text: str, locales: Sequence[str]) -> str | None:
    """The onboarding answer: a locale, OTHER (a number after the list, or a language or word
    we have no texts for), or None (not understood). A name may come with other words
    ("polski prosze", "urdu please") when it is the only language named."""
    ws = words(prenormalise_native(text), marks=True)
    if not ws:
        return None
    rest = " ".join(ws)
    if rest == str(len(locales) + 1):
        return OTHER
    exact = _pick(rest, locales)
    if exact is not None:
        return exact
    padded = f" {rest} "
    named = {loc for loc in locales for name in _names(loc) if f" {name} " in padded}
    if len(named) == 1:
        return named.pop()
    if not named and any(f" {w} " in padded for w in OTHER_WORDS):
        return OTHER
    return None


def language_request(text: str, locales: Sequence[str]) -> tuple[str, str | None] | None:
    """None: not the keyword (it must be alone, or with one choice). ("menu", None): show the
    languages. ("set", locale)."""
    ws = words(prenormalise_native(text), marks=True)
    if not ws or ws[0] not in {prenormalise_native(w) for w in LANGUAGE_WORDS}:
        return None
    rest = " ".join(ws[1:])
    if not rest:
        return ("menu", None)
    locale = _pick(rest, locales)
    # "language barrier at work..." is words for a person, not the keyword
    return None if locale is None else ("set", locale)
