"""Shared machinery for the local fake provider HTTP servers.

A fake is an aiohttp.web application bound to 127.0.0.1 on a free port.  It can run

* inside the caller's event loop (``await fake.start()`` / ``await fake.stop()`` or
  ``async with fake:``), which is what async pytest tests use, or
* in a background thread with its own event loop (``fake.start_in_thread()`` /
  ``fake.stop_thread()`` or ``with fake:``), for benchmarks and synchronous tests.

Every request is recorded as a :class:`RecordedRequest`.  Faults are queued per method in a
FIFO and each request to that method consumes at most one fault.  All bookkeeping is guarded
by a lock, so tests may inject faults and inspect records from any thread.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

ANY_METHOD = "*"
"""Fault target matching every method (consulted only when the method's own FIFO is empty)."""


@dataclass(frozen=True)
class Fault:
    """One queued fault.

    ``kind`` is a label stored on the record ("fail", "timeout", "rate_limit", "blocked",
    "unsubscribed", "fault", ...).  ``delay`` holds the request that long before answering.
    With ``deliver=True`` the request is processed normally (provider-side effect happens, the
    record counts as sent) and only the answer is delayed; otherwise the fault's own
    ``status``/``body`` is answered after the delay.
    """

    kind: str
    status: int
    body: Any = None
    delay: float = 0.0
    deliver: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    """One request seen by a fake.

    ``method`` is the logical method name (Telegram: "sendMessage"; Twilio:
    "messages.create", ...).  ``params`` are the parsed parameters.  ``received_at`` is
    ``time.monotonic()`` at arrival.  ``status``/``response`` are what was answered
    (``response`` is the decoded JSON body).  ``accepted`` is True when the provider
    processed the request successfully (the side effect happened), even if the answer was
    delayed by a ``timeout(..., deliver=True)`` fault and the client gave up.
    """

    method: str
    params: dict[str, Any]
    received_at: float
    http_method: str
    path: str
    headers: dict[str, str]
    status: int | None = None
    response: Any = None
    answered_at: float | None = None
    fault: str | None = None
    accepted: bool = False

    @property
    def ok(self) -> bool:
        return self.accepted


@dataclass
class Reply:
    """What a provider handler wants answered."""

    status: int
    body: Any
    accepted: bool = False
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[RecordedRequest], Awaitable[Reply]]


@dataclass
class WindowLimit:
    """The provider's own limit: at most ``count`` (weighted) requests of ``method`` per key in
    ANY ``window`` seconds of arrival time; the next one is refused with 429."""

    method: str
    count: float
    window: float
    key: Callable[[RecordedRequest], str | None]  # None: not counted by this limit
    weight: Callable[[RecordedRequest], float]
    seen: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)

    def admit(self, record: RecordedRequest) -> float | None:
        """None if admitted (and counted); else seconds until it would be."""
        key = self.key(record)
        if key is None:
            return None
        log = self.seen.setdefault(key, deque())
        now = record.received_at
        while log and log[0][0] <= now - self.window:
            log.popleft()
        weight = self.weight(record)
        used = sum(w for _, w in log)
        if used and used + weight > self.count:
            return max(0.001, log[0][0] + self.window - now)
        log.append((now, weight))
        return None


class FakeServer:
    """Base class: lifecycle, recording, fault FIFOs and waiting helpers."""

    name = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        """Extra seconds added before every answer (simulated provider round trip)."""
        self._requested_port = port
        self._cond = threading.Condition()
        self._records: list[RecordedRequest] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._limits: list[WindowLimit] = []
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def build_app(self) -> web.Application:  # pragma: no cover - overridden
        raise NotImplementedError

    async def start(self) -> Self:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        runner = web.AppRunner(
            self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()  # release requests held by timeout faults
        await runner.cleanup()
        self._loop = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 5.0) -> str:
        """Run the fake in a daemon thread with its own event loop; returns ``url``."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already running in a thread")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # surfaced to the caller below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        thread = threading.Thread(target=run, name=f"{self.name}-server", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"{type(self).__name__} did not start within {timeout}s")
        if failure:
            thread.join(timeout)
            raise failure[0]
        self._thread, self._thread_loop = thread, loop
        return self.url

    def stop_thread(self, timeout: float = 5.0) -> None:
        thread, loop = self._thread, self._thread_loop
        if thread is None or loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.stop(), loop)
        try:
            future.result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread = self._thread_loop = None

    def __enter__(self) -> Self:
        self.start_in_thread()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()

    # ------------------------------------------------------------------ faults

    def fault(
        self,
        method: str,
        status: int,
        body: Any = None,
        times: int = 1,
        *,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        kind: str = "fault",
    ) -> None:
        """Queue ``times`` copies of an arbitrary answer for ``method``.

        ``body`` may be a JSON-able object, ``str`` or ``bytes``; ``None`` means the
        provider's standard error body for ``status``.
        """
        if body is None:
            body = self.error_body(status)
        self._push(method, Fault(kind, status, body, delay, False, dict(headers or {})), times)

    def fail(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer ``status`` (default 500) with the provider's standard error body."""
        self._push(method, Fault("fail", status, self.error_body(status)), times)

    def timeout(
        self, method: str, seconds: float = 30.0, times: int = 1, *, deliver: bool = False
    ) -> None:
        """Hold the request ``seconds`` before answering, so the client times out.

        ``deliver=False`` (default): the request is *not* processed; after the hold a 504 is
        answered.  ``deliver=True``: the request *is* processed at once (the provider-side
        effect happens and it counts in :meth:`sent`), only the success answer is late - the
        ambiguous "did my timed-out send go through?" case.
        Held requests are released immediately when the fake stops.
        """
        self._push(
            method,
            Fault("timeout", 504, self.error_body(504), seconds, deliver),
            times,
        )

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the provider's 429 "too many requests" error."""
        status, body, headers = self.rate_limit_reply(retry_after)
        self._push(method, Fault("rate_limit", status, body, headers=headers), times)

    def permanent_error(self, method: str, times: int = 1) -> None:
        """Answer the provider's canonical permanent per-recipient error."""
        self._push(method, self.permanent_fault(), times)

    def enforce_limit(
        self,
        method: str,
        count: float,
        window: float = 1.0,
        *,
        key: Callable[[RecordedRequest], str | None] | None = None,
        weight: Callable[[RecordedRequest], float] | None = None,
    ) -> None:
        """Refuse (429) any request beyond ``count`` in any ``window`` seconds, as providers do.

        ``key`` splits the count (per chat, per group; None = not counted), ``weight`` weighs a
        request (Twilio counts segments).  Refused requests are recorded with fault
        ``"rate_limit"`` (see :meth:`refusals`) and do not count.
        """
        with self._cond:
            self._limits.append(WindowLimit(
                self.canonical_method(method), count, window,
                key or (lambda _r: ""), weight or (lambda _r: 1.0)))

    def outage(self, method: str = ANY_METHOD, status: int = 500) -> None:
        """Answer ``status`` to every request (of ``method``) until :meth:`clear_faults`."""
        self.fail(method, status, times=1_000_000)

    def refusals(self, method: str | None = None) -> list[RecordedRequest]:
        """Requests refused by a limit set with :meth:`enforce_limit`."""
        return [r for r in self.requests(method) if r.fault == "rate_limit"]

    def _over_limit(self, record: RecordedRequest) -> float | None:
        with self._cond:
            for limit in self._limits:
                if limit.method != record.method:
                    continue
                wait = limit.admit(record)
                if wait is not None:
                    return wait
        return None

    def clear_faults(self, method: str | None = None) -> None:
        with self._cond:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def pending_faults(self, method: str) -> int:
        with self._cond:
            return len(self._faults.get(method, ()))

    def _push(self, method: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._cond:
            self._faults.setdefault(self.canonical_method(method), deque()).extend([fault] * times)

    def _pop_fault(self, method: str) -> Fault | None:
        with self._cond:
            for key in (method, ANY_METHOD):
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    # hooks for providers -------------------------------------------------------

    def canonical_method(self, method: str) -> str:
        return method

    def error_body(self, status: int) -> Any:
        return {"error": http_phrase(status), "status": status}

    def rate_limit_reply(self, retry_after: int) -> tuple[int, Any, dict[str, str]]:
        return 429, self.error_body(429), {"Retry-After": str(retry_after)}

    def _refusal(self, wait: float) -> tuple[int, Any, bool, float, dict[str, str]]:
        status, body, headers = self.rate_limit_reply(max(1, math.ceil(wait)))
        return status, body, 0.0, False, headers

    def permanent_fault(self) -> Fault:  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------------ dispatch

    async def dispatch(
        self, request: web.Request, method: str, params: dict[str, Any], handler: Handler
    ) -> web.Response:
        """Record the request, apply a queued fault or call ``handler``, answer."""
        record = RecordedRequest(
            method=method,
            params=params,
            received_at=time.monotonic(),
            http_method=request.method,
            path=request.path,
            headers=dict(request.headers),
        )
        self._append(record)
        wait = self._over_limit(record)
        fault = self._pop_fault(method) if wait is None else Fault(
            "rate_limit", *self._refusal(wait))
        try:
            if fault is not None and not fault.deliver:
                reply = Reply(fault.status, fault.body, headers=dict(fault.headers))
                record.fault = fault.kind
            else:
                try:
                    reply = await handler(record)
                except Exception:
                    record.status = 500
                    raise
                if fault is not None:
                    record.fault = fault.kind
            with self._cond:
                record.status, record.response = reply.status, reply.body
                record.accepted = reply.accepted
            self._notify()
            delay = self.latency + (fault.delay if fault is not None else 0.0)
            if delay > 0:
                await self._hold(delay)
        finally:
            record.answered_at = time.monotonic()
        return _to_response(reply)

    def reject(
        self, request: web.Request, method: str, params: dict[str, Any], reply: Reply
    ) -> web.Response:
        """Record a request that is refused before dispatch (auth, routing)."""
        now = time.monotonic()
        record = RecordedRequest(
            method=method,
            params=params,
            received_at=now,
            http_method=request.method,
            path=request.path,
            headers=dict(request.headers),
            status=reply.status,
            response=reply.body,
            answered_at=now,
        )
        self._append(record)
        return _to_response(reply)

    async def _hold(self, seconds: float) -> None:
        closing = self._closing
        if closing is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(closing.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # ------------------------------------------------------------------ records

    def _append(self, record: RecordedRequest) -> None:
        with self._cond:
            self._records.append(record)
        self._notify()

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop closed
                pass

    @property
    def records(self) -> list[RecordedRequest]:
        """Snapshot of every recorded request, oldest first."""
        with self._cond:
            return list(self._records)

    def requests(self, method: str | None = None) -> list[RecordedRequest]:
        """All recorded requests (optionally of one method), including failed ones."""
        method = None if method is None else self.canonical_method(method)
        return [r for r in self.records if method is None or r.method == method]

    def sent(self, method: str | None = None) -> list[RecordedRequest]:
        """Requests the provider accepted (optionally of one method), oldest first."""
        return [r for r in self.requests(method) if r.accepted]

    def reset(self) -> None:
        """Forget records and queued faults, and reset provider state."""
        with self._cond:
            self._records.clear()
            self._faults.clear()
        self.reset_state()

    def reset_state(self) -> None:
        """Provider hook: clear stored messages etc."""

    def _describe(self) -> str:
        records = self.records
        if not records:
            return "nothing was recorded"
        lines = [
            f"  {r.method} -> {r.status}{' [' + r.fault + ']' if r.fault else ''}"
            f"{' accepted' if r.accepted else ''} {_short(r.params)}"
            for r in records
        ]
        return f"{len(records)} request(s) recorded:\n" + "\n".join(lines)

    async def wait_for(  # timeout argument mirrors asyncio.wait_for
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Wait until at least ``count`` accepted ``method`` requests exist; return them."""
        method = self.canonical_method(method)
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        deadline = loop.time() + timeout
        with self._cond:
            self._waiters.add(waiter)
        try:
            while True:
                event.clear()
                found = self.sent(method)
                if len(found) >= count:
                    return found
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(event.wait(), timeout=remaining)
                except TimeoutError:
                    pass
        finally:
            with self._cond:
                self._waiters.discard(waiter)
        raise TimeoutError(
            f"{type(self).__name__}: wanted {count} accepted {method!r} request(s) within "
            f"{timeout}s, got {len(found)}; {self._describe()}"
        )

    def wait_for_sync(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Blocking variant of :meth:`wait_for` for sync tests (fake in a thread)."""
        method = self.canonical_method(method)
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.sent(method)) >= count, timeout)
        if ok:
            return self.sent(method)
        raise TimeoutError(
            f"{type(self).__name__}: wanted {count} accepted {method!r} request(s) within "
            f"{timeout}s, got {len(self.sent(method))}; {self._describe()}"
        )


# ---------------------------------------------------------------------- helpers


def http_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _short(params: dict[str, Any], limit: int = 120) -> str:
    text = json.dumps(params, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _to_response(reply: Reply) -> web.Response:
    body = reply.body
    if isinstance(body, bytes):
        return web.Response(status=reply.status, body=body, headers=reply.headers)
    if isinstance(body, str):
        return web.Response(status=reply.status, text=body, headers=reply.headers)
    return web.json_response(body, status=reply.status, headers=reply.headers)
