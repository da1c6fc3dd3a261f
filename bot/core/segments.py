"""SMS segment counting: GSM-7 (160 single / 153 per part) or UCS-2 (70 / 67), as carriers bill."""

from __future__ import annotations

# GSM 03.38 basic character set, and the extension table whose characters take two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    return set(text) <= GSM7_ALL


def septets(text: str) -> int:
    return len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)


def ucs2_units(text: str) -> int:
    """UTF-16 code units: an emoji outside the BMP takes two."""
    return len(text.encode("utf-16-le")) // 2


def count_segments(text: str) -> int:
    if not text:
        return 1
    if is_gsm7(text):
        n, single, multi = septets(text), 160, 153
    else:
        n, single, multi = ucs2_units(text), 70, 67
    if n <= single:
        return 1
    return -(-n // multi)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"
