"""Fake Twilio REST API (Programmable Messaging subset) for integration tests.

Speaks enough of ``https://api.twilio.com/2010-04-01`` for the real ``twilio`` v9 library:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``   -> method ``"messages.create"``
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages.json``   -> method ``"messages.list"``
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` -> method ``"messages.fetch"``

HTTP basic auth must be ``AccountSid:AuthToken``.  Errors use Twilio's legacy error shape
``{"code", "message", "more_info", "status"}`` which the library turns into
``TwilioRestException`` (a body with ``type``+``title``+``status``+``code`` would instead
become ``TwilioServiceException``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, ClientSession, web
from twilio.request_validator import RequestValidator

from bot.core.segments import count_segments

from .base import FakeServer, Fault, RecordedRequest, Reply

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token-0000000000"
CREATE = "messages.create"
LIST = "messages.list"
FETCH = "messages.fetch"
UNSUBSCRIBED_CODE = 21610

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

_ERROR_MESSAGES: dict[int, tuple[int, str]] = {
    400: (21600, "Bad Request"),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    502: (20502, "Bad Gateway"),
    503: (20503, "Service Unavailable"),
    504: (20504, "Gateway Timeout"),
}


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    """Twilio's (legacy) REST error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment)


class FakeTwilioApi(FakeServer):
    """Fake Twilio Messages API.  See module docstring for routes.

    State: accepted messages (``messages()``), numbers that answer 21610 on every send
    (``unsubscribe``).  Faults address the methods ``"messages.create"``,
    ``"messages.list"``, ``"messages.fetch"`` (or ``"*"``).
    """

    name = "fake-twilio"
    CREATE = CREATE
    LIST = LIST
    FETCH = FETCH

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        super().__init__(host=host, port=port, latency=latency)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._messages: list[dict[str, Any]] = []  # oldest first
        self._status_callbacks: dict[str, str] = {}
        self._unsubscribed: set[str] = set()
        # Twilio's own clock (date_created has whole seconds); tests align it with theirs.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def enforce_rate(self, count: float, window: float = 1.0) -> None:
        """Twilio's sending rate per sender: ``count`` segments in any ``window`` seconds."""
        self.enforce_limit(CREATE, count, window,
                           key=lambda r: str(r.params.get("From") or ""),
                           weight=lambda r: float(count_segments(str(r.params.get("Body") or ""))))

    # ------------------------------------------------------------------ app

    def build_app(self) -> web.Application:
        app = web.Application()
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        app.router.add_post(f"{base}/Messages.json", self._create)
        app.router.add_get(f"{base}/Messages.json", self._list)
        app.router.add_get(f"{base}/Messages/{{sid}}.json", self._fetch)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            return False
        return auth.login == self.account_sid and auth.password == self.auth_token

    def _gate(
        self, request: web.Request, method: str, params: dict[str, Any]
    ) -> web.Response | None:
        if not self._authorized(request):
            body = twilio_error(20003, "Authenticate", 401)
            body["detail"] = "Your AccountSid or AuthToken was incorrect."
            return self.reject(
                request,
                method,
                params,
                Reply(401, body, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}),
            )
        if request.match_info["account_sid"] != self.account_sid:
            return self.reject(request, method, params, self._not_found_reply(request.path))
        return None

    @staticmethod
    def _not_found_reply(path: str) -> Reply:
        return Reply(404, twilio_error(20404, f"The requested resource {path} was not found", 404))

    async def _not_found(self, request: web.Request) -> web.Response:
        return self.reject(
            request, "unknown", dict(request.query), self._not_found_reply(request.path)
        )

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        params: dict[str, Any] = {}
        for key in form:
            values = [str(v) for v in form.getall(key)]
            params[key] = values if len(values) > 1 else values[0]
        if (denied := self._gate(request, CREATE, params)) is not None:
            return denied
        return await self.dispatch(request, CREATE, params, self._do_create)

    async def _list(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if (denied := self._gate(request, LIST, params)) is not None:
            return denied
        return await self.dispatch(request, LIST, params, self._do_list)

    async def _fetch(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = {"Sid": request.match_info["sid"], **request.query}
        if (denied := self._gate(request, FETCH, params)) is not None:
            return denied
        return await self.dispatch(request, FETCH, params, self._do_fetch)

    # ------------------------------------------------------------------ handlers

    async def _do_create(self, record: RecordedRequest) -> Reply:
        p = record.params
        to = str(p.get("To") or "")
        sender = p.get("From")
        service = p.get("MessagingServiceSid")
        body = str(p.get("Body") or "")
        if not to:
            return Reply(400, twilio_error(21604, "A 'To' phone number is required.", 400))
        if not sender and not service:
            return Reply(
                400,
                twilio_error(
                    21603,
                    "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
                    400,
                ),
            )
        if not body and not p.get("MediaUrl") and not p.get("ContentSid"):
            return Reply(400, twilio_error(21602, "Message body is required.", 400))
        if len(body) > 1600:
            return Reply(
                400,
                twilio_error(
                    21617, "The concatenated message body exceeds the 1600 character limit.", 400
                ),
            )
        address = to.split(":", 1)[1] if ":" in to else to
        if not _E164.match(address):
            return Reply(
                400, twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
            )
        if to in self._unsubscribed:
            return Reply(400, unsubscribed_error())

        now = self.now()
        sid = _new_sid("SM")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        media = p.get("MediaUrl") or []
        message: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": _rfc2822(now),
            "date_sent": None,
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": str(len(media) if isinstance(media, list) else 1),
            "num_segments": str(count_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if sender else "accepted",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        with self._cond:
            self._messages.append(message)
            if p.get("StatusCallback"):
                self._status_callbacks[sid] = str(p["StatusCallback"])
        return Reply(201, dict(message), accepted=True)

    async def _do_list(self, record: RecordedRequest) -> Reply:
        p = record.params
        try:
            page = int(p.get("Page", 0))
            page_size = max(1, min(1000, int(p.get("PageSize", 50))))
        except ValueError:
            return Reply(400, twilio_error(20001, "Invalid paging parameters", 400))
        with self._cond:
            found = [
                dict(m)
                for m in reversed(self._messages)
                if (not p.get("To") or m["to"] == p["To"])
                and (not p.get("From") or m["from"] == p["From"])
            ]
        start = page * page_size
        chunk = found[start : start + page_size]
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        filters = {k: p[k] for k in ("To", "From") if p.get(k)}

        def page_uri(n: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': page_size, 'Page': n})}"

        has_next = start + page_size < len(found)
        payload = {
            "end": start + max(len(chunk), 1) - 1,
            "first_page_uri": page_uri(0),
            "messages": chunk,
            "next_page_uri": page_uri(page + 1) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page),
        }
        return Reply(200, payload, accepted=True)

    async def _do_fetch(self, record: RecordedRequest) -> Reply:
        found = self.message(str(record.params["Sid"]))
        if found is None:
            return self._not_found_reply(record.path)
        return Reply(200, found, accepted=True)

    # ------------------------------------------------------------------ faults

    def permanent_fault(self) -> Fault:
        return Fault("unsubscribed", 400, unsubscribed_error())

    def unsubscribed(self, method: str = CREATE, times: int = 1) -> None:
        """Queue the 21610 "unsubscribed recipient" error (a STOP'd number)."""
        self.permanent_error(method, times)

    def error_body(self, status: int) -> Any:
        code, message = _ERROR_MESSAGES.get(status, (status, "Error"))
        return twilio_error(code, message, status)

    # ------------------------------------------------------------------ state

    def unsubscribe(self, number: str) -> None:
        """Every later send to ``number`` answers 21610 (until :meth:`resubscribe`)."""
        with self._cond:
            self._unsubscribed.add(number)

    def resubscribe(self, number: str) -> None:
        with self._cond:
            self._unsubscribed.discard(number)

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages (optionally only those to ``to``) as Twilio JSON, oldest first."""
        with self._cond:
            return [dict(m) for m in self._messages if to is None or m["to"] == to]

    def message(self, sid: str) -> dict[str, Any] | None:
        with self._cond:
            for m in self._messages:
                if m["sid"] == sid:
                    return dict(m)
        return None

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> dict[str, Any]:
        """Move a stored message to ``status`` ("sent", "delivered", "undelivered", ...)."""
        with self._cond:
            for m in self._messages:
                if m["sid"] == sid:
                    now = _rfc2822(self.now())
                    m["status"] = status
                    m["date_updated"] = now
                    if status in ("sent", "delivered") and m["date_sent"] is None:
                        m["date_sent"] = now
                    m["error_code"] = error_code
                    return dict(m)
        raise KeyError(sid)

    def reset_state(self) -> None:
        with self._cond:
            self._messages.clear()
            self._status_callbacks.clear()
            self._unsubscribed.clear()

    # ------------------------------------------------------------------ webhooks toward the app

    def signature(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` Twilio would send for a form POST of ``params`` to ``url``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def status_callback_params(self, sid: str) -> dict[str, str]:
        """Form fields of Twilio's message status callback for the stored message ``sid``."""
        m = self.message(sid)
        if m is None:
            raise KeyError(sid)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": m["from"] or "",
            "MessageSid": sid,
            "MessageStatus": m["status"],
            "SmsSid": sid,
            "SmsStatus": m["status"],
            "To": m["to"],
        }
        if m["error_code"] is not None:
            params["ErrorCode"] = str(m["error_code"])
        return params

    def inbound_sms_params(
        self, from_: str, to: str, body: str, message_sid: str | None = None
    ) -> dict[str, str]:
        """Form fields of Twilio's incoming-SMS webhook."""
        sid = message_sid or _new_sid("SM")
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(count_segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
        }

    async def post_signed(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """POST ``params`` form-encoded to ``url`` with a valid ``X-Twilio-Signature``."""
        headers = {"X-Twilio-Signature": self.signature(url, params)}
        async with (
            ClientSession() as session,
            session.post(url, data=params, headers=headers) as resp,
        ):
            return resp.status, await resp.text()

    async def send_status_callback(
        self, sid: str, status: str, error_code: int | None = None, url: str | None = None
    ) -> tuple[int, str]:
        """Set ``status`` and POST the signed status callback (to the stored StatusCallback)."""
        self.set_status(sid, status, error_code)
        with self._cond:
            target = url or self._status_callbacks.get(sid)
        if not target:
            raise ValueError(f"message {sid} has no StatusCallback and no url was given")
        return await self.post_signed(target, self.status_callback_params(sid))


def unsubscribed_error() -> dict[str, Any]:
    return twilio_error(UNSUBSCRIBED_CODE, "Attempt to send to unsubscribed recipient", 400)
