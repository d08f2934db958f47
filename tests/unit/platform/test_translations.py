"""Every string a person can read exists in Chinese (the default) and English (the source)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "portal" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [("portal/**.py", "python"), ("api/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords=KEYWORDS,
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="zh_Hans")


def test_every_source_string_has_a_chinese_translation():
    catalog = _catalog()
    missing = sorted(
        message
        for message in _source_messages()
        if not (entry := catalog.get(message)) or not _translated(entry)
    )
    assert missing == [], f"untranslated (run pybabel extract/update): {missing[:10]}"


def test_no_translation_is_fuzzy_or_drops_a_placeholder():
    import re

    placeholder = re.compile(r"%\(\w+\)s")
    for entry in _catalog():
        if not entry.id:
            continue
        assert not entry.fuzzy, entry.id
        sources = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        expected = set().union(*(placeholder.findall(source) for source in sources))
        for text in entry.string if isinstance(entry.string, tuple) else (entry.string,):
            # Chinese has one plural form, so it carries every placeholder of both English forms.
            assert set(placeholder.findall(text)) <= expected, entry.id


def _translated(entry) -> bool:
    strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return all(s.strip() for s in strings) and not entry.fuzzy
