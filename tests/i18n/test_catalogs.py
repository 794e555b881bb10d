"""The catalogs keep up with the source: every string marked for translation (in relay/**.py and
the templates, extracted with Babel as `pybabel extract -F babel.cfg` does) is in
relay/locales/messages.pot and translated in zh_CN, not fuzzy, with the same placeholders and
markup. A new string without its translation fails here (README, "Languages", says what to run).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from relay.i18n import SUPPORTED_LOCALES, Text, language
from relay.i18n.catalogs import SOURCE_LOCALE, babel_name

ROOT = Path(__file__).resolve().parent.parent.parent
LOCALES = ROOT / "relay" / "locales"
UPDATE = (
    "update the catalogs: pybabel extract -F babel.cfg --add-location=file --sort-by-file "
    "--project=qr-login-relay --copyright-holder='the QR login relay authors' "
    "-o relay/locales/messages.pot . && pybabel update -i relay/locales/messages.pot "
    "-d relay/locales --ignore-obsolete, then translate (README, Languages)"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TAG = re.compile(r"</?([a-z]+)[^>]*>")
TRANSLATED = [tag for tag in SUPPORTED_LOCALES if tag != SOURCE_LOCALE]


def extracted() -> dict[str, str]:
    """Every msgid in the source, with where it was found."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file, "babel.cfg")
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        directory_filter=lambda path: Path(path).relative_to(ROOT).parts[:1] in [(), ("relay",)],
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def po_path(tag: str) -> Path:
    return LOCALES / babel_name(tag) / "LC_MESSAGES" / "messages.po"


def test_catalogs_extraction_finds_the_strings_of_python_and_templates() -> None:
    """The extractor itself sees both kinds of source (else every other test here is void)."""
    found = extracted()
    assert found["Refresh QR code"].startswith("relay/templates/login.html")
    assert found["This sign-in has ended"].startswith("relay/pages/login.py")
    assert found["This wasn't me"].startswith("relay/templates/phone.html")
    assert len(found) > 100


def test_catalogs_template_holds_every_string_of_the_source_and_no_other() -> None:
    source = extracted()
    template = {m.id for m in catalog(LOCALES / "messages.pot") if m.id}
    missing = {msgid: where for msgid, where in source.items() if msgid not in template}
    assert not missing, f"not in relay/locales/messages.pot: {missing}; {UPDATE}"
    stale = sorted(template - set(source))
    assert not stale, f"messages.pot holds strings the source no longer has: {stale}; {UPDATE}"


@pytest.mark.parametrize("tag", TRANSLATED)
def test_catalogs_translate_every_string_without_fuzzy_entries(tag: str) -> None:
    translations = catalog(po_path(tag), babel_name(tag))
    problems = []
    for msgid, where in extracted().items():
        message = translations.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} ({where})")
        elif not message.string:
            problems.append(f"untranslated: {msgid!r} ({where})")
        elif message.fuzzy:
            problems.append(f"fuzzy (check it, then remove the flag): {msgid!r} ({where})")
    assert not problems, "\n".join([f"{po_path(tag).relative_to(ROOT)}:", *problems, UPDATE])


@pytest.mark.parametrize("tag", TRANSLATED)
def test_catalogs_translations_keep_the_placeholders_and_markup(tag: str) -> None:
    """A translation may move `%(name)s` and the markup around, never drop, add or rename
    them (the page would break, or lose the provider's name)."""
    translations = catalog(po_path(tag), babel_name(tag))
    for message in translations:
        if not message.id or not message.string:
            continue
        assert isinstance(message.id, str) and isinstance(message.string, str)
        assert Counter(PLACEHOLDER.findall(message.string)) == Counter(
            PLACEHOLDER.findall(message.id)
        ), message.id
        assert Counter(TAG.findall(message.string)) == Counter(TAG.findall(message.id)), message.id
    assert not list(translations.check()), list(translations.check())


@pytest.mark.parametrize("tag", TRANSLATED)
def test_catalogs_compiled_translation_formats_every_message(tag: str) -> None:
    """What the relay loads (compiled in memory from the .po) formats each message."""
    spoken = language(tag)
    for msgid in extracted():
        names = dict.fromkeys(PLACEHOLDER.findall(msgid), "X")
        text = Text(msgid, names).translate(spoken)
        assert text and "%(" not in text, msgid
    assert Text("Refresh QR code").translate(spoken) != "Refresh QR code"


def test_catalogs_english_is_the_source_itself() -> None:
    assert Text("Refresh QR code").translate(language("en")) == "Refresh QR code"
    assert Text("Sign in to %(client)s", {"client": "A"}).english() == "Sign in to A"
