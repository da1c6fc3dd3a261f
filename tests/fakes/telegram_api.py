"""Fake Telegram Bot API for integration tests.

Routes ``GET|POST /bot{token}/{method}`` like ``https://api.telegram.org``; point the real
python-telegram-bot at it with ``telegram.Bot(token, base_url=fake.url + "/bot")``.

Parameters are accepted as JSON, ``application/x-www-form-urlencoded`` (what PTB v22 sends:
every non-string value JSON-encoded, strings raw) or multipart (PTB, when uploading files)
and query strings.  Form values are decoded back: JSON objects/arrays, integers and booleans
are decoded except for free-text fields (``text``, ``data``, ``url``...), which stay strings.

Answers use the Bot API envelope ``{"ok": true, "result": ...}`` /
``{"ok": false, "error_code": N, "description": "..."}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.web_request import FileField

from .base import FakeServer, Fault, RecordedRequest, Reply, http_phrase

DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForO2rTests_abcdefg"
BLOCKED_DESCRIPTION = "Forbidden: bot was blocked by the user"
NOT_MODIFIED_DESCRIPTION = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "data",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "parse_mode",
        "action",
        "ip_address",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "emoji",
        "language_code",
        "message_effect_id",
        "business_connection_id",
        "switch_pm_text",
        "switch_pm_parameter",
        "question",
        "explanation",
        "first_name",
        "last_name",
        "username",
    }
)
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

_Handler = Callable[[RecordedRequest], Awaitable[Reply]]


def ok(result: Any, description: str | None = None) -> Reply:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return Reply(200, body, accepted=True)


def tg_error(
    code: int, description: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _err(code: int, description: str) -> Reply:
    return Reply(code, tg_error(code, description))


def _decode(name: str, value: str) -> Any:
    if name in _STRING_FIELDS:
        return value
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_markup(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def chat_object(
    chat_id: int | str, first_name: str = "Test", title: str = "Test group"
) -> dict[str, Any]:
    """Bot API Chat for ``chat_id``: >0 private, <= -10**12 supergroup, else group."""
    if isinstance(chat_id, str):  # "@channelusername"
        return {
            "id": -1001000000000,
            "type": "channel",
            "title": title,
            "username": chat_id.lstrip("@"),
        }
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    if chat_id <= -(10**12):
        return {"id": chat_id, "type": "supergroup", "title": title}
    return {"id": chat_id, "type": "group", "title": title}


def user_object(
    user_id: int, first_name: str = "Test", language_code: str = "en"
) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def _command_entities(text: str) -> list[dict[str, Any]]:
    """A leading ``/command`` gets a bot_command entity, as Telegram adds (CommandHandler
    in PTB ignores commands without it).  Offsets/lengths are UTF-16 code units."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def _message(
    message_id: int,
    chat: dict[str, Any],
    sender: dict[str, Any],
    text: str,
    date: int | None = None,
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": int(time.time()) if date is None else date,
        "text": text,
    }
    if entities := _command_entities(text):
        msg["entities"] = entities
    return msg


def make_text_update(
    update_id: int,
    chat_id: int,
    text: str,
    from_id: int | None = None,
    first_name: str = "Test",
    *,
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """Incoming private text message update (``from_id`` defaults to ``chat_id``)."""
    user = user_object(chat_id if from_id is None else from_id, first_name)
    chat = chat_object(chat_id, first_name=first_name)
    msg = _message(update_id if message_id is None else message_id, chat, user, text, date)
    return {"update_id": update_id, "message": msg}


def make_group_text_update(
    update_id: int,
    chat_id: int,
    text: str,
    from_id: int,
    first_name: str = "Test",
    *,
    title: str = "Test group",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """Incoming text message in a group chat (``chat_id`` must be negative)."""
    if chat_id >= 0:
        raise ValueError("group chat ids are negative")
    chat = chat_object(chat_id, title=title)
    msg = _message(
        update_id if message_id is None else message_id,
        chat,
        user_object(from_id, first_name),
        text,
        date,
    )
    return {"update_id": update_id, "message": msg}


def make_callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    message_id: int,
    from_id: int | None = None,
    first_name: str = "Test",
    *,
    message_text: str = "…",
    reply_markup: dict[str, Any] | None = None,
    bot_id: int | None = None,
    callback_id: str | None = None,
) -> dict[str, Any]:
    """Inline-button press on the bot's message ``message_id`` in chat ``chat_id``."""
    user = user_object(chat_id if from_id is None else from_id, first_name)
    bot_user = bot_user_object(bot_id if bot_id is not None else _token_id(DEFAULT_TOKEN))
    msg = _message(message_id, chat_object(chat_id, first_name=first_name), bot_user, message_text)
    if reply_markup is not None:
        msg["reply_markup"] = reply_markup
    return {
        "update_id": update_id,
        "callback_query": {
            "id": callback_id or f"cbq-{update_id}",
            "from": user,
            "chat_instance": f"ci-{chat_id}",
            "message": msg,
            "data": data,
        },
    }


def bot_user_object(
    bot_id: int, first_name: str = "O2R Test Bot", username: str = "o2r_test_bot"
) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def _token_id(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 123456789


class FakeTelegramApi(FakeServer):
    """Fake Telegram Bot API.

    State: sent messages per chat (for edits), the webhook, blocked chats.  Faults address
    Bot API method names (``"sendMessage"``; case-insensitive, like Telegram) or ``"*"``.

    ``strict_edits=False`` (default): editing a message the fake never sent synthesises it;
    ``True``: 400 "message to edit not found" as Telegram would.
    """

    name = "fake-telegram"

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "o2r_test_bot",
        bot_first_name: str = "O2R Test Bot",
        strict_edits: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        super().__init__(host=host, port=port, latency=latency)
        self.token = token
        self.bot_id = _token_id(token)
        self.bot_user = bot_user_object(self.bot_id, bot_first_name, bot_username)
        self.strict_edits = strict_edits
        self._handlers: dict[str, _Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendChatAction": self._true_for_chat,
            "deleteMessage": self._true_for_chat,
            "getFile": self._get_file,
            "setMyCommands": self._true,
            "deleteMyCommands": self._true,
        }
        self._canonical = {name.lower(): name for name in self._handlers}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._next_id: dict[int | str, int] = {}
        self._blocked: set[int | str] = set()
        self.files: dict[str, bytes] = {}
        """file_id -> content, served by getFile and /file/bot<token>/<path> (tests fill it)."""
        self.webhook: dict[str, Any] | None = None
        """Last setWebhook parameters (``url``, ``secret_token``, ...) or None."""

    @property
    def base_url(self) -> str:
        """Value for ``telegram.Bot(token, base_url=...)``."""
        return self.url + "/bot"

    def canonical_method(self, method: str) -> str:
        return self._canonical.get(method.lower(), method)

    # ------------------------------------------------------------------ app

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._route)
        app.router.add_get("/file/bot{token}/files/{file_id}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def _not_found(self, request: web.Request) -> web.Response:
        return self.reject(request, "unknown", dict(request.query), _err(404, "Not Found"))

    async def _route(self, request: web.Request) -> web.Response:
        method = self.canonical_method(request.match_info["method"])
        params = await _read_params(request)
        if request.match_info["token"] != self.token:
            return self.reject(request, method, params, _err(401, "Unauthorized"))
        handler = self._handlers.get(method)
        if handler is None:
            return self.reject(request, method, params, _err(404, "Not Found"))
        return await self.dispatch(request, method, params, handler)

    # ------------------------------------------------------------------ faults

    def error_body(self, status: int) -> Any:
        return tg_error(status, http_phrase(status))

    def rate_limit_reply(self, retry_after: int) -> tuple[int, Any, dict[str, str]]:
        body = tg_error(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )
        return 429, body, {}

    def permanent_fault(self) -> Fault:
        return Fault("blocked", 403, tg_error(403, BLOCKED_DESCRIPTION))

    def enforce_rates(self, overall: float = 30, per_chat: float = 1, per_group: float = 20,
                      methods: tuple[str, ...] = ("sendMessage", "editMessageText"),
                      overall_window: float = 1.0) -> None:
        """Telegram's limits: ``overall`` a second (``overall_window``) for the bot,
        ``per_chat`` a second per chat, ``per_group`` a minute per group chat (negative id)."""
        for method in methods:
            self.enforce_limit(method, overall, overall_window)
            self.enforce_limit(method, per_chat, 1.0, key=lambda r: str(self._chat_id(r.params)))
            self.enforce_limit(method, per_group, 60.0, key=lambda r: (
                str(chat) if str(chat := self._chat_id(r.params)).startswith("-") else None))

    def blocked(self, method: str = "sendMessage", times: int = 1) -> None:
        """Queue 403 "Forbidden: bot was blocked by the user"."""
        self.permanent_error(method, times)

    # ------------------------------------------------------------------ state

    def block(self, chat_id: int | str) -> None:
        """Every later send/edit/action to ``chat_id`` answers 403 blocked (until unblock)."""
        with self._cond:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int | str) -> None:
        with self._cond:
            self._blocked.discard(chat_id)

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """Current state of a message the bot sent (after edits), as Bot API JSON."""
        with self._cond:
            found = self._messages.get((chat_id, message_id))
            return json.loads(json.dumps(found)) if found is not None else None

    def messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (current state), oldest first."""
        with self._cond:
            found = [m for (c, _), m in self._messages.items() if chat_id is None or c == chat_id]
            return json.loads(json.dumps(found))

    def reset_state(self) -> None:
        with self._cond:
            self._messages.clear()
            self._next_id.clear()
            self._blocked.clear()
            self.webhook = None

    # ------------------------------------------------------------------ handlers

    def _chat_id(self, params: dict[str, Any]) -> int | str | None:
        raw = params.get("chat_id")
        as_int = _as_int(raw)
        if as_int is not None:
            return as_int
        if isinstance(raw, str) and raw.startswith("@"):
            return raw
        return None

    def _is_blocked(self, chat_id: int | str) -> bool:
        with self._cond:
            return chat_id in self._blocked

    async def _get_me(self, record: RecordedRequest) -> Reply:
        return ok(
            {
                **self.bot_user,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    async def _get_file(self, record: RecordedRequest) -> Reply:
        file_id = str(record.params.get("file_id", ""))
        with self._cond:
            content = self.files.get(file_id)
        if content is None:
            return _err(400, "Bad Request: invalid file_id")
        return ok({"file_id": file_id, "file_unique_id": "u" + file_id,
                   "file_size": len(content), "file_path": f"files/{file_id}"})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=404)
        with self._cond:
            content = self.files.get(request.match_info["file_id"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    async def _true(self, record: RecordedRequest) -> Reply:
        return ok(True)

    async def _true_for_chat(self, record: RecordedRequest) -> Reply:
        chat_id = self._chat_id(record.params)
        if chat_id is None:
            return _err(400, "Bad Request: chat not found")
        if self._is_blocked(chat_id):
            return _err(403, BLOCKED_DESCRIPTION)
        return ok(True)

    async def _send_message(self, record: RecordedRequest) -> Reply:
        p = record.params
        chat_id = self._chat_id(p)
        if chat_id is None:
            return _err(
                400,
                "Bad Request: chat_id is empty"
                if "chat_id" not in p
                else "Bad Request: chat not found",
            )
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            return _err(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _err(400, "Bad Request: message is too long")
        if self._is_blocked(chat_id):
            return _err(403, BLOCKED_DESCRIPTION)
        with self._cond:
            message_id = self._next_id.get(chat_id, 0) + 1
            self._next_id[chat_id] = message_id
            msg: dict[str, Any] = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat_object(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            markup = _inline_markup(p.get("reply_markup"))
            if markup is not None:
                msg["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = msg
            return ok(json.loads(json.dumps(msg)))

    async def _edit(
        self, record: RecordedRequest, text: str | None, markup: dict[str, Any] | None
    ) -> Reply:
        p = record.params
        if p.get("inline_message_id"):
            return ok(True)
        chat_id = self._chat_id(p)
        message_id = _as_int(p.get("message_id"))
        if chat_id is None or message_id is None:
            return _err(400, "Bad Request: message identifier is not specified")
        if self._is_blocked(chat_id):
            return _err(403, BLOCKED_DESCRIPTION)
        with self._cond:
            msg = self._messages.get((chat_id, message_id))
            if msg is None:
                if self.strict_edits:
                    return _err(400, "Bad Request: message to edit not found")
                msg = {
                    "message_id": message_id,
                    "from": self.bot_user,
                    "chat": chat_object(chat_id),
                    "date": int(time.time()),
                    "text": text if text is not None else "…",
                }
                self._messages[(chat_id, message_id)] = msg
            else:
                new_text = msg.get("text") if text is None else text
                if new_text == msg.get("text") and markup == msg.get("reply_markup"):
                    return _err(400, NOT_MODIFIED_DESCRIPTION)
            if text is not None:
                msg["text"] = text
            if markup is None:
                msg.pop("reply_markup", None)
            else:
                msg["reply_markup"] = markup
            msg["edit_date"] = int(time.time())
            return ok(json.loads(json.dumps(msg)))

    async def _edit_message_text(self, record: RecordedRequest) -> Reply:
        text = record.params.get("text")
        if not isinstance(text, str) or not text.strip():
            return _err(400, "Bad Request: text must be non-empty")
        if len(text) > 4096:
            return _err(400, "Bad Request: MESSAGE_TOO_LONG")
        return await self._edit(record, text, _inline_markup(record.params.get("reply_markup")))

    async def _edit_message_reply_markup(self, record: RecordedRequest) -> Reply:
        return await self._edit(record, None, _inline_markup(record.params.get("reply_markup")))

    async def _answer_callback_query(self, record: RecordedRequest) -> Reply:
        if not record.params.get("callback_query_id"):
            return _err(400, 'Bad Request: parameter "callback_query_id" is required')
        return ok(True)

    async def _set_webhook(self, record: RecordedRequest) -> Reply:
        p = record.params
        url = p.get("url") or ""
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            return _err(400, "Bad Request: secret token contains unallowed characters")
        with self._cond:
            if not url:
                self.webhook = None
                return ok(True, "Webhook was deleted")
            self.webhook = {
                "url": url,
                "secret_token": secret,
                "allowed_updates": p.get("allowed_updates"),
                "max_connections": p.get("max_connections", 40),
                "drop_pending_updates": p.get("drop_pending_updates", False),
            }
        return ok(True, "Webhook was set")

    async def _delete_webhook(self, record: RecordedRequest) -> Reply:
        with self._cond:
            had = self.webhook is not None
            self.webhook = None
        return ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def _get_webhook_info(self, record: RecordedRequest) -> Reply:
        with self._cond:
            hook = dict(self.webhook) if self.webhook else None
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if hook:
            info.update(
                url=hook["url"], max_connections=hook["max_connections"], ip_address="127.0.0.1"
            )
            if hook["allowed_updates"]:
                info["allowed_updates"] = hook["allowed_updates"]
        return ok(info)

    # ------------------------------------------------------------------ toward the app

    async def deliver_update(
        self, update: dict[str, Any], *, url: str | None = None, secret_token: str | None = None
    ) -> tuple[int, str]:
        """POST ``update`` to the registered webhook (or ``url``) as Telegram does, with the
        ``X-Telegram-Bot-Api-Secret-Token`` header from setWebhook (or ``secret_token``)."""
        with self._cond:
            hook = dict(self.webhook) if self.webhook else {}
        target = url or hook.get("url")
        if not target:
            raise ValueError("no webhook registered and no url given")
        secret = secret_token if secret_token is not None else hook.get("secret_token")
        headers = {SECRET_HEADER: secret} if secret else {}
        async with (
            ClientSession() as session,
            session.post(target, json=update, headers=headers) as resp,
        ):
            return resp.status, await resp.text()


def _inline_markup(value: Any) -> dict[str, Any] | None:
    """Telegram echoes only inline keyboards in the returned Message (PTB's
    ``Message.reply_markup`` is an InlineKeyboardMarkup; echoing a ReplyKeyboardMarkup would
    break its parsing)."""
    markup = _as_markup(value)
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, FileField):
            content = value.file.read()
            params[key] = {
                "filename": value.filename,
                "content_type": value.content_type,
                "size": len(content),
            }
        else:
            params[key] = _decode(key, str(value))
    return params
