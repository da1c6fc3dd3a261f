"""The LANGUAGE keyword (pure): "LANGUAGE" alone asks for the menu of languages; "LANGUAGE 4",
"LANGUAGE urdu", "zaban اردو" choose one. Local words for "language", each language's name in
English and in itself (from CLDR through Babel, so a new catalog folder is offered without a
code change) and native digits count, whatever the client's set language."""

from __future__ import annotations

from collections.abc import Sequence

from babel import Locale

from flows.detector import prenormalise_native, words

LANGUAGE_WORDS = frozenset({"language", "lang", "jezyk", "limba", "zaban", "zabaan", "زبان",
                            "bhasha", "boli", "ਭਾਸ਼ਾ", "ਬੋਲੀ", "ভাষা"})
# Other names clients use for a language, beside CLDR's English and own names.
EXTRA_NAMES = {"en": ("angielski", "engleza", "angrezi", "انگریزی", "ਅੰਗਰੇਜ਼ੀ"),
               "pa": ("panjabi",), "pl": ("polska",), "ro": ("romaneste",)}


def menu_order(locales: Sequence[str]) -> list[str]:
    """en_GB first, then the others in code order: the numbers of the menu."""
    return sorted(locales, key=lambda loc: (loc != "en_GB", loc))


def own_name(locale: str) -> str:
    """"اردو" for ur_PK: the language named in itself, as the menu shows it."""
    loc = Locale.parse(locale)
    return str(loc.get_language_name(loc.language))


def _names(locale: str) -> set[str]:
    loc = Locale.parse(locale)
    names = {own_name(locale), str(loc.get_language_name("en")), *EXTRA_NAMES.get(loc.language, ())}
    return {" ".join(words(prenormalise_native(n), marks=True)) for n in names}


def language_request(text: str, locales: Sequence[str]) -> tuple[str, str | None] | None:
    """None: not the keyword (it must be alone, or with one choice). ("menu", None): show the
    languages. ("set", locale)."""
    ws = words(prenormalise_native(text), marks=True)
    if not ws or ws[0] not in {prenormalise_native(w) for w in LANGUAGE_WORDS}:
        return None
    rest = " ".join(ws[1:])
    if not rest:
        return ("menu", None)
    for n, locale in enumerate(menu_order(locales), 1):
        if rest == str(n) or rest in _names(locale):
            return ("set", locale)
    return None  # "language barrier at work..." is words for a person, not the keyword
