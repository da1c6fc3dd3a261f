"""Local fake provider HTTP servers (Telegram Bot API, Twilio REST) for integration tests."""

from .base import ANY_METHOD, FakeServer, Fault, RecordedRequest, Reply
from .telegram_api import (
    BLOCKED_DESCRIPTION,
    DEFAULT_TOKEN,
    SECRET_HEADER,
    FakeTelegramApi,
    make_callback_update,
    make_group_text_update,
    make_text_update,
)
from .twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    UNSUBSCRIBED_CODE,
    FakeTwilioApi,
    count_segments,
)

__all__ = [
    "ANY_METHOD",
    "BLOCKED_DESCRIPTION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_TOKEN",
    "SECRET_HEADER",
    "UNSUBSCRIBED_CODE",
    "FakeServer",
    "FakeTelegramApi",
    "FakeTwilioApi",
    "Fault",
    "RecordedRequest",
    "Reply",
    "count_segments",
    "make_callback_update",
    "make_group_text_update",
    "make_text_update",
]
