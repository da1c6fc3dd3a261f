import pytest

from bot.core.segments import count_segments, encoding


@pytest.mark.parametrize(
    ("text", "segments", "enc"),
    [
        ("a" * 160, 1, "GSM-7"),
        ("a" * 161, 2, "GSM-7"),
        ("a" * 306, 2, "GSM-7"),
        ("a" * 307, 3, "GSM-7"),
        # Escape characters count double: 80 euro signs fill one segment, 81 need two.
        ("€" * 80, 1, "GSM-7"),
        ("€" * 81, 2, "GSM-7"),
        ("{" * 76 + "a" * 8, 1, "GSM-7"),
        ("a" * 159 + "^", 2, "GSM-7"),
        # One character outside GSM-7 turns the whole message into UCS-2.
        ("é" * 160, 1, "GSM-7"),
        ("ê" + "a" * 69, 1, "UCS-2"),
        ("ê" + "a" * 70, 2, "UCS-2"),
        ("ê" * 134, 2, "UCS-2"),
        ("ê" * 135, 3, "UCS-2"),
        # An emoji is two UTF-16 units.
        ("💊" * 35, 1, "UCS-2"),
        ("💊" * 36, 2, "UCS-2"),
        ("", 1, "GSM-7"),
    ],
)
def test_segment_counts(text: str, segments: int, enc: str) -> None:
    assert count_segments(text) == segments
    assert encoding(text) == enc
