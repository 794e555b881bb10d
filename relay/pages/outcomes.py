"""How a login ended, told to people in their language.

A session's `message` is English: it is also the `error_description` the relying party gets
(for its engineers, RFC 6749 §4.1.2.1). The messages are built here, from
Texts, and read back here into the same Texts (`told`), so that the phone's page can say the same
in the reader's language, with the provider's name and its own words (not translated: support
quotes them) in their places. The desktop's script gets its texts from `ScriptTexts`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from relay.i18n import Language, Text, _, localize
from relay.sessions import Status

CANCELLED_ON_COMPUTER = _("The sign-in was cancelled on the computer.")
DECLINED_ON_PHONE = _("The sign-in was declined on the phone.")
WRONG_NUMBER = _("The number picked on the phone did not match the screen.")
# A provider's "the user said no" (relay/pages/callback.py): denied rather than failed.
DENIED_BY_USER = frozenset({"access_denied", "user_denied", "user_cancelled"})


def declined_at(provider: str) -> Text:
    return _("The sign-in was declined at %(provider)s.", provider=provider)


def could_not_sign_in(provider: str, detail: str) -> Text:
    """`detail`: "reason: the provider's words"."""
    return _("%(provider)s could not sign you in (%(detail)s).", provider=provider, detail=detail)


def could_not_start(provider: str, detail: str) -> Text:
    return _(
        "%(provider)s could not start the sign-in (%(detail)s).", provider=provider, detail=detail
    )


# Every message a session may carry that people see: what `told` reads back.
TOLD = (
    CANCELLED_ON_COMPUTER,
    DECLINED_ON_PHONE,
    WRONG_NUMBER,
    declined_at(""),
    could_not_sign_in("", ""),
    could_not_start("", ""),
)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@functools.cache
def pattern(msgid: str) -> re.Pattern[str]:
    """The English message of `msgid`, each placeholder a named group."""
    parts = PLACEHOLDER.split(msgid)  # text, name, text, name, ..., text
    return re.compile(
        "".join(f"(?P<{part}>.*?)" if i % 2 else re.escape(part) for i, part in enumerate(parts)),
        re.S,
    )


def told(message: str | None) -> Text | None:
    """The Text a session's English `message` was made from; None for a message made elsewhere."""
    if not message:
        return None
    for text in TOLD:
        found = pattern(text.msgid).fullmatch(message)
        if found:
            return Text(text.msgid, found.groupdict())
    return None


@dataclass(frozen=True)
class ScriptTexts:
    """What static/login.js says, in the page's language: a JSON object in the login page's
    `data-texts` attribute (the page hands its script data in data- attributes: the CSP allows
    no inline script). `status`: the status line per status; `reasons`: the outcome per reason
    code; `failed`: the outcome of any other failure, "{reason}" standing for its code."""

    status: Mapping[Status, Text]
    provider: str

    def localize(self, language: Language) -> str:
        declined = declined_at(self.provider)
        texts = {
            "status": {status.value: text for status, text in self.status.items()},
            "reasons": {
                "user_declined": DECLINED_ON_PHONE,
                "wrong_code": WRONG_NUMBER,
                **dict.fromkeys(sorted(DENIED_BY_USER), declined),
            },
            "failed": could_not_sign_in(self.provider, "{reason}"),
            "reconnecting": _("Reconnecting…"),
            "elsewhere": _(
                "This sign-in cannot continue in this browser. Start again from the app."
            ),
        }
        return json.dumps(translate_all(texts, language), ensure_ascii=False)  # escaped by Jinja


def translate_all(value: object, language: Language) -> object:
    if isinstance(value, Text):
        return localize(value, language)
    if isinstance(value, dict):
        return {key: translate_all(item, language) for key, item in value.items()}
    return value
