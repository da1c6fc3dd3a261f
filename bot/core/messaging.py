"""Rendering a catalog text for a person and queueing it on the right identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.audit import audit
from bot.core.clock import parse_iso
from bot.core.contact import verdict_for
from bot.core.db import Tx
from bot.core.identities import Identity, identities_of
from bot.core.outbox import PRIORITY_NORMAL, enqueue
from bot.core.texts import rendered
from flows.intents import guess_language


@dataclass(frozen=True)
class ClientInfo:
    id: int
    ref: str
    first_name: str
    officer_id: int
    officer_name: str
    stage: str
    language: str
    discreet: bool
    consented: bool
    preferred_channel: str | None
    heightened_until: str | None
    codeword: str | None

    def heightened(self, now: datetime) -> bool:
        """In the 28-day watch after leaving rehab or custody (bot.journey.discharge)."""
        return under_watch(self.heightened_until, now)

    @property
    def officer_first_name(self) -> str:
        return self.officer_name.split()[0] if self.officer_name else ""


def under_watch(heightened_until: str | None, now: datetime) -> bool:
    """The one test of the heightened watch: its end (stored UTC) is still ahead."""
    return bool(heightened_until and parse_iso(heightened_until) > now)


async def load_client(tx: Tx, client_id: int) -> ClientInfo | None:
    r = await tx.one(
        "SELECT c.id, c.ref, c.first_name, c.officer_id, s.name, c.stage, c.language, c.discreet,"
        " c.consent_at IS NOT NULL, c.preferred_channel, c.heightened_until, c.codeword"
        " FROM clients c JOIN staff s ON s.id = c.officer_id WHERE c.id = ?", (client_id,))
    if r is None:
        return None
    return ClientInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8]), r[9],
                      r[10], r[11])


async def client_identity(tx: Tx, client: ClientInfo) -> Identity | None:
    """Where to reach a client who has not just written: their preferred channel, else the one
    they wrote from most recently, else the newest identity."""
    idents = await identities_of(tx, client_id=client.id)
    if not idents:
        return None
    if client.preferred_channel:
        for ident in idents:
            if ident.channel == client.preferred_channel:
                return ident
    last = await tx.value(
        "SELECT identity_id FROM inbound WHERE client_id = ? AND identity_id IS NOT NULL"
        " ORDER BY id DESC LIMIT 1", (client.id,))
    for ident in idents:
        if ident.id == last:
            return ident
    return idents[-1]


async def set_language(tx: Tx, now: datetime, client: ClientInfo, locale: str) -> ClientInfo:
    """The client's language changed by the client (LANGUAGE keyword, onboarding question),
    audited with the one it replaces; returns the client as texts should now see them."""
    await tx.execute("UPDATE clients SET language = ? WHERE id = ?", (locale, client.id))
    await audit(tx, now, f"client:{client.id}", "client.language", "client", client.id,
                language=locale, was=client.language)
    return replace(client, language=locale)


def client_params(client: ClientInfo, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    from flows.crisis import crisis_params

    # Crisis numbers come from config/crisis.toml only, so any text may name them.
    params: dict[str, Any] = {**crisis_params(), "first_name": client.first_name,
                              "officer_first_name": client.officer_first_name or "the team",
                              "codeword": client.codeword or ""}
    params.update(extra or {})
    return params


async def say(
    tx: Tx,
    now: datetime,
    identity: Identity,
    key: str,
    params: Mapping[str, Any] | None = None,
    *,
    client: ClientInfo | None = None,
    safety: bool = False,
    priority: int = PRIORITY_NORMAL,
    dedupe_key: str | None = None,
    cause: str | None = None,
    reply_markup: dict[str, Any] | None = None,
    reply: bool = False,
    purpose: str | None = None,
) -> int | None:
    """Render `key` for whoever `identity` is (client wording rules applied) and queue it.
    `reply`: an answer to someone who just wrote to us (quiet hours do not hold it back).
    `purpose`: why we write, for the contact policy (bot.core.contact; see outbox.enqueue)."""
    text, language = rendered(
        key,
        client_params(client, params) if client else dict(params or {}),
        locale=client.language if client else None,
        discreet=client.discreet if client else False,
    )
    return await enqueue(tx, now, identity, text, message_key=key, safety=safety,
                         priority=priority, dedupe_key=dedupe_key, cause=cause,
                         reply_markup=reply_markup, reply=reply, purpose=purpose,
                         language=language if client else None)


async def say_to_client(tx: Tx, now: datetime, client_id: int, key: str,
                        params: Mapping[str, Any] | None = None, **kw: Any) -> int | None:
    client = await load_client(tx, client_id)
    if client is None:
        raise LookupError(f"no client {client_id}")
    identity = await client_identity(tx, client)
    if identity is None:
        return None
    return await say(tx, now, identity, key, params, client=client, **kw)


async def officer_message(tx: Tx, now: datetime, client_id: int, text: str, actor: str) -> int:
    """An officer's own words to a client, sent as written on the client's usual channel."""
    text = text.strip()
    if not text or len(text) > 1000:
        raise ValueError("text: 1-1000 characters")
    client = await load_client(tx, client_id)
    if client is None:
        raise LookupError(f"no client {client_id}")
    ident = await client_identity(tx, client)
    if ident is None:
        raise ValueError("this client has no phone or Telegram linked")
    verdict = await verdict_for(tx, ident, "officer")
    if not verdict.allowed:
        # Said to the officer at once, rather than a row that silently never goes.
        raise ValueError(f"not sent: the client is {verdict.reason}" if verdict.reason !=
                         "opted out" else "not sent: the client has opted out of messages")
    row = await enqueue(tx, now, ident, text, message_key="officer.free_text",
                        cause=f"officer:{actor}", purpose="officer",
                        language=guess_language(text))  # a person's words: a guess
    await audit(tx, now, actor, "client.message_sent", "client", client_id, outbox_id=row)
    return int(row or 0)


async def send_link_code(tx: Tx, now: datetime, client_id: int, actor: str) -> int:
    """Text the client a one-time Telegram link code on their phone (not Telegram: that is what
    it links), under the contact policy as an officer's message."""
    from bot.core.identities import LINK_CODE_TTL, new_link_code

    client = await load_client(tx, client_id)
    if client is None:
        raise LookupError(f"no client {client_id}")
    phones = [i for i in await identities_of(tx, client_id=client_id) if i.channel != "telegram"]
    if not phones:
        raise ValueError("this client has no phone number linked: get a code to give them"
                         " in person instead")
    verdict = await verdict_for(tx, phones[-1], "officer")
    if not verdict.allowed:
        raise ValueError(f"not sent: the client is {verdict.reason}")
    code = await new_link_code(tx, now, client_id=client_id, actor=actor)
    row = await say(tx, now, phones[-1], "link.code_sent",
                    {"code": code, "hours": int(LINK_CODE_TTL.total_seconds() // 3600)},
                    client=client, cause=f"officer:{actor}", purpose="officer")
    await audit(tx, now, actor, "client.link_code_sent", "client", client_id, outbox_id=row)
    return int(row or 0)
