"""English and Simplified Chinese: which language a page speaks (negotiation.py), the message
catalogs (catalogs.py, relay/locales/), text marked in Python (text.py) and dates (dates.py).

How to add or change a string, and how to update the catalogs: README, "Languages".
"""

from relay.i18n.catalogs import Language, english, language
from relay.i18n.negotiation import DEFAULT_LOCALE, SUPPORTED_LOCALES, negotiate, supported_locale
from relay.i18n.text import Localized, Text, _, localize

__all__ = [
    "DEFAULT_LOCALE",
    "SUPPORTED_LOCALES",
    "Language",
    "Localized",
    "Text",
    "_",
    "english",
    "language",
    "localize",
    "negotiate",
    "supported_locale",
]
