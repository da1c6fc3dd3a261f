"""Telegram through python-telegram-bot, used as transport only (our state lives in the database)."""

from __future__ import annotations

from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.channels.base import Permanent, RetryLater, Sent, mark_answered
from bot.core.outbox import OutRow
from config.settings import Settings


class TimedRequest(HTTPXRequest):
    """Notes when Telegram's answer arrived, before python-telegram-bot parses it."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        result = await super().do_request(*args, **kwargs)
        mark_answered()
        return result


def make_bot(settings: Settings) -> Bot:
    assert settings.telegram_token
    timeout = settings.send_timeout
    # 16 connections carry Telegram's 30/s with room to spare; a bigger pool costs httpcore a
    # scan of every connection per request, which slowed 30-message bursts (bench/pacing.py).
    request = TimedRequest(connection_pool_size=16, read_timeout=timeout, write_timeout=timeout,
                           connect_timeout=timeout, pool_timeout=timeout)
    # Files (a client's photo or voice note, fetched for the panel) live beside the API.
    base = settings.telegram_api_url
    file_url = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else None
    return Bot(settings.telegram_token, base_url=base, request=request,
               **({"base_file_url": file_url} if file_url else {}))


def _is_chat_id(address: str) -> bool:
    return address.lstrip("-").isdigit()


class TelegramSender:
    channel = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, row: OutRow) -> Sent:
        markup = InlineKeyboardMarkup.de_json(row.reply_markup, self.bot) if row.reply_markup else None
        if row.op != "answer_callback" and not _is_chat_id(row.address):
            # Nothing to send to: retrying cannot help (the person must link their chat again).
            raise Permanent(f"telegram: no chat id ({row.address!r})")
        try:
            if row.op == "answer_callback":
                await self.bot.answer_callback_query(callback_query_id=row.ref or "",
                                                     text=row.body[:200] or None)
                return Sent(provider_id=None)
            if row.op == "edit":
                if not row.edit_of_provider_id:
                    raise Permanent("the message to edit was never sent")
                chat_id, _, message_id = row.edit_of_provider_id.partition(":")
                await self.bot.edit_message_text(chat_id=int(chat_id), message_id=int(message_id),
                                                 text=row.body, reply_markup=markup)
                return Sent(provider_id=row.edit_of_provider_id)
            msg = await self.bot.send_message(chat_id=int(row.address), text=row.body,
                                              reply_markup=markup)
        except RetryAfter as exc:
            after = exc.retry_after
            seconds = after.total_seconds() if hasattr(after, "total_seconds") else float(after)
            raise RetryLater("telegram 429", retry_after=seconds, refused=True) from None
        except Forbidden as exc:
            # "bot was blocked by the user" (or kicked from a group): treat as opt-out.
            raise Permanent(f"telegram forbidden: {exc.message}", opted_out=True) from None
        except BadRequest as exc:
            if row.op == "edit" and "not modified" in exc.message.lower():
                return Sent(provider_id=row.edit_of_provider_id)
            raise Permanent(f"telegram bad request: {exc.message}") from None
        except TimedOut:
            raise RetryLater("telegram timeout", maybe_sent=True) from None
        except NetworkError as exc:
            raise RetryLater(f"telegram network: {exc.message}") from None
        except TelegramError as exc:
            raise Permanent(f"telegram: {exc.message}") from None
        # chat:message so a later edit (an acknowledged alert) can find the message.
        return Sent(provider_id=f"{msg.chat_id}:{msg.message_id}")

    async def close(self) -> None:
        await self.bot.shutdown()
