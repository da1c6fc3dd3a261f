"""Crisis screen built from frames (config/crisis_frames.toml) as well as the reviewed phrases.

Pure: text in, a `Screen` (frame, plain-language label, the matched words) or None out.

Pipeline, all compiled once per process (`default_detector()` is cached):
1. Pre-normalise: invisible format characters (Unicode Cf: soft hyphen, zero-width joiners,
   word joiner) dropped, NFKC, lower case, look-alike letters folded to Latin with Unicode's
   confusables data (confusable_homoglyphs), so a Cyrillic "і" cannot hide "suicidal".
2. Clauses (split on punctuation) of words; emoji stay as words.
3. Text-speak and slang lexicon ("wanna", "kms", "sh", "tabs"), letters stretched 3+ times
   squashed ("diiiie"), and spelling tolerance for words of 5+ letters that neither the
   English dictionary (simplemma) nor the frame vocabulary knows: nearest vocabulary word by
   Levenshtein distance (rapidfuzz), same first letter, 1 edit (2 from 9 letters).
4. Lemmas (simplemma) alongside the surface words: every pattern is tried on both, so tense
   and person variants ("killed", "kills", "overdosing") meet one frame word.
5. Guards blank idioms and ordinary senses, and clauses that speak only of the past, but only
   for the guarded frames; means and medical frames always see the whole message.
Negation is never a guard.

Other languages (Polish, Romanian, Urdu, Punjabi...) have a frame file each in
config/crisis_lang/<code>.toml, in the same pattern language, with a `[language]` table. Every
message is screened by English and by every language (`Screens`), whatever the client's set
language: people switch languages, and a crisis is written in the language that comes first.
Those detectors fold diacritics (clients text "zabic" for "zabić"), keep Gurmukhi vowel signs,
unify Arabic/Urdu letter variants, read native digits as ASCII, and use stems (`zabi*`) instead
of a lemmatiser (none is good enough for diacritic-less or romanised text).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import simplemma
from confusable_homoglyphs import confusables
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from config.paths import config_file

FRAMES_TOML = config_file("crisis_frames.toml")
LANG_DIR = config_file("crisis_lang")
# Search order, after the reviewed phrases (which keep their own categories): the frames that
# set the fastest response first (they are never guarded).
FRAME_ORDER = ("means", "medical", "suicidal", "self_harm", "unsafe", "farewell", "hopeless")
# The older phrase categories, told as frames.
PHRASE_FRAME = {"ideation": "suicidal", "method": "means", "overdose": "medical",
                "safety": "unsafe"}
UNGUARDED_PHRASES = frozenset({"method", "overdose"})

_APOSTROPHES = "\u2019\u2018\u02bc`\u00b4"
_ODED = re.compile(r"(?<!\w)od'(?:e?d)(?!\w)")
_OD_DOTS = re.compile(r"(?<!\w)o\.d\.?(?!\w)")
_SKIN_TONES = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_CLAUSE = re.compile(r"[.,;:!?\n]+|\s(?:but|though|although)\s")
_STRETCH = re.compile(r"(\w)\1{2,}")
_DOUBLE = re.compile(r"(\w)\1")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
# Words too common to pick a pattern by (see Detector._anchors).
_EVERYDAY = frozenset("""i me my a an the to of in on at it is be am are was were and or but
not no dont cant wont do so for with this that he she they them him her you your we just
have has had got get going go all up out off now""".split())
GAP, WIDE_GAP = r"(?:\S+ ){0,3}", r"(?:\S+ ){0,6}"
# Scripts whose letters must never be folded to Latin look-alikes (Arabic alef is "l" to the
# confusables data), and Gurmukhi's nasal and gemination marks, which clients add or leave out.
_NATIVE_SCRIPTS = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0x0A00, 0x0A7F))
_GURMUKHI_OPTIONAL = frozenset("\u0a01\u0a02\u0a3c\u0a70\u0a71")
# Urdu and Gurmukhi punctuation (، ؛ ؟ ۔ । ॥) ends a clause like its Latin equivalent.
_NATIVE_STOPS = "[\u060c\u061b\u061f\u06d4\u0964\u0965]+|"
# Arabic-keyboard letters to their Urdu forms; ł has no decomposition.
_LETTER_VARIANTS = {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9",
                    "\u0647": "\u06c1", "\u0629": "\u06c1", "\u06c3": "\u06c1",
                    "\u0142": "l", "\u0640": ""}


@dataclass(frozen=True)
class Screen:
    frame: str  # suicidal | means | farewell | hopeless | medical | self_harm | unsafe
    # (or "possible": a language's AMBER net, `Screens.amber`, source "amber")
    label: str  # the frame in plain language, for officers
    category: str  # the older category: ideation | method | overdose | safety
    words: str  # the client's words that fired it
    source: str = "frame"  # "frame" or "phrase" (config/crisis.toml)
    lang: str = "en"  # the frame file that fired: en, pl, ro, ur, pa...


@lru_cache(maxsize=1)
def _latin_fold() -> dict[int, str]:
    """Non-ASCII letters that Unicode lists as confusable with one ASCII letter or digit."""
    table: dict[int, str] = {}
    for char, glyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        for g in glyphs:
            c = g.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[ord(char)] = c.lower()
                break
    return table


@lru_cache(maxsize=1)
def _native_fold() -> dict[int, str]:
    """The fold for the other languages: look-alikes outside the native scripts, Urdu letter
    variants, and native digits (Urdu, Arabic-Indic, Gurmukhi, Devanagari) as ASCII."""
    table = {k: v for k, v in _latin_fold().items()
             if not any(a <= k <= b for a, b in _NATIVE_SCRIPTS)}
    table.update({ord(k): v for k, v in _LETTER_VARIANTS.items()})
    for start in (0x0660, 0x06F0, 0x0A66, 0x0966):
        table.update({start + d: str(d) for d in range(10)})
    return table


@lru_cache(maxsize=64)  # every language's detector folds the same message
def prenormalise_native(text: str) -> str:
    """`prenormalise` for the other languages: diacritics and vowel marks of Latin and Arabic
    script dropped (clients often leave them out), Gurmukhi vowel signs kept."""
    if text.isascii():  # the common case: nothing to fold
        return text.lower().replace("'", "").replace("`", "")
    t = "".join(ch for ch in (text or "") if unicodedata.category(ch) != "Cf")
    t = unicodedata.normalize("NFD", _SKIN_TONES.sub("", unicodedata.normalize("NFKC", t)
                                                     .lower()))
    t = "".join(ch for ch in t if unicodedata.category(ch) != "Mn"
                or ("\u0a00" <= ch <= "\u0a7f" and ch not in _GURMUKHI_OPTIONAL))
    t = unicodedata.normalize("NFC", t).translate(_native_fold())
    for a in _APOSTROPHES:
        t = t.replace(a, "'")
    return t.replace("'", "")


def _script(ch: str) -> str | None:
    """"latin", "arabic" (Urdu, Shahmukhi), "gurmukhi", "symbol" (emoji), else None (digits,
    punctuation, marks)."""
    if ch.isascii():
        return "latin" if ch.isalpha() else None
    if any(a <= ord(ch) <= b for a, b in _NATIVE_SCRIPTS[:3]):
        return "arabic" if ch.isalpha() else None
    if "\u0a00" <= ch <= "\u0a7f":
        return "gurmukhi" if ch.isalpha() else None
    category = unicodedata.category(ch)
    return "symbol" if category[0] == "S" else "other" if category[0] == "L" else None


@lru_cache(maxsize=64)
def message_scripts(text: str) -> frozenset[str] | None:
    """The scripts of a message's letters after folding (look-alikes are Latin), for skipping
    the screens that cannot read it; None (every screen) for plain ASCII, or when it holds
    emoji or letters of another script."""
    folded = prenormalise_native(text)
    if folded.isascii():
        return None
    found = {_script(ch) for ch in folded} - {None}
    return None if not found or found & {"symbol", "other"} else frozenset(found)  # type: ignore[return-value]


def prenormalise(text: str) -> str:
    """Lower case, invisible characters gone, look-alikes folded, apostrophes dropped."""
    t = text or ""
    if t.isascii():  # the common case: nothing invisible, nothing to fold
        t = t.lower()
    else:
        t = "".join(ch for ch in t if unicodedata.category(ch) != "Cf")
        t = _SKIN_TONES.sub("", unicodedata.normalize("NFKC", t).lower())
        t = t.translate(_latin_fold())
    for a in _APOSTROPHES:
        t = t.replace(a, "'")
    # "OD'd" is unambiguous only while it has its apostrophe ("odd" is a word); "O.D." too.
    t = _OD_DOTS.sub("od", _ODED.sub("oded", t))
    return t.replace("'", "")


def words(clause: str, marks: bool = False) -> list[str]:
    """Letters and digits as words; emoji as words of their own; the rest is a gap. With
    `marks`, combining vowel signs (Gurmukhi) stay inside their word."""
    if clause.isascii():  # the common case, same result: ASCII letters and digits
        return _ASCII_WORD.findall(clause)
    out: list[str] = []
    for ch in clause:
        if ch.isalnum() or (marks and unicodedata.category(ch) in ("Mn", "Mc")):
            out.append(ch)
        elif unicodedata.category(ch) in ("So", "Sk") or ord(ch) >= 0x1F000:
            out.append(f" {ch} ")
        else:
            out.append(" ")
    return "".join(out).split()


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    if not word.isalpha() or len(word) < 3:
        return word
    return simplemma.lemmatize(word, lang="en")


@lru_cache(maxsize=65536)
def _known(word: str) -> bool:
    return simplemma.is_known(word, lang="en")


@dataclass(frozen=True)
class _Pattern:
    surface: re.Pattern[str]  # tried on the words as written (after normalising)
    lemma: re.Pattern[str]  # tried on their lemmas
    anchors: frozenset[str] | None  # words its first required slot needs; None: always try

    def wanted(self, present: frozenset[str]) -> bool:
        return self.anchors is None or not self.anchors.isdisjoint(present)


class _Index:
    """Patterns by anchor word: a message tries only those whose first slot it can fill."""

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        self.patterns = tuple(patterns)
        self._always = [i for i, p in enumerate(self.patterns) if p.anchors is None]
        self._by_word: dict[str, list[int]] = {}
        for i, p in enumerate(self.patterns):
            for w in p.anchors or ():
                self._by_word.setdefault(w, []).append(i)

        self._words = frozenset(self._by_word)

    def candidates(self, present: frozenset[str]) -> list[_Pattern]:
        hits = present & self._words
        if not hits:
            return [self.patterns[i] for i in self._always]
        idx = set(self._always)
        for w in hits:
            idx.update(self._by_word[w])
        return [self.patterns[i] for i in sorted(idx)]


@dataclass(frozen=True)
class _Frame:
    name: str
    label: str
    category: str
    guarded: bool
    any_of: _Index
    all_of: tuple[tuple[_Pattern, ...], ...]


class Detector:
    """The compiled screen. Build once (`default_detector()`); `screen()` is the hot path."""

    def __init__(self, spec: Mapping[str, Any], phrases: Iterable[tuple[str, str]] = ()) -> None:
        language = spec.get("language", {})
        self.lang = str(language.get("code", "en"))
        self.language = str(language.get("name", "English"))
        self._english = self.lang == "en"
        # Spelling correction towards the vocabulary (romanised Urdu/Punjabi spell freely).
        self._spelling = bool(language.get("spelling", True))
        self._prenormalise = prenormalise if self._english else prenormalise_native
        # The language's everyday words: guessing a message's language, and never an anchor.
        self.everyday = frozenset(prenormalise_native(str(w)) for w in language.get("common", ()))
        self._plain = _EVERYDAY | self.everyday
        self._stems = False
        self._clause = _CLAUSE
        if not self._english:  # the file's words meet messages folded the same way
            spec = _fold_spec(spec)
            # The language's "but": a clause after it is judged on its own ("kiedys sie
            # cialem, ale od 2 lat nie").
            but = [re.escape(prenormalise_native(str(w))) for w in language.get("but", ())]
            self._clause = re.compile(_NATIVE_STOPS + _CLAUSE.pattern + (
                r"|\s(?:" + "|".join(but) + r")\s" if but else ""))
        self.lexicon = {str(k): str(v).split() for k, v in spec.get("lexicon", {}).items()}
        multi = {str(k): str(v) for k, v in spec.get("phrases", {}).items()}
        self._multi = (re.compile(r"(?<!\S)(" + "|".join(
            re.escape(k) for k in sorted(multi, key=len, reverse=True)) + r")(?!\S)")
            if multi else None)
        self._multi_map = multi
        self.classes = {k: [str(w) for w in v] for k, v in spec.get("classes", {}).items()}
        self._protect = {w for w in self.classes.get("CANT", ())} | {"gone", "left", "less"}
        frames = spec.get("frames", {})
        unknown = set(frames) - set(FRAME_ORDER)
        if unknown or not frames:
            raise ValueError(f"crisis frames: unknown or missing frames {sorted(unknown)}")
        vocab: set[str] = set()
        for name in FRAME_ORDER:
            for p in frames.get(name, {}).get("patterns", ()):
                vocab |= self._literals(p)
        for words_ in self.classes.values():
            vocab |= {w for w in words_ if w.isalpha()}
        vocab |= {w for v in self.lexicon.values() for w in v} | set(self.lexicon)
        self.phrases = tuple((p, c) for p, c in phrases)
        for p, _ in self.phrases:
            vocab |= set(words(prenormalise(p)))
        if not self._english:  # history words are words too: never "corrected" into others
            for group in spec.get("guards", {}).values():
                for p in group:
                    vocab |= self._literals(str(p))
        self.vocab = frozenset(vocab)
        self.others: frozenset[str] = frozenset()  # words that tell nothing (Screens sets)
        # What tells this language on the panel (`Screens.guess_language`): its everyday words,
        # its frame words and the stems of its frames ("zabi*").
        self.stems = frozenset(
            w[:-1] for name in FRAME_ORDER for p in frames.get(name, {}).get("patterns", ())
            for tok in str(p).split() for a in tok.strip("()").split("|") for w in a.split("_")
            if not self._english and w.endswith("*") and len(w) > 3)
        self._spell_targets = sorted(w for w in vocab if len(w) >= 5 and w.isalpha())
        self.frames = tuple(self._frame(n, frames[n]) for n in FRAME_ORDER if n in frames)
        # The gate: a message with none of these words cannot fire a frame (one set test
        # instead of seven index lookups).
        patterns = [p for f in self.frames for p in (*f.any_of.patterns,
                                                      *(q for g in f.all_of for q in g))]
        self._gate = frozenset().union(*(p.anchors or () for p in patterns))
        # Patterns without an anchor word (a /regex/ alone): tried on the text at the gate.
        self._unanchored = tuple(p for p in patterns if p.anchors is None)
        # The scripts this screen's words are written in (`Screens` skips a screen for a
        # message in none of them); "symbols" when it has emoji words.
        self.scripts = frozenset(_script(ch) for w in (*vocab, *self.lexicon, *(
            x for p, _ in self.phrases for x in words(prenormalise(p)))) for ch in w
            if _script(ch) is not None)
        guards = spec.get("guards", {})
        self._guards = _Index([self._pattern(str(p)) for p in guards.get("patterns", ())])
        self._history = _Index([self._pattern(str(p)) for p in guards.get("history", ())])
        self._present = _Index([self._pattern(str(p)) for p in guards.get("present", ())])
        self._phrases = tuple(
            (re.compile(_phrase_regex(self.tokens(p)[0])), p, c) for p, c in self.phrases
            if self.tokens(p)[0])
        # Phrases by first word: a message tries only those whose first word it has (or
        # starts a word with: "killmyself" is tried against "kill myself").
        self._phrase_by_first: dict[str, list[int]] = {}
        for i, (_, p, _) in enumerate(self._phrases):
            first = self.tokens(p)[0].split()[0]
            self._phrase_by_first.setdefault(first, []).append(i)
        self._amber = _amber_regex(spec.get("amber", {}))

    # --- compiling ----------------------------------------------------------------------

    def _literals(self, pattern: str) -> set[str]:
        out: set[str] = set()
        for tok in pattern.split():
            if tok.startswith(("{", "/")) or tok in ("~", "~~", "$"):
                continue
            out |= {w for a in tok.strip("()").split("|") for w in a.split("_")
                    if (w.isalpha() if self._english else w and not w.endswith("*"))}
        return out

    def _word(self, tok: str, lemmas: bool) -> str:
        if tok.startswith("/") and tok.endswith("/") and len(tok) > 2:
            return f"(?:{tok[1:-1]})"
        alts = []
        for alt in tok.split("|"):
            if alt.startswith("{") and alt.endswith("}"):
                if alt[1:-1] not in self.classes:
                    raise ValueError(f"crisis frames: unknown class {alt}")
                alts += [w.replace("_", " ") for w in self.classes[alt[1:-1]]]
            else:
                alts.append(alt.replace("_", " "))
        forms = set(alts) | ({" ".join(self._lemma(w) for w in a.split()) for a in alts}
                             if lemmas else set())
        return "(?:" + "|".join(_alt_regex(a) for a in sorted(forms, key=len, reverse=True)) + ")"

    def _regex(self, pattern: str, lemmas: bool) -> str:
        if all(t in ("~", "~~", "$") or t.startswith("(") for t in pattern.split()):
            raise ValueError(f"crisis pattern {pattern!r} has no required word")
        if any("$" in t.strip("()").split("|") and t != "$" for t in pattern.split()):
            raise ValueError(f"crisis pattern {pattern!r}: $ must stand alone, not in a|b")
        if any(t.startswith("/") != (t.endswith("/") and len(t) > 1) for t in pattern.split()):
            raise ValueError(f"crisis pattern {pattern!r}: a /regex/ may not hold a space")
        parts = [r"(?<!\S)"]
        for tok in pattern.split():
            if tok == "~":
                parts.append(GAP)
            elif tok == "~~":
                parts.append(WIDE_GAP)
            elif tok == "$":
                parts.append("$")
            elif tok.startswith("(") and tok.endswith(")"):
                parts.append(f"(?:{self._word(tok[1:-1], lemmas)} )?")
            else:
                parts.append(f"{self._word(tok, lemmas)} ")
        return "".join(parts)

    def _anchors(self, pattern: str) -> frozenset[str] | None:
        """The words (as written and as lemmas) one of which must be in a message for the
        pattern to have a chance: its most telling required slot (one without everyday words
        such as "i" or "the", or the language's own `common` words, if it has one). Screening
        tries only those patterns."""
        slots: list[frozenset[str]] = []
        for tok in pattern.split():
            if tok in ("~", "~~", "$") or tok.startswith(("(", "/")):
                continue
            out: set[str] = set()
            for alt in tok.split("|"):
                ws = self.classes[alt[1:-1]] if alt.startswith("{") else [alt]
                for w in ws:
                    first = w.replace("_", " ").split()[0]
                    if first.endswith("*"):
                        self._stems = True
                    out |= {first, self._lemma(first)}
            slots.append(frozenset(out))
        if not slots:
            return None
        return min(slots, key=lambda s: (len(s & self._plain), len(s)))

    def _pattern(self, pattern: str) -> _Pattern:
        return _Pattern(re.compile(self._regex(pattern, False)),
                        re.compile(self._regex(pattern, True)), self._anchors(pattern))

    def _frame(self, name: str, row: Mapping[str, Any]) -> _Frame:
        return _Frame(
            name, str(row.get("label", name)), str(row.get("category", "ideation")),
            bool(row.get("guarded", True)),
            _Index([self._pattern(str(p)) for p in row.get("patterns", ())]),
            tuple(tuple(self._pattern(str(p)) for p in group) for group in row.get("all", ())))

    # --- text ---------------------------------------------------------------------------

    def _lemma(self, word: str) -> str:
        if not self._english:
            return word  # no lemmatiser: the frame files use stems ("zabi*")
        return word if word in self._protect else lemma(word)

    def _present_words(self, toks: list[str], lemmas: list[str]) -> frozenset[str]:
        """Words the message has, for the pattern index; with stems, each word's prefixes
        too ("zabije" offers "zab*", "zabi*"...)."""
        present = set(toks) | set(lemmas)
        if self._stems:
            present |= {f"{t[:k]}*" for t in toks for k in range(2, len(t) + 1)}
        return frozenset(present)

    def _known(self, word: str) -> bool:
        return self._english and _known(word)

    @lru_cache(maxsize=65536)  # noqa: B019 - one detector per process; words repeat a lot
    def _fix(self, word: str) -> str:
        """A word as the frames should see it: stretched letters squashed, a misspelling of a
        vocabulary word corrected. Known English words are left alone."""
        known = self._known
        w = _STRETCH.sub(r"\1\1", word)
        if w != word and not (w in self.vocab or known(w)):
            single = _DOUBLE.sub(r"\1", w)
            if single in self.vocab or known(single):
                return single
        if (len(w) < 5 or not w.isalpha() or w in self.vocab or known(w)
                or not self._spelling):
            # Dropped g ("goin", "cuttin", "nothin"): restored when that makes a known word.
            if self._english and w.endswith("in") and w.isalpha() and w not in self.vocab and (
                    not known(w) and (w + "g" in self.vocab or known(w + "g"))):
                return w + "g"
            return w
        limit = 2 if len(w) >= 9 else 1
        best = process.extractOne(w, self._spell_targets, scorer=Levenshtein.distance,
                                  score_cutoff=limit)
        if best is not None and best[0][0] == w[0]:
            return str(best[0])
        return w

    @lru_cache(maxsize=64)  # noqa: B019 - one per language; a message is read several times
    def tokens(self, text: str) -> tuple[str, tuple[int, ...]]:
        """The message as matching text (words joined by spaces) and each word's clause.
        Cached per message: the router's screen, the crisis step and the language guess share
        it."""
        out: list[str] = []
        clause_of: list[int] = []
        for i, clause in enumerate(self._clause.split(self._prenormalise(text))):
            ws: list[str] = []
            for w in words(clause, not self._english):
                ws.extend(self.lexicon.get(w, (w,)))
            joined = " ".join(ws)
            if self._multi is not None:
                joined = self._multi.sub(lambda m: self._multi_map[m.group(1)], joined)
            fixed = [self._fix(w) for w in joined.split()]
            fixed = [x for w in fixed for x in self.lexicon.get(w, (w,))]
            out.extend(fixed)
            clause_of.extend([i] * len(fixed))
        return " ".join(out), tuple(clause_of)

    def _idioms(self, toks: list[str], lemmas: list[str], present: frozenset[str]) -> set[int]:
        """Word positions inside an idiom or ordinary sense (for the guarded frames only)."""
        blank: set[int] = set()
        texts = (" ".join(toks) + " ", " ".join(lemmas) + " ")
        starts = _starts(toks)  # lemmas stand word for word with the words
        for g in self._guards.candidates(present):
            for pat, text in ((g.surface, texts[0]), (g.lemma, texts[1])):
                for m in pat.finditer(text):
                    blank |= _span_words(starts, m.start(), m.end())
        return blank

    def _past(self, toks: list[str], clause_of: Sequence[int], lemmas: list[str]) -> set[int]:
        """Word positions of clauses that speak only of the past ("OD'd in 2018", "2 years
        since I last hurt myself"): history, not a present emergency. A present cue (now,
        again, want, last night...) in the clause keeps it in sight."""
        blank: set[int] = set()
        whole = (" ".join(toks) + " ", " ".join(lemmas) + " ")
        if not any(p.surface.search(whole[0]) or p.lemma.search(whole[1])
                   for p in self._history.candidates(frozenset(toks) | frozenset(lemmas))):
            return blank
        for c in set(clause_of):
            idx = [i for i, k in enumerate(clause_of) if k == c]
            s = " ".join(toks[i] for i in idx) + " "
            le = " ".join(lemmas[i] for i in idx) + " "
            words_here = frozenset(toks[i] for i in idx) | frozenset(lemmas[i] for i in idx)

            def says(index: _Index, s: str = s, le: str = le,
                     w: frozenset[str] = words_here) -> bool:
                return any(p.surface.search(s) or p.lemma.search(le)
                           for p in index.candidates(w))

            if says(self._history) and not says(self._present):
                blank |= set(idx)
        return blank

    # --- screening ----------------------------------------------------------------------

    def screen(self, text: str) -> Screen | None:
        norm, clause_of = self.tokens(text)
        if not norm:
            return None
        toks = norm.split(" ")
        lemmas = [self._lemma(w) for w in toks] if self._english else toks
        present = self._present_words(toks, lemmas)
        phrase = self._phrase_candidates(toks)
        # Most messages are ordinary: no pattern's telling word, no phrase. Done.
        if not phrase and present.isdisjoint(self._gate) and not any(
                p.surface.search(norm + " ") or p.lemma.search(" ".join(lemmas) + " ")
                for p in self._unanchored):
            return None
        cands = [frame.any_of.candidates(present) for frame in self.frames]
        if not phrase and not any(cands) and not any(
                all(p.wanted(present) for p in group) for f in self.frames for group in f.all_of):
            return None
        past = self._past(toks, clause_of, lemmas)
        idioms = self._idioms(toks, lemmas, present) | past

        def blanked(blank: set[int]) -> tuple[str, str]:
            return tuple(" ".join("_" if i in blank else w[i] for i in range(len(w))) + " "
                         for w in (toks, lemmas))  # type: ignore[return-value]

        # Means and medical frames see through idioms (never through to the past).
        views = {True: blanked(idioms), False: blanked(past)}

        def view(is_guarded: bool) -> tuple[str, str]:
            return views[is_guarded]

        for i in phrase:
            pattern, _phrase, category = self._phrases[i]
            m = pattern.search(view(category not in UNGUARDED_PHRASES)[0])
            if m:
                name = PHRASE_FRAME.get(category, "suicidal")
                return Screen(name, self.label(name), category, m.group(0).strip(), "phrase",
                              self.lang)
        for frame, candidates in zip(self.frames, cands, strict=True):
            found = self._frame_hit(frame, view(frame.guarded), present, candidates)
            if found:
                return found
        return None

    def _phrase_candidates(self, toks: list[str]) -> list[int]:
        found: set[int] = set()
        by_first = self._phrase_by_first
        if not by_first:  # the other languages have frames only
            return []
        for t in set(toks):
            found.update(by_first.get(t, ()))
            for k in range(2, len(t)):
                found.update(by_first.get(t[:k], ()))
        return sorted(found)

    def _frame_hit(self, frame: _Frame, texts: tuple[str, str], present: frozenset[str],
                   candidates: list[_Pattern]) -> Screen | None:
        for p in candidates:
            for pat, text in ((p.surface, texts[0]), (p.lemma, texts[1])):
                m = pat.search(text)
                if m:
                    return Screen(frame.name, frame.label, frame.category,
                                  _words_of(m, texts, text), lang=self.lang)
        for group in frame.all_of:
            hits = []
            for p in group:
                m = p.wanted(present) and (p.surface.search(texts[0]) or p.lemma.search(texts[1]))
                if not m:
                    break
                hits.append(m.group(0).strip())
            else:
                return Screen(frame.name, frame.label, frame.category, " … ".join(hits),
                              lang=self.lang)
        return None

    def amber(self, text: str) -> str | None:
        """The AMBER net ([amber] in the language's file): the first word or short phrase of
        death, dying, means, farewell or danger in the message, read as the screen reads it;
        None when there is none. Broad on purpose, for messages the frames did not fire on;
        the frames' own guards (idioms, clauses only about the past) and `except` still hold."""
        if self._amber is None:
            return None
        found, ordinary = self._amber
        norm, clause_of = self.tokens(text)
        if found.search(norm) is None:  # the common case: not one word of the net
            return None
        toks = norm.split(" ")
        lemmas = [self._lemma(w) for w in toks]
        blank = self._idioms(toks, lemmas, self._present_words(toks, lemmas)) | self._past(
            toks, clause_of, lemmas)
        seen = " ".join("_" if i in blank else w for i, w in enumerate(toks))
        m = found.search(ordinary.sub("_", seen) if ordinary is not None else seen)
        return m.group(0).strip() if m else None

    def label(self, frame: str) -> str:
        return next((f.label for f in self.frames if f.name == frame), frame)

    def evidence(self, text: str) -> int:
        """How many of the message's words (as this screen reads them) are this language's:
        known English words for English; everyday, frame or stem words for the others."""
        toks = self.tokens(text)[0].split()
        if self._english:  # "mam", "nu", "main" are English words too: theirs, not ours
            return sum(1 for t in toks if t.isascii() and t.isalpha() and _known(t)
                       and t not in self.others)
        stems, vocab, everyday = self.stems, self.vocab, self.everyday
        # Frame words the English frames share ("bus", "overdose") tell nothing.
        return sum(1 for t in toks if t in everyday or (
            (t in vocab or any(t[:k] in stems for k in range(3, len(t))))
            and t not in self.others))


def _starts(toks: Sequence[str]) -> list[int]:
    pos, out = 0, []
    for t in toks:
        out.append(pos)
        pos += len(t) + 1
    return out


def _span_words(starts: list[int], a: int, b: int) -> set[int]:
    return {i for i, s in enumerate(starts) if a <= s < b}


def _words_of(m: re.Match[str], texts: tuple[str, str], text: str) -> str:
    """The matched words, told in the surface form when the match was on lemmas."""
    if text is texts[0]:
        return m.group(0).strip()
    starts = _starts(text.rstrip(" ").split(" "))
    idx = sorted(_span_words(starts, m.start(), m.end()))
    surface = texts[0].rstrip(" ").split(" ")
    return " ".join(surface[i] for i in idx) if idx else m.group(0).strip()


def _fold_word(w: str) -> str:
    return w if w.startswith("{") or not w else prenormalise_native(w)


def _fold_pattern(pattern: str) -> str:
    """A pattern's literal words folded like a message (diacritics, nukta, letter variants);
    operators, {CLASSES} and /regexes/ kept."""
    out = []
    for tok in pattern.split():
        if tok in ("~", "~~", "$") or tok.startswith("/"):
            out.append(tok)
            continue
        opt = tok.startswith("(") and tok.endswith(")")
        body = "|".join(_fold_word(a) for a in (tok[1:-1] if opt else tok).split("|"))
        out.append(f"({body})" if opt else body)
    return " ".join(out)


def _fold_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    def fold_list(v: Any) -> list[Any]:
        return [fold_list(x) if isinstance(x, list) else _fold_pattern(str(x)) for x in v]

    out: dict[str, Any] = dict(spec)
    for table in ("lexicon", "phrases"):
        out[table] = {prenormalise_native(k): prenormalise_native(str(v))
                      for k, v in spec.get(table, {}).items()}
    out["classes"] = {k: [prenormalise_native(str(w)) for w in v]
                      for k, v in spec.get("classes", {}).items()}
    out["frames"] = {n: {k: fold_list(v) if k in ("patterns", "all") else v
                         for k, v in f.items()} for n, f in spec.get("frames", {}).items()}
    out["guards"] = {k: fold_list(v) for k, v in spec.get("guards", {}).items()}
    return out


def _alt_regex(alt: str) -> str:
    """One alternative of a slot: literal words; a final "*" makes the last one a stem."""
    if len(alt) > 2 and alt.endswith("*"):
        return re.escape(alt[:-1]) + r"\S*"
    return re.escape(alt)


def _amber_regex(table: Mapping[str, Any]) -> tuple[re.Pattern[str], re.Pattern[str] | None] | None:
    """`[amber]`: `words` (words, `stem*`, short phrases) folded like a message, and `except`
    (words, stems, phrases: "umieram ze smiechu", "tablet") blanked out of the message first."""
    def regex(key: str) -> re.Pattern[str] | None:
        items = sorted({" ".join(_fold_word(w) for w in str(x).split())
                        for x in table.get(key, ())} - {""}, key=len, reverse=True)
        body = "|".join(" ".join(_alt_regex(w) for w in x.split()) for x in items)
        return re.compile(rf"(?<!\S)(?:{body})(?!\S)") if body else None

    found = regex("words")
    return None if found is None else (found, regex("except"))


def _phrase_regex(norm: str) -> str:
    """A reviewed phrase: whole words, in order, any spacing; stretched letters tolerated."""
    body = r"\s*".join(re.escape(t) for t in norm.split())
    return rf"(?<!\S){body}(?!\S)"


def load_frames(path: Path | str | None = None) -> dict[str, Any]:
    with open(path or FRAMES_TOML, "rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=8)
def build_detector(phrases: tuple[tuple[str, str], ...], path: str | None = None) -> Detector:
    return Detector(load_frames(path), phrases)


class Screens:
    """English (with the reviewed phrases) first, then every other language's frames: the
    first that fires explains."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        # For the language guess: English words that other languages' words claim ("mam",
        # "nu", "de"), and the other languages' frame words English's frames share.
        others = frozenset().union(*(d.everyday | d.vocab for d in self.detectors
                                     if d.lang != "en"))
        english = frozenset().union(*(d.vocab for d in self.detectors if d.lang == "en"))
        for d in self.detectors:
            d.others = others if d.lang == "en" else english

    def screen(self, text: str) -> Screen | None:
        scripts = message_scripts(text)
        for d in self.detectors:
            if scripts is not None and scripts.isdisjoint(d.scripts):
                continue  # Gurmukhi cannot fire Polish frames: not read at all
            found = d.screen(text)
            if found is not None:
                return found
        return None

    def amber(self, text: str) -> Screen | None:
        """The other languages' AMBER nets, for a message `screen` did not fire on: a
        `Screen` (frame "possible", the words, the language) or None. A language's net is read
        only when the message could be in it (its script, and the language guess does not name
        another language: Romanian "mor*" must not catch English "more")."""
        scripts = message_scripts(text)
        guess = self.guess_language(text)
        allowed = None if guess is None else _GUESS_LANGS.get(guess, {guess})
        for d in self.detectors:
            if d._amber is None or (allowed is not None and d.lang not in allowed) or (
                    scripts is not None and scripts.isdisjoint(d.scripts)):
                continue
            words_ = d.amber(text)
            if words_ is not None:
                return Screen("possible", f"possible crisis words in {d.language}: the screen"
                              " was not sure", "possible", words_, "amber", d.lang)
        return None

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(d.lang for d in self.detectors)

    def guess_language(self, text: str) -> str | None:
        """A best guess at the language of a client's words, for the panel: "pa-Guru" for
        Gurmukhi, "ur" for Urdu script ("pa-Arab" when Punjabi's words win), else the screen
        whose words the message has most of ("pl", "ro", "en", "ur-Latn" / "pa-Latn" romanised,
        "ur+pa-Latn" when the two tie); None when nothing stands out ("ok", "7"). Reads the
        screens' cached words, so after screening it costs a few set lookups."""
        folded = prenormalise_native(text)
        gurmukhi = sum(1 for ch in folded if "\u0a00" <= ch <= "\u0a7f")
        arabic = sum(1 for ch in folded if "\u0600" <= ch <= "\u06ff")
        latin = sum(1 for ch in folded if ch.isascii() and ch.isalpha())
        by_lang = {d.lang: d for d in self.detectors}
        if gurmukhi > max(arabic, latin):
            return "pa-Guru"
        if arabic > max(gurmukhi, latin):
            # Urdu script: Urdu's lexicon reads it; Shahmukhi Punjabi when Punjabi's everyday
            # words (romanised by that lexicon) outnumber Urdu's.
            ur = by_lang.get("ur")
            toks = ur.tokens(text)[0].split() if ur else []
            pa = by_lang.get("pa")
            mine = sum(t in ur.everyday for t in toks) if ur else 0
            theirs = sum(t in pa.everyday for t in toks) if pa else 0
            return "pa-Arab" if theirs > mine else "ur"
        scores = {d.lang: d.evidence(text) for d in self.detectors}
        best = max(scores.values(), default=0)
        if best == 0:
            return None
        top = sorted(lang for lang, n in scores.items() if n == best)
        if top == ["pa", "ur"]:
            return "ur+pa-Latn"
        if len(top) > 1:
            return None
        return f"{top[0]}-Latn" if top[0] in ("ur", "pa") else top[0]


# A language guess (`Screens.guess_language`) to the AMBER nets it lets read a message. Urdu and
# Punjabi share words and scripts: a tie opens both, Shahmukhi Punjabi is read by both.
_GUESS_LANGS = {"pa-Guru": {"pa"}, "ur": {"ur"}, "pa-Arab": {"pa", "ur"}, "ur-Latn": {"ur"},
                "pa-Latn": {"pa"}, "ur+pa-Latn": {"ur", "pa"}}


def language_files(folder: Path | None = None) -> list[Path]:
    """The other languages' frame files, one per language code (config/crisis_lang/*.toml)."""
    return sorted((folder or LANG_DIR).glob("*.toml"))


def _with_shared_time_words(spec: Mapping[str, Any], others: Sequence[Mapping[str, Any]],
                            ascii_only: bool = False) -> dict[str, Any]:
    """`spec` with every language's history and present markers added to its own: clients
    mix languages ("pichle saal overdose se mar gaya"), and a clause that speaks of the past in
    one language must not alert in another's frames."""
    guards = dict(spec.get("guards", {}))
    for key in ("history", "present"):
        mine = list(guards.get(key, ()))
        for other in others:
            mine += [str(p) for p in other.get("guards", {}).get(key, ())
                     if p not in mine and (str(p).isascii() or not ascii_only)]
        guards[key] = mine
    return {**spec, "guards": guards}


@lru_cache(maxsize=8)
def build_screens(phrases: tuple[tuple[str, str], ...]) -> Screens:
    english = load_frames()
    specs = [load_frames(p) for p in language_files()]
    everyone = [english, *specs]
    return Screens([
        Detector(_with_shared_time_words(english, specs, ascii_only=True), phrases),
        *(Detector(_with_shared_time_words(s, everyone)) for s in specs)])


CRISIS_CATEGORIES = ("suicidal", "means", "farewell", "hopeless", "medical", "self_harm", "unsafe")


@dataclass(frozen=True)
class Row:
    label: str  # crisis | ordinary
    category: str
    text: str


@dataclass(frozen=True)
class CategoryScore:
    label: str
    category: str
    total: int
    flagged: int

    @property
    def rate(self) -> float:
        """Recall for a crisis category, false-alarm rate for an ordinary one."""
        return self.flagged / self.total if self.total else 0.0


def parse_rows(tsv: str) -> list[Row]:
    """Rows of a labelled file: label, category, text (tab-separated; a header is skipped)."""
    rows: list[Row] = []
    for n, line in enumerate(tsv.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise ValueError(f"line {n}: expected label<TAB>category<TAB>text")
        label, category, text = (p.strip() for p in parts)
        if (label, category) == ("label", "category"):
            continue
        if label not in ("crisis", "ordinary"):
            raise ValueError(f"line {n}: label must be crisis or ordinary, not {label!r}")
        rows.append(Row(label, category, text))
    return rows


def score(rows: Iterable[Row], flags: Iterable[bool]) -> list[CategoryScore]:
    """Per (label, category): how many rows, how many flagged as crisis."""
    counts: dict[tuple[str, str], list[int]] = {}
    for row, flagged in zip(rows, flags, strict=True):
        c = counts.setdefault((row.label, row.category), [0, 0])
        c[0] += 1
        c[1] += bool(flagged)
    return [CategoryScore(label, cat, t, f) for (label, cat), (t, f) in sorted(counts.items())]


def overall(scores: Iterable[CategoryScore], label: str) -> CategoryScore:
    rows = [s for s in scores if s.label == label]
    return CategoryScore(label, "all", sum(s.total for s in rows), sum(s.flagged for s in rows))
