"""Operator commands for the translated texts (registered through bot.cli.CLI_MODULES):

  o2r texts status [--json]              per language: entries, reviewed, drafts (unreviewed),
                                         untranslated (empty), missing
  o2r texts export LANG --out DIR        the language's .po files, for a translator (Poedit,
                                         Weblate)
  o2r texts import LANG FILE.po...       checked, then written back to config/locale/LANG

An entry is reviewed when it has a text and no `fuzzy` flag: the translator unticks "Needs
work" (Poedit) or "Needs editing" (Weblate). Only reviewed entries are sent; see
bot.core.texts for what a client gets meanwhile.
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from bot.cli import CliError, command, emit
from bot.core.texts import DEFAULT_LOCALE, available_locales, catalog, drafts
from config.paths import LOCALE_DIR
from config.settings import Settings

_PARAM = re.compile(r"\{(\w+)\}")


def status() -> list[dict[str, Any]]:
    english = set(catalog(DEFAULT_LOCALE))
    out = []
    for loc in available_locales():
        if loc == DEFAULT_LOCALE:
            continue
        reviewed = set(catalog(loc)) & english
        drafted = {k for k, v in drafts(loc).items() if v} & english
        empty = {k for k, v in drafts(loc).items() if not v} & english
        out.append({"language": loc, "entries": len(english), "reviewed": len(reviewed),
                    "drafts": len(drafted), "untranslated": len(empty),
                    "missing": len(english - reviewed - drafted - empty)})
    return out


@command("texts status")
async def cmd_texts_status(args: argparse.Namespace, settings: Settings) -> int:
    rows = status()
    lines = [f"{'language':9} {'entries':>7} {'reviewed':>8} {'drafts':>6} {'untranslated':>12} "
             f"{'missing':>7}"]
    lines += [f"{r['language']:9} {r['entries']:>7} {r['reviewed']:>8} {r['drafts']:>6} "
              f"{r['untranslated']:>12} {r['missing']:>7}" for r in rows]
    emit(args, rows, "\n".join(lines))
    return 0


def _language(lang: str) -> Path:
    if lang == DEFAULT_LOCALE or lang not in available_locales():
        raise CliError(f"language: {lang!r} is not a translated language; have "
                       f"{[x for x in available_locales() if x != DEFAULT_LOCALE]}")
    return LOCALE_DIR / lang / "LC_MESSAGES"


def export_files(lang: str, out: Path) -> list[str]:
    folder = _language(lang)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for po in sorted(folder.glob("*.po")):
        shutil.copyfile(po, out / po.name)
        files.append(str(out / po.name))
    return files


@command("texts export")
async def cmd_texts_export(args: argparse.Namespace, settings: Settings) -> int:
    files = export_files(args.lang, Path(args.out))
    emit(args, {"language": args.lang, "files": files}, "\n".join(files))
    return 0


def check_po(lang: str, path: Path) -> list[str]:
    """What stops a translator's file from being taken: a file name that is not one of the
    language's catalogs, keys English does not have, a {param} added, dropped or renamed."""
    folder = _language(lang)
    if not (folder / path.name).is_file():
        return [f"{path.name}: not one of {sorted(p.name for p in folder.glob('*.po'))}"]
    english = catalog(DEFAULT_LOCALE)
    try:
        with path.open("rb") as fh:
            cat = read_po(fh, locale=lang)
    except Exception as exc:  # any parse error is the translator's to fix
        return [f"{path.name}: not a readable .po file ({exc})"]
    problems = []
    for msg in cat:
        if not msg.id:
            continue
        key = str(msg.id)
        if key not in english:
            problems.append(f"{key}: not an en_GB key")
        elif msg.string and set(_PARAM.findall(str(msg.string))) != set(
                _PARAM.findall(english[key])):
            problems.append(f"{key}: params must be exactly {sorted(_PARAM.findall(english[key]))}")
    return problems


def import_files(lang: str, paths: list[Path]) -> None:
    """All or nothing: every file is checked before any is written."""
    folder = _language(lang)
    for p in paths:
        if not p.is_file():
            raise CliError(f"no such file: {p}")
    problems = [x for p in paths for x in check_po(lang, p)]
    if problems:
        raise CliError("nothing imported:\n" + "\n".join(problems))
    for p in paths:
        shutil.copyfile(p, folder / p.name)


@command("texts import")
async def cmd_texts_import(args: argparse.Namespace, settings: Settings) -> int:
    paths = [Path(f) for f in args.files]
    import_files(args.lang, paths)
    emit(args, {"language": args.lang, "imported": [p.name for p in paths]},
         f"imported {', '.join(p.name for p in paths)} into {args.lang}; a running service "
         "reads them at its next start")
    return 0


def add_parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser],
                groups: dict[str, Any]) -> None:
    texts = add("texts", "translated client texts").add_subparsers(dest="sub", required=True)
    s = texts.add_parser("status", help="per language: entries, reviewed, drafts, missing")
    s.add_argument("--json", action="store_true")
    e = texts.add_parser("export", help="copy a language's .po files out for a translator")
    e.add_argument("lang")
    e.add_argument("--out", required=True, help="folder to write the .po files to")
    e.add_argument("--json", action="store_true")
    i = texts.add_parser("import", help="check and take back a translator's .po files")
    i.add_argument("lang")
    i.add_argument("files", nargs="+")
    i.add_argument("--json", action="store_true")
