"""Phone numbers in E.164, via the phonenumbers library (UK default region)."""

from __future__ import annotations

import re

import phonenumbers

# Providers send E.164 already; parsing it again with phonenumbers is the slow path.
_E164_GB_MOBILE = re.compile(r"\+447\d{9}")

DEFAULT_REGION = "GB"


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """'07700 900123' or '+44 7700 900123' -> '+447700900123'; anything else raises InvalidPhone."""
    if _E164_GB_MOBILE.fullmatch(raw):
        return raw
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(num):
        raise InvalidPhone(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """For logs and staff screens that need no full number: '+447700900123' -> '+44…0123'."""
    return e164[:3] + "…" + e164[-4:] if len(e164) > 7 else "…"
