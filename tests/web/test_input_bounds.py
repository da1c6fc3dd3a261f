"""Malformed and oversized input is answered 4xx before it costs memory or reaches a handler.

Each case is one the adversarial pass found giving a 500 or reading an unbounded body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.http_guard import LIMITS, limit_for
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import PUBLIC_URL, Harness
from tests.fakes.telegram_api import make_callback_update
from tests.web.support import TG_HEADERS, raw_client

demo = demo_fixture
panels = panels_fixture

SAM = "+447700900123"


async def count(h: Harness, sql: str, *params: object) -> int:
    return int(await h.db.value(sql, params))


async def chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * min(size, total - sent)
        sent += size


# Encodings, file parts, cookies ---------------------------------------------------------------

async def test_twilio_webhook_refuses_a_multipart_body_with_a_file_part(harness: Harness) -> None:
    await harness.add_client()
    params = {"MessageSid": "SM" + "3" * 32, "From": SAM, "To": "+447700900001", "Body": "hi"}
    sig = harness.twilio.signature(PUBLIC_URL + "/webhooks/twilio/sms", params)
    async with raw_client(harness) as client:
        for signature in (sig, "bogus"):
            r = await client.post("/webhooks/twilio/sms", data=params,
                                  files={"f": ("a.txt", b"x" * 100)},
                                  headers={"X-Twilio-Signature": signature})
            assert r.status_code == 403
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 0


@pytest.mark.parametrize("path", ["/healthz", "/admin/login", "/admin/", "/sim",
                                  "/webhooks/telegram"])
async def test_a_cookie_that_is_not_utf8_never_gives_a_server_error(harness: Harness,
                                                                    path: str) -> None:
    async with raw_client(harness) as client:
        r = await client.get(path, headers=[(b"cookie", b"csrftoken=\xff\xfe; a=b")])
    assert r.status_code < 500


async def test_a_stray_cookie_does_not_lock_a_browser_out_of_sign_in(harness: Harness,
                                                                     demo: Demo,
                                                                     panels: Any) -> None:
    panel = panels()
    panel.http.cookies.set("junk", "x")
    await panel.get("/admin/login")
    # The browser's own cookies plus one with a byte no cookie may hold: still signs in.
    header = "; ".join(f"{k}={v}" for k, v in panel.http.cookies.items()).encode() + b"; z=\xff"
    async with raw_client(harness) as client:  # an empty jar: the header is sent as written
        r = await client.post(
            "/admin/login", data={"csrftoken": panel.token, "username": "dana",
                                  "password": "demo-password-only"},
            headers=[(b"cookie", header)])
    assert r.status_code == 303


async def test_a_sign_in_form_that_is_not_utf8_is_a_400(harness: Harness, demo: Demo,
                                                        panels: Any) -> None:
    panel = panels()
    await panel.get("/admin/login")
    async with raw_client(harness) as client:
        client.cookies = panel.http.cookies
        r = await client.post("/admin/login",
                              content=b"csrftoken=" + panel.token.encode()
                              + b"&username=\xff&password=\xfe",
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400


# Telegram shapes ---------------------------------------------------------------------------

ODD_UPDATES: list[Any] = [
    {"update_id": 1, "message": {"text": "a chat without an id"}},
    {"update_id": 2, "message": {"chat": {"type": "private"}, "text": "no id"}},
    {"update_id": 3, "message": {"chat": 5, "text": "chat is a number"}},
    {"update_id": 4, "message": {"chat": {"id": "5"}, "text": "id is a string"}},
    {"update_id": 5, "message": {"chat": {"id": [1]}, "text": {"a": 1}}},
    {"update_id": 6, "message": {"chat": {"id": 5}, "from": "me", "text": "from is text"}},
    {"update_id": 7, "message": {"chat": {"id": True}, "text": "id is a boolean"}},
    {"update_id": 8, "message": "a message that is a string"},
    {"update_id": 9, "callback_query": {"id": "q", "data": "ack:1"}},
    {"update_id": 10, "callback_query": {"id": "q", "from": {"id": 5}, "message": 5}},
    {"update_id": 11, "callback_query": {"id": 7, "from": {"id": 5}, "data": ["ack:1"]}},
    {"update_id": 12, "my_chat_member": {"chat": None}},
    {"update_id": 13, "my_chat_member": {"chat": {"id": -5}, "new_chat_member": "left"}},
    {"update_id": "14", "message": {"chat": {"id": 5}, "text": "update id is text"}},
    [1, 2, 3],
    "just a string",
]


@pytest.mark.parametrize("update", ODD_UPDATES)
async def test_odd_telegram_shapes_are_a_400_and_not_stored(harness: Harness,
                                                            update: Any) -> None:
    async with raw_client(harness) as client:
        r = await client.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
    assert r.status_code == 400, r.text
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 0


async def test_a_refused_button_press_is_stored_once_answered_once_and_audited(
        harness: Harness) -> None:
    """A stranger pressing an escalation button: refused, one answer, no routing failure."""
    update = make_callback_update(500, 8801, "ack:1", message_id=3, callback_id="cb-1")
    async with raw_client(harness) as client:
        assert (await client.post("/webhooks/telegram", json=update,
                                  headers=TG_HEADERS)).status_code == 200
    for _ in range(4):  # the clock loop's retry sweep finds nothing to retry
        await harness.service.tick()
    await harness.settle()
    rows = await harness.db.all("SELECT status, attempts, error FROM inbound")
    assert [tuple(r) for r in rows] == [("ignored", 1, None)]
    assert len(harness.telegram.sent("answerCallbackQuery")) == 1
    assert await count(harness, "SELECT COUNT(*) FROM audit_log WHERE action ="
                       " 'escalation.ack_refused'") == 1


# Body limits -------------------------------------------------------------------------------

def test_every_limit_is_small_before_authentication_and_the_import_takes_its_file() -> None:
    from admin_web.importer import MAX_BYTES

    assert limit_for("/webhooks/twilio/sms") <= 64 * 1024
    assert limit_for("/webhooks/telegram") <= 64 * 1024
    assert limit_for("/admin/login") <= 64 * 1024
    assert limit_for("/admin/login/code") <= 64 * 1024
    assert MAX_BYTES < limit_for("/admin/import") <= 8 * 1024 * 1024
    assert limit_for("/admin/clients") == limit_for("/anything") <= 64 * 1024
    assert all(limit > 0 for _, limit in LIMITS)


OVERSIZED = [("/webhooks/twilio/sms", "application/x-www-form-urlencoded"),
             ("/webhooks/telegram", "application/json"),
             ("/admin/login", "application/x-www-form-urlencoded"),
             ("/admin/login", "multipart/form-data; boundary=x"),
             ("/admin/import", "multipart/form-data; boundary=x"),
             ("/sim/send", "application/x-www-form-urlencoded")]


@pytest.mark.parametrize(("path", "content_type"), OVERSIZED)
async def test_a_declared_oversized_body_is_refused_unread(harness: Harness, path: str,
                                                           content_type: str) -> None:
    size = limit_for(path) + 1

    async def never() -> AsyncIterator[bytes]:  # a body we must not wait for
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    async with raw_client(harness) as client:
        r = await client.post(path, content=never(),
                              headers={"content-type": content_type,
                                       "content-length": str(size),
                                       **TG_HEADERS})
    assert r.status_code == 413


@pytest.mark.parametrize(("path", "content_type"), OVERSIZED)
async def test_a_chunked_oversized_body_is_cut_off_at_the_limit(harness: Harness, path: str,
                                                                content_type: str) -> None:
    sent = 0
    total = limit_for(path) * 4

    async def counted() -> AsyncIterator[bytes]:
        nonlocal sent
        async for chunk in chunks(total):
            sent += len(chunk)
            yield chunk

    async with raw_client(harness) as client:
        r = await client.post(path, content=counted(),
                              headers={"content-type": content_type, **TG_HEADERS})
        assert "content-length" not in r.request.headers  # chunked
    assert r.status_code == 413
    assert sent <= limit_for(path) + 16 * 1024  # stopped one chunk past the limit
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 0


@pytest.mark.parametrize(("path", "content_type"), OVERSIZED)
async def test_a_body_longer_than_its_content_length_is_cut_off(harness: Harness, path: str,
                                                                content_type: str) -> None:
    async with raw_client(harness) as client:
        r = await client.post(path, content=chunks(limit_for(path) * 3),
                              headers={"content-type": content_type, "content-length": "10",
                                       **TG_HEADERS})
    assert r.status_code == 413


async def test_a_bad_content_length_is_a_400(harness: Harness) -> None:
    async with raw_client(harness) as client:
        for value in ("-1", "12abc", " "):
            r = await client.post("/admin/login", content=b"a=b",
                                  headers={"content-length": value})
            assert r.status_code == 400, value


async def test_a_caseload_file_near_the_import_limit_still_reaches_the_importer(
        harness: Harness, demo: Demo, panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    rows = "".join(f"C-{n},Alex,{n}\n" for n in range(40000)).encode()[:900_000]
    r = await priya.http.post("/admin/import", data={"csrftoken": priya.token},
                              files={"file": ("big.csv", b"ref,first_name,officer\n" + rows)})
    assert r.status_code != 413
    assert r.status_code < 500


async def test_methods_other_than_get_head_and_post_are_a_405(harness: Harness, demo: Demo,
                                                             panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    body = (b"--b\r\nContent-Disposition: form-data; name=\"csrftoken\"\r\n\r\n"
            + priya.token.encode() + b"\r\n--b--\r\n")
    async with raw_client(harness) as client:
        client.cookies = priya.http.cookies
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            r = await client.request(method, "/admin/logout", content=body,
                                     headers={"content-type": "multipart/form-data; boundary=b"})
            assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST", method
