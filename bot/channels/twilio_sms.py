"""Twilio SMS through the twilio library's async client, pointed at O2R_TWILIO_API_URL."""

from __future__ import annotations

import base64

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.base import Permanent, RetryLater, Sent
from bot.core.clock import parse_iso
from bot.core.outbox import OutRow
from config.settings import TWILIO_DEFAULT_API, Settings

# Twilio error codes meaning the recipient opted out or cannot be reached at all.
OPTED_OUT_CODES = frozenset({21610})
PERMANENT_CODES = frozenset({21211, 21214, 21408, 21612, 21614, 30003, 30005, 30006})


class RateLimited(Exception):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"429 retry after {retry_after}")
        self.retry_after = retry_after


class RedirectingHttpClient(AsyncTwilioHttpClient):
    """The library has Twilio's host built in; tests and proxies need another base URL.

    Also: the async client ignores its own timeout (aiohttp then waits forever), so we pass it on
    each request; we send Basic auth as a header (aiohttp deprecates `auth=`); and we surface a
    429's Retry-After, which the library drops when it raises. Build it inside a running loop.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - upstream signature
        allow_redirects: bool = False,
    ) -> Response:
        if url == TWILIO_DEFAULT_API or url.startswith(TWILIO_DEFAULT_API + "/"):
            url = self.base_url + url[len(TWILIO_DEFAULT_API):]
        if auth is not None:
            creds = base64.b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {creds}"}
        response = await super().request(
            method, url, params=params, data=data, headers=headers, auth=None,
            timeout=self.timeout if timeout is None else timeout,
            allow_redirects=allow_redirects)
        if response.status_code == 429:
            raw = (response.headers or {}).get("Retry-After")
            try:
                retry_after = float(raw) if raw is not None else None
            except ValueError:
                retry_after = None
            raise RateLimited(retry_after)
        return response


class TwilioSender:
    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
        self._http = RedirectingHttpClient(settings.twilio_api_url, settings.send_timeout)
        self._client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                              http_client=self._http)
        self._from = settings.twilio_from
        self._callback = settings.public("/webhooks/twilio/status")

    async def send(self, row: OutRow) -> Sent:
        if row.op != "send":
            raise Permanent(f"SMS cannot {row.op}")
        try:
            msg = await self._client.messages.create_async(
                to=row.address, from_=self._from, body=row.body,
                status_callback=self._callback)
        except RateLimited as exc:
            raise RetryLater("twilio 429", retry_after=exc.retry_after) from None
        except TwilioRestException as exc:
            if exc.code in OPTED_OUT_CODES:
                raise Permanent(f"twilio {exc.code}: recipient opted out", opted_out=True) from None
            if exc.code in PERMANENT_CODES or 400 <= exc.status < 500:
                raise Permanent(f"twilio {exc.status}/{exc.code}: {exc.msg}") from None
            raise RetryLater(f"twilio {exc.status}/{exc.code}") from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise RetryLater("twilio timeout", maybe_sent=True) from None
        except aiohttp.ClientError as exc:
            raise RetryLater(f"twilio connection: {exc.__class__.__name__}") from None
        segments = int(msg.num_segments) if msg.num_segments else row.segments
        return Sent(provider_id=msg.sid, segments=segments)

    async def find_sent(self, row: OutRow) -> Sent | None:
        """After a timed-out send: did Twilio take it anyway? Avoids texting someone twice."""
        try:
            recent = await self._client.messages.list_async(to=row.address, limit=20)
        except Exception:
            return None  # cannot tell: send again rather than risk losing it
        since = parse_iso(row.created_at) if row.created_at else None
        for msg in recent:
            created = msg.date_created
            if msg.body == row.body and (since is None or created is None or created >= since):
                return Sent(provider_id=msg.sid,
                            segments=int(msg.num_segments) if msg.num_segments else None)
        return None

    async def close(self) -> None:
        await self._http.close()
