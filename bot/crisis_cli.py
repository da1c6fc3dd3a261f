"""Operator commands for the crisis screen (registered through bot.cli.CLI_MODULES):

  o2r crisis check "TEXT" [--json]      would this message alert, which frame, which words
  o2r crisis eval FILE.tsv [--json]     recall and false alarms per category for a labelled
                                        file (label<TAB>category<TAB>text; label is crisis or
                                        ordinary): RED (the screen), and RED-or-AMBER (with
                                        each language's AMBER net, `[amber]`)

Neither touches the database: they run the same screen the service runs on every message.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli import CliError, command, emit
from config.settings import Settings
from flows.detector import Screen, overall, parse_rows, score
from flows.intents import Intent, classify, possible_crisis


def decision(text: str) -> dict[str, Any]:
    """The screen's verdict on one message, as the CLI and the panel show it."""
    found = classify(text)
    crisis = found is not None and found.intent is Intent.CRISIS
    return {
        "crisis": crisis,
        "frame": found.frame if crisis and found else None,
        "category": found.category if crisis and found else None,
        "why": found.label if crisis and found else None,
        "words": found.phrase if crisis and found else None,
        "language": found.lang if crisis and found else None,
        "intent": found.intent.value if found else None,
        **_amber(None if crisis else possible_crisis(text)),
    }


def _amber(found: Screen | None) -> dict[str, Any]:
    return {"amber": found is not None, "amber_why": found.label if found else None,
            "amber_words": found.words if found else None,
            "amber_language": found.lang if found else None}


@command("crisis check")
async def cmd_crisis_check(args: argparse.Namespace, settings: Settings) -> int:
    d = decision(args.text)
    if d["crisis"]:
        text = (f"CRISIS: alerts at once (RED), crisis contacts sent.\n"
                f"Why: {d['why']}.\nWords: \"{d['words']}\" (frame {d['frame']}, "
                f"language {d['language']})")
    elif d["amber"]:
        text = (f"AMBER: {d['amber_why']}; the officer hears the same working day, crisis"
                f" contacts sent (at most once in a few hours).\nWords: \"{d['amber_words']}\""
                f" (language {d['amber_language']})")
    else:
        text = ("No crisis alert: the message goes to the officer's inbox as usual"
                + (f" (read as {d['intent']})." if d["intent"] else "."))
    emit(args, d, text)
    return 0


def _read(path: Path) -> str:
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    return path.read_text(encoding="utf-8")


@command("crisis eval")
async def cmd_crisis_eval(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    rows = parse_rows(_read(path))
    if not rows:
        raise CliError(f"{path}: no labelled rows")
    decided = [decision(r.text) for r in rows]
    results = [d["crisis"] for d in decided]
    scores = score(rows, results)
    recall, alarms = overall(scores, "crisis"), overall(scores, "ordinary")
    either = score(rows, [d["crisis"] or d["amber"] for d in decided])
    wide, amber_alarms = overall(either, "crisis"), overall(
        score(rows, [d["amber"] for d in decided]), "ordinary")
    misses = [{"category": r.category, "text": r.text} for r, hit in zip(rows, results, strict=True)
              if (r.label == "crisis") != hit]
    data = {
        "recall": round(recall.rate, 4), "crisis_messages": recall.total,
        "false_alarm_rate": round(alarms.rate, 4), "ordinary_messages": alarms.total,
        "categories": [{"label": s.label, "category": s.category, "messages": s.total,
                        "flagged": s.flagged,
                        ("recall" if s.label == "crisis" else "false_alarm_rate"): round(s.rate, 4)}
                       for s in scores],
        "errors": misses,
        "red_or_amber_recall": round(wide.rate, 4),
        "amber_false_alarm_rate": round(amber_alarms.rate, 4),
        "red_or_amber_categories": [{"label": s.label, "category": s.category,
                                     "messages": s.total, "flagged": s.flagged}
                                    for s in either],
    }
    lines = [f"{'':9} {'category':12} {'flagged':>9}  rate"]
    for s in scores:
        what = "recall" if s.label == "crisis" else "false alarms"
        lines.append(f"{s.label:9} {s.category:12} {s.flagged:>4}/{s.total:<4} {s.rate:6.1%} {what}")
    lines.append(f"overall recall {recall.rate:.1%} ({recall.flagged}/{recall.total}); "
                 f"false alarms {alarms.rate:.1%} ({alarms.flagged}/{alarms.total})")
    lines.append(f"with the AMBER nets: RED-or-AMBER recall {wide.rate:.1%} ({wide.flagged}/"
                 f"{wide.total}); AMBER false alarms {amber_alarms.rate:.1%} "
                 f"({amber_alarms.flagged}/{amber_alarms.total})")
    if args.show_errors:
        lines += [f"  {m['category']}: {m['text']}" for m in misses]
    emit(args, data, "\n".join(lines))
    return 0


def add_parsers(sub: Any, add: Callable[[str, str], argparse.ArgumentParser],
                groups: dict[str, Any]) -> None:
    crisis = add("crisis", "the crisis screen").add_subparsers(dest="sub", required=True)
    c = crisis.add_parser("check", help="would this message alert, and why")
    c.add_argument("text")
    c.add_argument("--json", action="store_true")
    e = crisis.add_parser("eval", help="recall and false alarms per category for a TSV file")
    e.add_argument("file", help="label<TAB>category<TAB>text per line")
    e.add_argument("--show-errors", action="store_true",
                   help="also list the messages it got wrong")
    e.add_argument("--json", action="store_true")
