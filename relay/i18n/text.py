"""Text for people, marked in Python and translated where it is shown.

A handler does not know yet which language its page will speak (the page decides: the login's
`ui_locales`, the browser's Accept-Language, the default), so Python code marks its messages with
`_()`, which returns a Text: the English msgid and its named placeholders. `render()` translates
every Text it is given (relay/templating.py)::

    title = _("Open this in %(app)s", app=app.app_name)

Babel's extractor finds `_("...")` in relay/**.py (babel.cfg), as it finds `_()` and
`{% trans %}` in the templates. Placeholders are named, so a translation may move them. A
placeholder's value may itself be a Text (translated too) or Localized (a date, a duration:
formatted for the language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from relay.i18n.catalogs import Language


@runtime_checkable
class Localized(Protocol):
    """A value written differently in each language (a time, a duration)."""

    def localize(self, language: Language) -> str: ...


@dataclass(frozen=True)
class Text:
    """A message to translate: the English msgid and the values of its placeholders."""

    msgid: str
    params: Mapping[str, str | int | Text | Localized] = field(default_factory=dict)

    def translate(self, language: Language) -> str:
        message = language.gettext(self.msgid)
        if not self.params:
            return message  # no % formatting: a literal % stays as written
        values = {name: localize(value, language) for name, value in self.params.items()}
        return message % values

    def english(self) -> str:
        """The English text: for what stays English whoever reads the page (an OAuth
        error_description for the relying party's engineers, RFC 6749 §4.1.2.1)."""
        from relay.i18n.catalogs import english

        return self.translate(english())


def localize(value: str | int | Text | Localized, language: Language) -> str:
    if isinstance(value, Text):
        return value.translate(language)
    if isinstance(value, Localized):
        return value.localize(language)
    return str(value)


def _(msgid: str, /, **params: str | int | Text | Localized) -> Text:
    """Mark `msgid` for translation; the page translates it (see the module's docstring)."""
    return Text(msgid, params)
