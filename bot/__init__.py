"""The o2r service: channels, inbound router, outbox dispatcher, storage and CLI."""

import os

# python-telegram-bot: take retry_after as a timedelta now (its future default), no warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
