"""What a reader sees of a page, and what in it was never translated: the checks of the language walk.

The walk (test_language_walk.py) renders every page of the demo campus for every role in both
languages; these functions take a page's HTML (or the browser's text of it) and name what is wrong.
"""
from __future__ import annotations

import enum
import re
from collections import defaultdict
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

import dorms

CATALOGUE = Path(dorms.__file__).parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sd]|\{\w*\}")
# A fragment of a message must have this many letters in at least two words to be told from a code or a name.
MIN_LETTERS = 8
# Attributes a reader sees or hears (a screen reader reads aria-label and title).
VISIBLE_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label"}
# Not read as prose: scripts and styles, and commands and codes shown as they are typed (<code>, <kbd>).
HIDDEN_ELEMENTS = {"script", "style", "template", "noscript", "code", "kbd"}
# A Python value printed as it is: a list, a dict, a keyword list of an audit entry, None.
REPRS = [re.compile(r"\[\s*'"), re.compile(r"\{\s*'"), re.compile(r"\b[a-z_]{2,}=[\w'\[]")]
# Lower-case words a Chinese page may show: the app's name, the demo's user names and campus code ("main", also
# a word of a panel's event names), units.
ALLOWED_WORDS = frozenset({"dorms", "admin", "main"})
NONE = re.compile(r"(?<![\w-])(None|True|False)(?![\w-])")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN_ELEMENTS:
            self.hidden += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.parts.append(value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button") and dict(attrs).get("value"):
            self.parts.append(dict(attrs)["value"])
        if tag in ("br", "p", "div", "td", "th", "li", "option", "tr", "h1", "h2", "h3", "h4", "h5", "label"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in HIDDEN_ELEMENTS and self.hidden:
            self.hidden -= 1
        self.parts.append(" " if tag in ("span", "a", "strong", "em", "b", "small", "code") else "\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))


@cache
def english_fragments() -> dict[str, str]:
    """{fragment: msgid} for every catalogue message translated to something else: the literal text
    between its placeholders that is long enough to be told apart from codes and names."""
    with open(CATALOGUE, "rb") as f:
        catalog = read_po(f)
    fragments = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings:
                continue  # the same in both languages (a brand name, a unit)
            for fragment in PLACEHOLDER.split(msgid):
                fragment = fragment.strip(" .,:;·—-()")
                words = re.findall(r"[A-Za-z]{2,}", fragment)
                if len(words) >= 2 and sum(map(len, words)) >= MIN_LETTERS:
                    fragments[fragment] = msgid
    return fragments


@cache
def _english_index() -> dict[str, list[str]]:
    """The fragments (lower case, longest first) by their first word: a page is searched word by word, which
    one regular expression of a thousand alternatives made a second per page."""
    index: dict[str, list[str]] = defaultdict(list)
    for fragment in sorted(english_fragments(), key=len, reverse=True):
        index[re.match(r"[A-Za-z]*", fragment).group(0).lower()].append(fragment.lower())
    return index


def _english_messages(text: str) -> list[str]:
    index, lower, found, matched_to = _english_index(), text.lower(), [], 0
    for word in re.finditer(r"(?<![a-z])[a-z]+", lower):
        start = word.start()
        if start < matched_to:
            continue  # inside the message found last
        for fragment in index.get(word.group(0), ()):
            end = start + len(fragment)
            if lower.startswith(fragment, start) and not lower[end:end + 1].isalpha():
                found.append(text[start:end])
                matched_to = end
                break
    # Fragments that do not begin with a letter (rare): searched as they are.
    found += [text[m.start():m.start() + len(f)] for f in index.get("", ()) for m in re.finditer(re.escape(f), lower)]
    return found


@cache
def _english_words() -> frozenset[str]:
    """Words of the English messages translated to something else ("check-out" is English too)."""
    with open(CATALOGUE, "rb") as f:
        catalog = read_po(f)
    words = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid and msgid not in strings:
                words |= {w.lower() for w in re.findall(r"[A-Za-z][\w-]*", PLACEHOLDER.sub(" ", msgid))}
    return frozenset(words)


@cache
def machine_words() -> frozenset[str]:
    """Stored values of the app's enums that only a program should read: `check-out`, `rolled_back`."""
    import importlib
    import pkgutil

    from dorms.core.enums import LabelledEnum
    from dorms.residence.models import STORED_REASONS

    for module in pkgutil.walk_packages(dorms.__path__, "dorms."):
        if not module.name.endswith(("__main__", ".cli")):
            importlib.import_module(module.name)
    words = {reason for reason in STORED_REASONS if " " not in reason}  # "room change" is English to the other check
    stack = [LabelledEnum, enum.StrEnum]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("dorms."):
            words |= {m.value for m in cls if isinstance(m.value, str) and re.fullmatch(r"[a-z]+[-_][a-z_-]+", m.value)}
    return frozenset(words)


def untranslated(text: str, language: str) -> list[str]:
    """What a reader of ``language`` should not see in ``text``: English messages in Chinese, raw values in both."""
    found = []
    if language == "zh":
        found += [f"English: {fragment!r}" for fragment in _english_messages(text)]
        found += [f"raw value: {m.group(1)!r}" for m in NONE.finditer(text)]
        # A lone English word in lower case (a stage such as "improving", a weight such as "move 50"):
        # any word of the English messages, but the app's name and the demo's user names.
        # snake_case is a program's word (a column such as student_number, a status such as absent_left).
        found += [f"machine word: {w!r}" for w in re.findall(r"(?<![\w/.:@-])([a-z]+(?:_[a-z]+)+)(?![\w/.:@-])", text)]
        english = _english_words() - ALLOWED_WORDS
        found += [f"English word: {w!r}" for w in re.findall(r"(?<![\w/.:@-])([a-z]{4,})(?![\w/.:@-])", text)
                  if w in english]
    words = machine_words() - (_english_words() if language == "en" else frozenset())
    found += [f"machine word: {w!r}" for w in re.findall(r"(?<![\w/.-])([a-z]+[-_][a-z_-]+)(?![\w/.-])", text)
              if w in words]
    found += [f"Python value: {m.group(0)!r}" for pattern in REPRS for m in pattern.finditer(text)]
    return found
