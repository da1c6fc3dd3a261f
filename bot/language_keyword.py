"""LANGUAGE from a client: the menu, or their language changed (the router calls `handle`
after the carrier keywords; the panel and `o2r client add --language` set it too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core.audit import audit
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, say
from bot.core.texts import available_locales
from bot.inbound import StoredInbound
from flows.language_keyword import language_request, menu_order, own_name


def menu() -> str:
    return ", ".join(f"{n} {own_name(loc)}"
                     for n, loc in enumerate(menu_order(available_locales()), 1))


async def handle(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                 now: datetime) -> bool:
    """True when the message was the LANGUAGE keyword (answered here)."""
    request = language_request(stored.message.body, available_locales())
    if request is None:
        return False
    kind, locale = request
    cause = f"inbound:{stored.id}"
    if kind == "set" and locale in available_locales():
        await tx.execute("UPDATE clients SET language = ? WHERE id = ?", (locale, client.id))
        await audit(tx, now, f"client:{client.id}", "client.language", "client", client.id,
                    language=locale, was=client.language)
        await say(tx, now, ident, "language.set", {"language": own_name(locale)},
                  client=replace(client, language=locale), cause=cause, reply=True,
                  purpose="reply")
    else:
        await say(tx, now, ident, "language.menu", {"languages": menu()}, client=client,
                  cause=cause, reply=True, purpose="reply")
    return True
