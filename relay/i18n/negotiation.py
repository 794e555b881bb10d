"""Which language a page speaks: the OIDC `ui_locales` parameter, then the browser's
Accept-Language, then the configured `default_locale`.

    ui_locales       OpenID Connect Core §3.1.2.1: space-separated BCP 47 tags, most preferred
                     first. A hint: tags the relay does not support are skipped, never an error.
    Accept-Language  RFC 9110 §12.5.4: comma-separated tags with q-values; q=0 means "not this".
                     `*` means "any other language": the default.

Each source is read in turn and the first that names a supported language decides. Within one
source, tags are taken in order of preference (q-value, then position) and matched loosely by
their language: `en-GB` and `en-US` are `en`; `zh`, `zh-CN`, `zh-SG`, `zh-Hans` and `zh-Hans-*`
are `zh-CN`. Traditional Chinese (`zh-TW`, `zh-HK`, `zh-MO`, `zh-Hant*`) is not what the relay
speaks, but its readers read Simplified Chinese far more easily than a language they did not list:
it counts only when the same source names no other supported language. So `zh-TW, en;q=0.8` is
English, and `zh-TW` alone is Simplified Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SUPPORTED_LOCALES = ("en", "zh-CN")  # BCP 47, as pages write them in <html lang>
DEFAULT_LOCALE = "en"

LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
QVALUE = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")  # RFC 9110 §12.4.2
MAX_TAGS = 32  # of one header or parameter: a browser sends a handful
MAX_KEPT = 8  # tags of ui_locales kept with a login (it lives in the store)
TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})


def supported_locale(value: str) -> str | None:
    """`value` spelled as one of SUPPORTED_LOCALES (any case, `_` or `-`), in its canonical
    spelling; None for anything else. For the configuration's `default_locale`."""
    wanted = value.replace("_", "-").casefold()
    return next((tag for tag in SUPPORTED_LOCALES if tag.casefold() == wanted), None)


def match(tag: str) -> tuple[str, bool] | None:
    """The supported locale `tag` asks for and whether it is a full match (False: Traditional
    Chinese, served in Simplified Chinese only when nothing better is asked for), or None."""
    if not LANGUAGE_TAG.fullmatch(tag):
        return None
    language, *rest = tag.replace("_", "-").casefold().split("-")
    if language == "en":
        return "en", True
    if language != "zh":
        return None
    script = next((part for part in rest if len(part) == 4 and part.isalpha()), None)
    if script == "hans":
        return "zh-CN", True
    if script == "hant" or any(part in TRADITIONAL_REGIONS for part in rest):
        return "zh-CN", False
    return "zh-CN", True


def ui_locales_tags(value: str | None) -> list[str]:
    """The tags of an OIDC `ui_locales` value, in order (at most MAX_TAGS)."""
    return (value or "").split()[:MAX_TAGS]


def clean_ui_locales(value: str | None) -> str | None:
    """A `ui_locales` value as kept with a login: its well-formed tags, at most MAX_KEPT, in
    order; None when none is left. Nothing here is an error (OIDC Core §3.1.2.1: a hint)."""
    tags = [tag for tag in ui_locales_tags(value) if LANGUAGE_TAG.fullmatch(tag)]
    return " ".join(tags[:MAX_KEPT]) or None


def accept_language_tags(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first; q=0 and malformed entries
    are left out."""
    weighted: list[tuple[float, str]] = []
    for entry in (header or "").split(",")[:MAX_TAGS]:
        tag, *params = (part.strip() for part in entry.split(";"))
        if tag != "*" and not LANGUAGE_TAG.fullmatch(tag):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().casefold() == "q":
                quality = float(value.strip()) if QVALUE.fullmatch(value.strip()) else -1.0
        if quality > 0:
            weighted.append((quality, tag))
    weighted.sort(key=lambda item: -item[0])  # stable: equal q-values keep their order
    return [tag for _, tag in weighted]


def first_supported(tags: Iterable[str], default: str) -> str | None:
    """The locale one source asks for (see the module's docstring), or None."""
    fallback = None
    for tag in tags:
        if tag == "*":
            return default
        found = match(tag)
        if found is None:
            continue
        locale, full = found
        if full:
            return locale
        fallback = fallback or locale
    return fallback


def negotiate(
    ui_locales: str | None, accept_language: str | None, default: str = DEFAULT_LOCALE
) -> str:
    """The locale of a page: `ui_locales`, then `accept_language`, then `default`."""
    for tags in (ui_locales_tags(ui_locales), accept_language_tags(accept_language)):
        found = first_supported(tags, default)
        if found is not None:
            return found
    return default
