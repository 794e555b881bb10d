"""The message catalogs: relay/locales/<locale>/LC_MESSAGES/messages.po, read from the package
(so a wheel carries them) and compiled in memory once per process. No .mo file is committed or
built: the .po is the one source of truth, and compiling it takes milliseconds.

English is the language of the source (every msgid is the English text), so it needs no catalog.
Fuzzy entries are left out of the compiled catalog, as msgfmt does: a guess is not shown to
people (tests/i18n/ fails while the catalog has any).
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from importlib.resources import files
from io import BytesIO

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from relay.i18n.negotiation import SUPPORTED_LOCALES

DOMAIN = "messages"
SOURCE_LOCALE = "en"  # the msgids' language


def catalog_path(tag: str) -> str:
    """Where the catalog of `tag` lives inside the package, e.g. locales/zh_CN/LC_MESSAGES/..."""
    return f"locales/{babel_name(tag)}/LC_MESSAGES/{DOMAIN}.po"


def babel_name(tag: str) -> str:
    """The BCP 47 tag as Babel and gettext spell a locale: zh-CN -> zh_CN."""
    return tag.replace("-", "_")


@dataclass(frozen=True)
class Language:
    """One language the pages speak: its tag for <html lang>, Babel's Locale (dates, numbers)
    and the compiled translations."""

    tag: str
    locale: Locale
    translations: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)


def compile_catalog(tag: str) -> Translations:
    """The .po of `tag`, compiled in memory."""
    source = files("relay").joinpath(catalog_path(tag))
    with source.open("rb") as file:
        catalog = read_po(file, locale=babel_name(tag), domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def language(tag: str) -> Language:
    """The Language of a supported tag (compiled on first use, then kept)."""
    if tag not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {tag!r}; supported: {', '.join(SUPPORTED_LOCALES)}")
    translations = NullTranslations() if tag == SOURCE_LOCALE else compile_catalog(tag)
    return Language(tag, Locale.parse(babel_name(tag)), translations)


def english() -> Language:
    return language(SOURCE_LOCALE)
