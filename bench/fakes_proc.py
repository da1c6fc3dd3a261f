"""The fake providers in a process of their own, so they do not steal the load generator's CPU.

Prints "twilio=URL telegram=URL" on its first line, then serves until killed. A fake's records
can be read back over HTTP: GET /_records/<fake>/<method> answers with the received-at times,
GET /_refused/<fake>/<method> with the number of 429s. BENCH_FAKE_LIMITS="twilio=10,telegram=30"
makes the fakes refuse the (N+1)th request in any second (Telegram also 1/s per chat).
"""

from __future__ import annotations

import os
import signal
import threading
import time

from aiohttp import web

from tests.fakes import FakeTelegramApi, FakeTwilioApi


def main() -> None:
    twilio, telegram = FakeTwilioApi(), FakeTelegramApi()
    limits = dict(part.split("=", 1) for part in
                  os.environ.get("BENCH_FAKE_LIMITS", "").split(",") if part)
    if "twilio" in limits:
        twilio.enforce_rate(float(limits["twilio"]), 1.0)
    if "telegram" in limits:
        telegram.enforce_rates(overall=float(limits["telegram"]), per_chat=1)
    tw, tg = twilio.start_in_thread(), telegram.start_in_thread()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    async def records(request: web.Request) -> web.Response:
        fake = twilio if request.match_info["fake"] == "twilio" else telegram
        method = request.match_info["method"]
        return web.json_response([
            {"at": r.received_at + offset, "params": r.params} for r in fake.sent(method)])

    async def refused(request: web.Request) -> web.Response:
        fake = twilio if request.match_info["fake"] == "twilio" else telegram
        return web.json_response(len(fake.refusals(request.match_info["method"])))

    # Wall-clock times, so another process can compare them with its own.
    offset = time.time() - time.monotonic()
    app = web.Application()
    app.router.add_get("/_records/{fake}/{method}", records)
    app.router.add_get("/_refused/{fake}/{method}", refused)
    runner = web.AppRunner(app)
    import asyncio

    loop = asyncio.new_event_loop()
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"twilio={tw} telegram={tg} records=http://127.0.0.1:{port}", flush=True)
    while not stop.is_set():
        loop.run_until_complete(asyncio.sleep(0.2))
    twilio.stop_thread()
    telegram.stop_thread()


if __name__ == "__main__":
    main()
