"""Twilio SMS through the twilio library's async client, pointed at O2R_TWILIO_API_URL."""

from __future__ import annotations

import base64
from datetime import timedelta

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.base import Permanent, RetryLater, Sent, mark_answered
from bot.core.clock import parse_iso
from bot.core.outbox import OutRow
from config.settings import TWILIO_DEFAULT_API, Settings

# Twilio error codes meaning the recipient opted out or cannot be reached at all.
OPTED_OUT_CODES = frozenset({21610})
PERMANENT_CODES = frozenset({21211, 21214, 21408, 21612, 21614, 30003, 30005, 30006})


# How far Twilio's clock may be behind ours, on top of its whole-second timestamps.
SKEW = timedelta(seconds=60)
LOOKUP_LIMIT = 50


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
        mark_answered()
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
        # The library imports its REST API on first use; do it here, not on the first send.
        _ = self._client.api.v2010
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
            raise RetryLater("twilio 429", retry_after=exc.retry_after, refused=True) from None
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

    async def find_sent(self, row: OutRow) -> list[Sent] | None:
        """After a timeout or a crash mid-send: did Twilio take it anyway? Avoids a second text.

        Twilio has no idempotency key and does not echo the StatusCallback URL, so a message is
        recognised by To + Body, created no earlier than our first attempt. Twilio's
        date_created has whole seconds (and its clock is not ours), so the window starts at
        the second of our first attempt less SKEW. Returns the candidates oldest first (the
        caller skips any that another outbox row already owns), or None if Twilio cannot be
        asked, in which case the caller waits rather than risk a duplicate.
        """
        try:
            recent = await self._client.messages.list_async(to=row.address, limit=LOOKUP_LIMIT)
        except RateLimited:
            return None
        except Exception:
            return None
        start = parse_iso(row.first_attempt_at or row.created_at) if (
            row.first_attempt_at or row.created_at) else None
        since = start.replace(microsecond=0) - SKEW if start is not None else None
        found = [Sent(provider_id=msg.sid,
                      segments=int(msg.num_segments) if msg.num_segments else None)
                 for msg in recent
                 if msg.body == row.body and (since is None or msg.date_created is None
                                              or msg.date_created >= since)]
        found.reverse()  # Twilio lists newest first
        return found

    async def close(self) -> None:
        await self._http.close()
