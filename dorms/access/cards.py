"""Card numbers arrive in several spellings; one card must be one number."""
from __future__ import annotations

import re

_FACILITY = re.compile(r"^(\d{1,3})\s*[,:/-]\s*(\d{1,5})$")  # Wiegand 26: facility code + card number
_HEX = re.compile(r"^(?:0x)?([0-9a-f]+)$")


def normalise(raw: str) -> str:
    """The card as a decimal number without leading zeros.

    Decimal (``0012345678``), hexadecimal (``0x00BC614E``, or any value with the letters a-f), and
    facility code + number (``188,24910``: 188 × 65,536 + 24,910, as Wiegand-26 readers print it)
    all give the same card. Raises ValueError for anything else."""
    text = (raw or "").strip().lower().replace(" ", "")
    if not text:
        raise ValueError("empty card number")
    if not text.isascii():  # full-width digits and the like: not something a reader prints
        raise ValueError(f"{raw!r} is not a card number (decimal, hexadecimal, or facility,number)")
    if text.isdigit():
        return _checked(raw, str(int(text)))
    if match := _FACILITY.match(text):
        facility, number = int(match.group(1)), int(match.group(2))
        if facility > 255 or number > 65535:
            raise ValueError(f"{raw!r} is not a facility code (0-255) and card number (0-65535)")
        return str(facility * 65536 + number)
    if (match := _HEX.match(text)) and (text.startswith("0x") or re.search(r"[a-f]", text)):
        return _checked(raw, str(int(match.group(1), 16)))
    raise ValueError(f"{raw!r} is not a card number (decimal, hexadecimal, or facility,number)")


def _checked(raw: str, number: str) -> str:
    if len(number) > 32:
        raise ValueError(f"{raw!r} is longer than a card number (32 digits at most)")
    return number
