"""The LANGUAGE keyword (pure): "LANGUAGE" alone asks for the menu of languages; "LANGUAGE 4",
"LANGUAGE urdu", "zaban اردو" choose one. Local words for "language" and the languages' own
names count, and so do native digits, whatever the client's set language."""

from __future__ import annotations

from flows.detector import prenormalise_native

LANGUAGE_WORDS = frozenset({"language", "lang", "jezyk", "limba", "zaban", "zabaan", "زبان",
                            "bhasha", "boli", "ਭਾਸ਼ਾ", "ਬੋਲੀ"})
# In menu order: the number is the position.
CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("en_GB", ("english", "angielski", "engleza", "angrezi", "انگریزی", "ਅੰਗਰੇਜ਼ੀ")),
    ("pl_PL", ("polski", "polish", "polska")),
    ("ro_RO", ("romana", "romanian", "romaneste")),
    ("ur_PK", ("urdu", "اردو")),
    ("pa_IN", ("punjabi", "panjabi", "ਪੰਜਾਬੀ")),
)


def language_request(text: str) -> tuple[str, str | None] | None:
    """None: not the keyword (it must be alone, or with one choice). ("menu", None): show the
    languages. ("set", locale)."""
    words = "".join(ch if ch.isalnum() or ch in "\u0a3e\u0a3f\u0a40\u0a41\u0a42\u0a47\u0a48"
                    "\u0a4b\u0a4c\u0a4d" else " " for ch in prenormalise_native(text)).split()
    if not words or words[0] not in {prenormalise_native(w) for w in LANGUAGE_WORDS}:
        return None
    rest = " ".join(words[1:])
    if not rest:
        return ("menu", None)
    for n, (locale, names) in enumerate(CHOICES, 1):
        if rest == str(n) or rest in {prenormalise_native(x) for x in names}:
            return ("set", locale)
    return None  # "language barrier at work..." is words for a person, not the keyword
