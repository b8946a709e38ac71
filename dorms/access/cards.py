"""Access cards: one number for each card however it is spelt, and handing cards to students."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from .models import AccessEvent, Card
from .rollup import invalidate, nights_touched

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


@dataclass
class HandOver:
    """What handing cards over changed."""

    created: int = 0  # cards we did not know
    handed_on: int = 0  # cards another student held before
    unchanged: int = 0
    matched: int = 0  # earlier events of these cards that had no student and now have one


def hand_over(holders: dict[str, int], *, match_all: bool = False) -> HandOver:
    """Give each card (normalised number -> student id) to its student, whoever held it before.

    A card handed on keeps its past events with the student who held it then; events that came before
    anyone knew the card get its new holder. A student keeps their other cards (an old card keeps
    working for a while). ``match_all`` looks for such events for every card given, not only the new and
    handed-on ones: importing the card list again then mends events that arrived while it was first read."""
    known = {number: (card_id, student_id) for number, card_id, student_id
             in db.session.execute(sa.select(Card.number, Card.id, Card.student_id))}
    new = [{"number": number, "student_id": student_id} for number, student_id in holders.items()
           if number not in known]
    moved = [{"id": known[number][0], "student_id": student_id} for number, student_id in holders.items()
             if number in known and known[number][1] != student_id]
    if new:
        db.session.execute(sa.insert(Card), new)
    if moved:
        db.session.execute(sa.update(Card), moved)
    changed = [row["number"] for row in new] + [number for number in holders
                                                 if number in known and known[number][1] != holders[number]]
    return HandOver(created=len(new), handed_on=len(moved), unchanged=len(holders) - len(new) - len(moved),
                    matched=match_unmatched(list(holders) if match_all else changed))


def match_unmatched(card_list: list[str]) -> int:
    """Give events of these cards that had no student their card's student."""
    matched = 0
    for start in range(0, len(card_list), 1000):
        chunk = card_list[start:start + 1000]
        unmatched = sa.and_(AccessEvent.student_id.is_(None), AccessEvent.card.in_(chunk))
        first, last = db.session.execute(sa.select(sa.func.min(AccessEvent.occurred_at),
                                                   sa.func.max(AccessEvent.occurred_at)).where(unmatched)).one()
        if first is None:
            continue
        owner = sa.select(Card.student_id).where(Card.number == AccessEvent.card).scalar_subquery()
        result = db.session.execute(sa.update(AccessEvent).where(unmatched).values(student_id=owner)
                                    .execution_options(synchronize_session=False))
        matched += result.rowcount
        invalidate(*nights_touched(first, last))
    return matched
