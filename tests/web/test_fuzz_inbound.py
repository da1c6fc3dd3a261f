"""Fuzz: thousands of hostile requests, with real messages mixed in, never give a 5xx.

A seeded, bounded generator (reproducible: the seed and the failing requests are in the
assertion message) sends garbage to the webhooks (signed and unsigned, every content type,
mutated Telegram updates, bad encodings, lying lengths) and to the panel (signed out and as a
supervisor with a valid CSRF token). Every 25th request is a real "help" from Sam by SMS or
Telegram, and some are redelivered; each must be stored once and answered once.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any
from urllib.parse import urlencode

from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import PUBLIC_URL, TG_SECRET, Harness
from tests.fakes.telegram_api import make_callback_update, make_group_text_update, make_text_update
from tests.web.support import raw_client

demo = demo_fixture
panels = panels_fixture

SEED = 20261125
REQUESTS = 3000
REAL_EVERY = 25
BATCH = 8
SAM_PHONE = "+447700900155"
SAM_CHAT = 7770001

Request = tuple[str, str, list[tuple[bytes, bytes]], bytes]

TEXTS = ["", " ", "help", "1", "ACK 1", "ack 99999999999999999999999", "ACK ²", "/start",
         "/start ABCD1234", "/open", "STOP", "START", "MENTOR", "ATTENDANCE", "CONCERN 1",
         "I can't go on", "é" * 50, "\u202e\u0000\ud7ff", "x" * 2000, "ag:r:1:2", "ag:x:²:1",
         "ack:1", "call:99999999999999999999", "ack:-1", "%ff%fe", "<script>", "' OR 1=1 --"]
WEIRD_VALUES: list[Any] = [None, True, False, 0, -1, 2**63, -(2**63) - 1, 10**30, 1.5, "",
                           "x", "12", [], [1, "a"], {}, {"id": 5}, {"id": None}, "\udcff" * 0]
PANEL_PATHS = ["/admin/", "/admin/login", "/admin/login/code", "/admin/logout",
               "/admin/escalations", "/admin/clients", "/admin/clients.csv", "/admin/clients/1",
               "/admin/clients/999999", "/admin/clients/1/message", "/admin/clients/1/notes",
               "/admin/clients/1/stage", "/admin/clients/1/flow", "/admin/escalations/1/ack",
               "/admin/escalations/1/resolve", "/admin/calendar", "/admin/unmatched",
               "/admin/staff", "/admin/rota", "/admin/audit", "/admin/dashboard",
               "/admin/import", "/admin/import/1", "/admin/import/1/confirm", "/admin/settings",
               "/admin/account", "/admin/groups", "/admin/mentor", "/admin/static/app.css",
               "/admin/static/../../pyproject.toml", "/healthz", "/sim", "/sim/send",
               "/sim/advance", "/nowhere", "/admin/clients/%ff", "/admin/clients/1e9"]
FIELD_NAMES = ["text", "body", "q", "stage", "officer", "outcome", "note", "username",
               "password", "code", "at", "kind", "flow", "client", "ref", "first_name",
               "person", "minutes", "active", "role", "file", "id", "page", "sort"]


def rand_text(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.5:
        return rng.choice(TEXTS)
    if pick < 0.8:
        return "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0, 0x10FFFF)]))
                       for _ in range(rng.randint(0, 40))).encode("utf-8", "replace").decode(
            "utf-8", "replace")
    return str(rng.choice([-1, 0, 1, 7, 10**12, "1.5", "2026-13-45T25:61", "NaN"]))


def rand_bytes(rng: random.Random, most: int = 200) -> bytes:
    return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, most)))


def mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """Replace random parts of a JSON value with values of the wrong type."""
    if rng.random() < 0.15:
        return rng.choice(WEIRD_VALUES)
    if isinstance(value, dict):
        out = {k: mutate(rng, v, depth + 1) for k, v in value.items() if rng.random() > 0.1}
        if rng.random() < 0.1:
            out[rng.choice(["text", "chat", "from", "id", "data", "message", "caption"])] = \
                rng.choice(WEIRD_VALUES)
        return out
    if isinstance(value, list):
        return [mutate(rng, v, depth + 1) for v in value]
    return value


class Fuzzer:
    def __init__(self, h: Harness, rng: random.Random, csrf: str, cookies: bytes) -> None:
        self.h, self.rng, self.csrf, self.cookies = h, rng, csrf, cookies
        self.n = 0

    def sid(self) -> str:
        self.n += 1
        return f"SMfz{self.n:030d}"

    def twilio(self) -> Request:
        rng = self.rng
        path = rng.choice(["/webhooks/twilio/sms", "/webhooks/twilio/status"])
        params: dict[str, str] = {}
        for name in rng.sample(["MessageSid", "SmsSid", "From", "To", "Body", "NumMedia",
                                "MessageStatus", "ErrorCode", "AccountSid", "Extra"],
                               rng.randint(0, 8)):
            params[name] = rand_text(rng)
        if rng.random() < 0.5:
            params["MessageSid"] = self.sid()
            params["From"] = rng.choice([f"+4477009002{rng.randint(10, 99)}", "07700900300",
                                         "SHORT", "+1", rand_text(rng)])
        headers: list[tuple[bytes, bytes]] = []
        shape = rng.random()
        if shape < 0.6:
            body = urlencode(params).encode()
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        elif shape < 0.7:
            body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n" \
                + rand_bytes(rng) + b"\r\n--b--\r\n"
            headers.append((b"content-type", b"multipart/form-data; boundary=b"))
        elif shape < 0.85:
            body = rand_bytes(rng)
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        else:
            body = json.dumps(params).encode()
            headers.append((b"content-type", rng.choice([b"application/json", b"text/plain",
                                                         b"", b"multipart/form-data"])))
        signed = rng.random()
        if signed < 0.5:
            headers.append((b"x-twilio-signature",
                            self.h.twilio.signature(PUBLIC_URL + path, params).encode()))
        elif signed < 0.8:
            headers.append((b"x-twilio-signature", rand_text(rng).encode("utf-8")))
        return "POST", path, headers, body

    def telegram(self) -> Request:
        rng = self.rng
        uid = rng.randint(10**6, 10**9)
        chat = rng.choice([5550001, 5550002, -100555, 0, 10**15])
        templates = [
            lambda: make_text_update(uid, abs(chat) or 1, rand_text(rng)),
            lambda: make_callback_update(uid, abs(chat) or 1, rand_text(rng), rng.randint(1, 9)),
            lambda: make_group_text_update(uid, -100555, rand_text(rng), 5550003),
            lambda: {"update_id": uid, "my_chat_member": {
                "chat": {"id": -100555, "type": "group"},
                "new_chat_member": {"status": rng.choice(["left", "kicked", "member"])}}},
            lambda: {"update_id": uid, "edited_message": {"chat": {"id": chat}, "text": "x"}},
        ]
        update = mutate(rng, rng.choice(templates)())
        shape = rng.random()
        if shape < 0.8:
            body = json.dumps(update).encode()
        elif shape < 0.9:
            body = rand_bytes(rng)
        else:
            body = b"[" * rng.randint(1, 60000)
        headers = [(b"content-type", b"application/json")]
        if rng.random() < 0.85:
            headers.append((b"x-telegram-bot-api-secret-token",
                            TG_SECRET.encode() if rng.random() < 0.9 else rand_bytes(rng, 30)))
        return "POST", "/webhooks/telegram", headers, body

    def panel(self) -> Request:
        rng = self.rng
        path = rng.choice(PANEL_PATHS)
        if rng.random() < 0.2:
            path += "?" + urlencode({rng.choice(FIELD_NAMES): rand_text(rng)})
        method = rng.choice(["GET", "GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD"])
        headers: list[tuple[bytes, bytes]] = []
        cookie = rng.random()
        if cookie < 0.5:
            headers.append((b"cookie", self.cookies))  # the supervisor's session and CSRF
        elif cookie < 0.7:
            headers.append((b"cookie", self.cookies + b"; junk=" + rand_bytes(rng, 20)))
        elif cookie < 0.8:
            headers.append((b"cookie", rand_bytes(rng, 60)))
        fields = {rng.choice(FIELD_NAMES): rand_text(rng) for _ in range(rng.randint(0, 5))}
        if rng.random() < 0.8:
            fields["csrftoken"] = self.csrf
        shape = rng.random()
        if shape < 0.6:
            body = urlencode(fields).encode()
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        elif shape < 0.75:
            parts = b"".join(
                b"--b\r\nContent-Disposition: form-data; name=\"" + k.encode() + b"\""
                + (b"; filename=\"x.csv\"" if rng.random() < 0.3 else b"") + b"\r\n\r\n"
                + v.encode() + b"\r\n" for k, v in fields.items())
            body = parts + (b"--b--\r\n" if rng.random() < 0.8 else rand_bytes(rng, 20))
            headers.append((b"content-type", b"multipart/form-data; boundary=b"))
        elif shape < 0.9:
            body = rand_bytes(rng)
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        else:
            body = rand_bytes(rng)
        if method in ("GET", "HEAD") and rng.random() < 0.8:
            body = b""
        return method, path, headers, body

    def next(self) -> Request:
        pick = self.rng.random()
        request = self.twilio() if pick < 0.35 else self.telegram() if pick < 0.7 else self.panel()
        if self.rng.random() < 0.03:  # a lying Content-Length
            method, path, headers, body = request
            request = (method, path, [*headers, (b"content-length", b"3")], body)
        return request


async def test_fuzzed_requests_never_give_a_5xx_and_real_messages_go_through_once(
        harness: Harness, demo: Demo, panels: Any) -> None:
    h = harness
    await h.add_client(ref="C-FZ", first_name="Sam", phone=SAM_PHONE, chat=SAM_CHAT,
                       onboard=False)
    priya = await signed_in(panels, "priya")
    cookies = "; ".join(f"{k}={v}" for k, v in priya.http.cookies.items()).encode()
    rng = random.Random(SEED)
    fuzz = Fuzzer(h, rng, priya.token, cookies)
    statuses: dict[int, int] = {}
    crashes: list[str] = []
    real: list[tuple[str, str]] = []  # (channel, provider id)

    async with raw_client(h) as client:
        async def one(method: str, path: str, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> None:
            r = await client.request(method, path, headers=headers, content=body)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code >= 500:
                crashes.append(f"{method} {path} {headers!r} {body[:300]!r} -> {r.status_code}")

        async def real_message(i: int) -> None:
            if i % 2:
                sid = f"SMreal{i:028d}"
                r = await h.sms(SAM_PHONE, "help", sid=sid)
                real.append(("sms", sid))
            else:
                uid = 9 * 10**9 + i
                r = await h.tg(make_text_update(uid, SAM_CHAT, "help"))
                real.append(("telegram", str(uid)))
            assert r.status_code == 200, r.text

        sent = 0
        while sent < REQUESTS:
            batch = [one(*fuzz.next()) for _ in range(BATCH)]
            sent += BATCH
            if sent % (REAL_EVERY * BATCH) < BATCH:
                batch.append(real_message(len(real)))
            await asyncio.gather(*batch)
        # Providers redeliver: every third real message comes again.
        for channel, pid in real[::3]:
            if channel == "sms":
                assert (await h.sms(SAM_PHONE, "help", sid=pid)).status_code == 200
            else:
                assert (await h.tg(make_text_update(int(pid), SAM_CHAT, "help"))
                        ).status_code == 200
    await h.service.tick()
    await h.settle()

    assert not crashes, f"seed {SEED}: {len(crashes)} server errors, first: {crashes[:3]}"
    assert sum(statuses.values()) >= REQUESTS
    assert statuses.get(200, 0) > 100 and sum(v for k, v in statuses.items() if k >= 400) > 1000
    failed = await h.db.all("SELECT channel, body, error FROM inbound WHERE status = 'failed'")
    assert not failed, [tuple(r) for r in failed][:3]
    assert len(real) >= REQUESTS // (REAL_EVERY * BATCH)
    for channel, pid in real:
        rows = await h.db.all("SELECT id, status FROM inbound WHERE channel = ? AND"
                              " provider_id = ?", (channel, pid))
        assert [r["status"] for r in rows] == ["processed"], (channel, pid)
        answers = await h.db.value("SELECT COUNT(*) FROM outbox WHERE cause = ?",
                                   (f"inbound:{rows[0]['id']}",))
        assert answers == 1, (channel, pid, answers)
    sms_real = sum(1 for c, _ in real if c == "sms")
    assert len(h.twilio.messages(to=SAM_PHONE)) == sms_real
    to_sam = [r for r in h.telegram.sent("sendMessage")
              if str(r.params.get("chat_id")) == str(SAM_CHAT)]
    assert len(to_sam) == len(real) - sms_real
