"""Both catalogues are complete and every message keeps its placeholders."""
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import dorms

TRANSLATIONS = Path(dorms.__file__).parent / "translations"
SOURCES = [Path(dorms.__file__).parent, Path(dorms.__file__).parent.parent / "templates"]


def _catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def _extracted_ids() -> set[str]:
    from babel.messages.extract import extract_from_dir

    method_map = [("dorms/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "lazy_gettext": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    root = Path(dorms.__file__).parent.parent
    ids = set()
    for sub in ("dorms", "templates"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
                root / sub, [(p.split("/", 1)[1], m) for p, m in method_map if p.startswith(sub)],
                keywords=keywords):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_message_in_the_code_is_in_the_chinese_catalogue():
    catalog = _catalog("zh_Hans_CN")
    missing = _extracted_ids() - {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert not missing, f"run `make extract-messages` and translate: {sorted(missing)[:10]}"


def test_the_chinese_catalogue_is_complete_and_consistent():
    catalog = _catalog("zh_Hans_CN")
    untranslated = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    problems = [(m.id, error) for m in catalog if m.id for error in m.check(catalog)]
    assert (untranslated, fuzzy, problems) == ([], [], [])


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_catalogues_are_compiled_by_the_build(locale):
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    compiled, source = folder / "messages.mo", folder / "messages.po"
    assert compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime, "run `make translations`"
