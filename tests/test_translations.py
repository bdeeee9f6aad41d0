"""The Hebrew and Arabic catalogues are complete, current and well formed.

A string added to the code without a translation, a fuzzy entry left by `pybabel update`, a
placeholder dropped or misspelled, or a plural form left empty fails here, in CI, before a
volunteer ever sees English in the middle of an Arabic page.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LOCALES = ("he", "ar")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{\{\s*[\w.]+\s*\}\}")
TAG = re.compile(r"</?([a-z]+)[^>]*>")


def _catalogue(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Catalog:
    """The strings in the code today, extracted afresh (not the committed .pot)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
        + ["-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    with open(pot, "rb") as f:
        return read_po(f)


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_in_the_code_is_in_the_catalogue(template, locale):
    missing = _ids(template) - _ids(_catalogue(locale))
    assert not missing, f"run `make babel-update` and translate: {sorted(missing)[:10]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_is_translated_and_not_fuzzy(locale):
    catalog = _catalogue(locale)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(("fuzzy", message.id))
        elif not all(s.strip() for s in strings):
            problems.append(("untranslated", message.id))
        elif len(strings) != (catalog.num_plurals if message.pluralizable else 1):
            problems.append(("plural forms", message.id))
    assert not problems, problems[:10]


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_and_markup_survive_translation(locale):
    """Babel's own checkers, plus: the same named placeholders and the same HTML tags."""
    catalog = _catalogue(locale)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        tags = sorted(TAG.findall(ids[0]))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            # A plural form may leave out %(num)d where the language says "one place" in words.
            if found - wanted or (wanted - {"num"}) - found:
                problems.append((message.id, "placeholders", string))
            if sorted(TAG.findall(string)) != tags:
                problems.append((message.id, "markup", string))
    assert not problems, problems[:10]


@pytest.mark.parametrize("locale", LOCALES)
def test_no_obsolete_entries_pile_up(locale):
    assert not _catalogue(locale).obsolete, "run `make babel-update` to drop them"


@pytest.mark.parametrize(
    ("locale", "direction", "expected"),
    [("en", "ltr", "Find an action"), ("he", "rtl", None), ("ar", "rtl", None)],
)
def test_pages_are_served_in_each_language_and_direction(client, locale, direction, expected):
    from flask_babel import force_locale, gettext

    with force_locale(locale):
        heading = gettext("Find an action")
    assert expected is None or heading == expected
    assert locale == "en" or heading != "Find an action", "catalogue not compiled or not loaded"
    page = client.get(f"/events/?lang={locale}").get_data(as_text=True)
    assert f'<html lang="{locale}" dir="{direction}">' in page
    assert f"<h1>{heading}</h1>" in page
