"""Form helpers shared by the features."""
from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices; labels may be lazy strings."""
    return [SelectChoice(value, label) for value, label in pairs]
