"""LANGUAGE from a client: the menu, or their language changed (the router calls `handle`
after the carrier keywords; the panel and `o2r client add --language` set it too)."""

from __future__ import annotations

from datetime import datetime

from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, say, set_language
from bot.core.texts import available_locales
from bot.inbound import StoredInbound
from flows.language_keyword import language_request, menu_lines, own_name


def menu() -> str:
    return menu_lines(available_locales(), ", ")


async def handle(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                 now: datetime) -> bool:
    """True when the message was the LANGUAGE keyword (answered here)."""
    request = language_request(stored.message.body, available_locales())
    if request is None:
        return False
    kind, locale = request
    cause = f"inbound:{stored.id}"
    if kind == "set" and locale in available_locales():
        client = await set_language(tx, now, client, locale)
        await say(tx, now, ident, "language.set", {"language": own_name(locale)},
                  client=client, cause=cause, reply=True, purpose="reply")
    else:
        await say(tx, now, ident, "language.menu", {"languages": menu()}, client=client,
                  cause=cause, reply=True, purpose="reply")
    return True
