"""Logs without secrets or personal data, whatever handler writes them.

`install(settings)` (called by `create_app` and the CLI) does three things:
- every log record is redacted as it is created (a record factory, so uvicorn's handlers, a
  test's capture and any handler a library adds all see the same clean record): the configured
  secrets, anything shaped like a Telegram bot token, phone numbers, and message text in
  url-encoded or JSON payloads; an exception's text is formatted and redacted then too;
- the access log (`uvicorn.access`) keeps the path without its query string (panel searches
  carry names);
- library loggers that print request URLs, headers or parameters (httpx, httpcore, telegram,
  twilio, aiohttp) are raised to WARNING; their warnings are still redacted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from config.settings import Settings

REDACTED = "[redacted]"
# Libraries that log every request's URL (bot token in the path), parameters (phone numbers,
# message text) or headers (Basic auth) at INFO or DEBUG.
QUIET = ("httpx", "httpcore", "telegram", "twilio", "aiohttp", "apscheduler", "hpack",
         "aiosqlite")  # aiosqlite: every statement with its parameters, at DEBUG

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot token: <bot id>:<35 characters>, also inside /bot<token>/ URLs.
    (re.compile(r"\d{5,12}:[A-Za-z0-9_-]{30,}"), "[bot-token]"),
    # Message text in a form body or query (Twilio Body=, Telegram text=) or JSON ("text": "...").
    (re.compile(r"(?i)\b(body|text|caption)=[^&\s'\"]*"), r"\1=" + REDACTED),
    (re.compile(r"(?i)([\"'](?:body|text|caption)[\"']\s*:\s*)([\"'])(?:\\.|(?!\2).)*\2"),
     r"\1" + '"' + REDACTED + '"'),
    # Phone numbers: +44 7700 900123, %2B447700900123, 07700 900123, 00447700900123.
    (re.compile(r"(?:\+|%2[Bb]|\b00)\d(?:[ -]?\d){6,14}\b"), "[phone]"),
    (re.compile(r"\b0\d{4} ?\d{5,6}\b"), "[phone]"),
    # Basic auth headers (Twilio SID:token).
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:basic|bearer)\s+)[A-Za-z0-9+/=._-]+"),
     r"\1" + REDACTED),
)


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def record(self, record: logging.LogRecord) -> None:
        """Redact one record in place: its message, its arguments and its exception text."""
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == 5:
            # (client, method, path with query, http version, status): uvicorn's formatter
            # unpacks these, so the shape stays and only the path changes.
            client, method, path, version, status = record.args
            record.args = (client, method, self(str(path).split("?", 1)[0]), version, status)
            return
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: keep what can be kept
            message = str(record.msg)
        record.msg, record.args = self(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self(record.stack_info)


_base_factory: Callable[..., logging.LogRecord] | None = None
_current: Redactor | None = None


def secrets_of(settings: Settings) -> list[str | None]:
    return [settings.telegram_token, settings.telegram_webhook_secret,
            settings.twilio_auth_token, settings.twilio_account_sid, settings.secret_key,
            settings.metrics_token]


def install(settings: Settings) -> Redactor:
    """Redact every record from now on (idempotent: the latest settings' secrets win)."""
    global _base_factory, _current
    _current = Redactor(secrets_of(settings))
    if _base_factory is None:
        _base_factory = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            assert _base_factory is not None
            record = _base_factory(*args, **kwargs)
            if _current is not None:
                _current.record(record)
            return record

        logging.setLogRecordFactory(factory)
    for name in QUIET:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # an operator may have made one quieter still
            logger.setLevel(logging.WARNING)
    return _current
