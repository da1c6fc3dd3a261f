"""The built-in simulator channel: 'sending' is recording the row as sent; the page reads the outbox."""

from __future__ import annotations

from bot.channels.base import Sent
from bot.core.outbox import OutRow


class SimulatorSender:
    channel = "sim"

    async def send(self, row: OutRow) -> Sent:
        return Sent(provider_id=f"sim-{row.id}" if row.op == "send" else row.edit_of_provider_id)

    async def close(self) -> None:
        return None
