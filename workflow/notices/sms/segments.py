"""How many SMS segments a text takes, counted as the provider counts them.

A text in the GSM 03.38 alphabet is 7-bit: 160 characters in one segment, 153 a
segment once split (the rest is the concatenation header), and the characters of
the extension table take two. One character outside it makes the whole text
UCS-2: 70 UTF-16 code units in one segment, 67 a segment once split.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7, UCS2 = "GSM-7", "UCS-2"
_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
          "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_EXTENDED = "^{}\\[~]|€\f"
_GSM_BASIC, _GSM_EXTENDED = frozenset(_BASIC), frozenset(_EXTENDED)


@dataclass(frozen=True)
class Segments:
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int

    def describe(self) -> str:
        plural = "" if self.count == 1 else "s"
        return f"{self.count} segment{plural} ({self.encoding}, {self.units} units)"


def count(body: str) -> Segments:
    """The segments ``body`` is sent in, and its encoding."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        return Segments(GSM7, units, _segments(units, 160, 153))
    units = len(body.encode("utf-16-le")) // 2
    return Segments(UCS2, units, _segments(units, 70, 67))


def _segments(units: int, single: int, each: int) -> int:
    return 1 if units <= single else -(-units // each)
