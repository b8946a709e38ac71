"""Access cards and PINs: one identifier however it is spelt, and handing them to students.

A door knows a student by a card number (a card swipe) or a PIN (the personnel number a face, fingerprint
or password entry carries). Both are identifiers in one namespace, so a student may have several of each
and the report takes any of them as theirs. Identifiers are compared without regard to letter case
(``key``): a panel may write ``nlvjla052`` for the ``NLVJLA052`` the office listed."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..core.database import note_bulk_write
from ..extensions import db
from .models import AccessEvent, Card
from .rollup import invalidate, nights_touched

_FACILITY = re.compile(r"^(\d{1,3})\s*[,:/-]\s*(\d{1,5})$")  # Wiegand 26: facility code + card number
_HEX = re.compile(r"^0x([0-9a-f]+)$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9]+$")
LONGEST = 32
KINDS = ("card", "pin")


def identifier(raw: str) -> str:
    """A card number or PIN exactly as a device wrote it: digits lose their leading zeros (``0012345678``
    is card 12345678), anything with letters is kept as written (``NLVJLA052``; ``B205`` is not read as
    hexadecimal: it may be a PIN, and another student's card in decimal). Raises ValueError for text no
    door system writes (spaces, punctuation, non-ASCII)."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("empty card number or PIN")
    if text.isascii() and text.isdigit():
        return _checked(raw, text.lstrip("0") or "0")
    if not _IDENTIFIER.match(text):
        raise ValueError(f"{raw!r} is not a card number or PIN (letters and digits)")
    return _checked(raw, text)


def normalise(raw: str) -> str:
    """A card number or PIN as an office's list or a door system's file writes it: ``identifier``, and
    the explicit forms readers print are converted to the decimal number the device sends: hexadecimal
    with its ``0x`` (``0x00BC614E``) and facility code + number (``188,24910``: 188 × 65,536 + 24,910, as
    Wiegand-26 readers print it). Raises ValueError for anything else."""
    text = (raw or "").strip().replace(" ", "")
    lowered = text.lower()
    if match := _HEX.match(lowered):
        if len(match.group(1).lstrip("0")) > 27:  # more hex digits than 32 decimal ones hold
            raise ValueError(f"{raw[:40]!r} is longer than a card number ({LONGEST} digits at most)")
        return _checked(raw, str(int(match.group(1), 16)))
    if match := _FACILITY.match(lowered):
        facility, number = int(match.group(1)), int(match.group(2))
        if facility > 255 or number > 65535:
            raise ValueError(f"{raw!r} is not a facility code (0-255) and card number (0-65535)")
        return str(facility * 65536 + number)
    try:
        return identifier(text)
    except ValueError:
        if not text or len(text) > LONGEST:
            raise
        raise ValueError(f"{raw!r} is not a card number or PIN (digits or letters, 0x… hexadecimal, "
                         f"or facility,number)") from None


def key(value):
    """What two identifiers are compared by: a string's, or (given a column) the SQL expression's, capitals."""
    return value.upper() if isinstance(value, str) else sa.func.upper(value)


def _checked(raw: str, number: str) -> str:
    if len(number) > LONGEST:
        raise ValueError(f"{raw!r} is longer than a card number or PIN ({LONGEST} characters at most)")
    return number


@dataclass
class HandOver:
    """What handing cards and PINs over changed."""

    created: int = 0  # identifiers we did not know
    handed_on: int = 0  # identifiers another student held before
    unchanged: int = 0
    matched: int = 0  # earlier events of these identifiers that had no student and now have one


def hand_over(holders: dict[str, int], *, pins: frozenset[str] | set[str] = frozenset(),
              match_all: bool = False) -> HandOver:
    """Give each card or PIN (as ``normalise`` gives it -> student id) to its student, whoever held it before;
    the identifiers in ``pins`` are PINs, the others cards. An identifier already known in other letters is
    the same one and keeps the spelling it was first given; listed twice in other letters, the first listing
    holds.

    A card handed on keeps its past events with the student who held it then; events that came before
    anyone knew the card get its new holder. A student keeps their other cards (an old card keeps
    working for a while). ``match_all`` looks for such events for every card given, not only the new and
    handed-on ones: importing the card list again then mends events that arrived while it was first read."""
    known = {key(number): (card_id, student_id, kind) for number, card_id, student_id, kind
             in db.session.execute(sa.select(Card.number, Card.id, Card.student_id, Card.kind))}
    new, changed_rows, changed, listed = [], [], [], set()
    handed_on = 0
    for number, student_id in holders.items():
        if key(number) in listed:
            continue
        listed.add(key(number))
        kind = "pin" if number in pins else "card"
        card_id, holder, known_kind = known.get(key(number), (None, None, None))
        if card_id is None:
            new.append({"number": number, "student_id": student_id, "kind": kind})
        elif (holder, known_kind) != (student_id, kind):
            changed_rows.append({"id": card_id, "student_id": student_id, "kind": kind})
            if holder == student_id:
                continue  # the same holder: a card now listed as a PIN (or back) is relabelled, nothing more
            handed_on += 1
        else:
            continue
        changed.append(number)
    if new:
        db.session.execute(sa.insert(Card), new)
    if changed_rows:
        db.session.execute(sa.update(Card), changed_rows)
    note_bulk_write(Card.__tablename__, len(new) + len(changed_rows))
    return HandOver(created=len(new), handed_on=handed_on, unchanged=len(listed) - len(new) - handed_on,
                    matched=match_unmatched(list(holders) if match_all else changed))


def match_unmatched(identifiers: list[str]) -> int:
    """Give events of these cards and PINs that had no student their holder."""
    matched = 0
    keys = sorted({key(number) for number in identifiers})
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        unmatched = sa.and_(AccessEvent.student_id.is_(None),
                            sa.or_(key(AccessEvent.card).in_(chunk), key(AccessEvent.pin).in_(chunk)))
        first, last = db.session.execute(sa.select(sa.func.min(AccessEvent.occurred_at),
                                                   sa.func.max(AccessEvent.occurred_at)).where(unmatched)).one()
        if first is None:
            continue
        # The card's holder, else the holder of the PIN the swipe also carried.
        owner = sa.func.coalesce(
            sa.select(Card.student_id).where(key(Card.number) == key(AccessEvent.card)).scalar_subquery(),
            sa.select(Card.student_id).where(key(Card.number) == key(AccessEvent.pin)).scalar_subquery())
        result = db.session.execute(sa.update(AccessEvent).where(unmatched).values(student_id=owner)
                                    .execution_options(synchronize_session=False))
        matched += result.rowcount
        invalidate(*nights_touched(first, last))
    note_bulk_write(AccessEvent.__tablename__, matched)
    return matched
