"""Times and durations as each language writes them (Babel's CLDR data).

The pages cannot know the reader's time zone, so clock times are shown in UTC, and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from babel.dates import format_skeleton, format_timedelta

from relay.i18n.catalogs import Language
from relay.i18n.text import Text, _


@dataclass(frozen=True)
class ClockTime:
    """Hours and minutes of a moment, in UTC, 24-hour: "14:05" (a time people compare with
    the clock of a screen in front of them)."""

    at: datetime

    def localize(self, language: Language) -> str:
        return format_skeleton("Hm", self.at, tzinfo=UTC, locale=language.locale)


@dataclass(frozen=True)
class Duration:
    """A length of time, rounded to its largest unit: "30 seconds", "1 minute", "30秒钟"."""

    seconds: float

    def localize(self, language: Language) -> str:
        return format_timedelta(timedelta(seconds=self.seconds), locale=language.locale)


@dataclass(frozen=True)
class Elapsed:
    """How long ago, in whole minutes (floored): "2 minutes ago", "2分钟前"."""

    seconds: float

    def localize(self, language: Language) -> str:
        minutes = max(1, int(self.seconds) // 60)
        return format_timedelta(
            timedelta(minutes=-minutes),
            granularity="minute",
            add_direction=True,
            locale=language.locale,
        )


def utc_time(timestamp: float) -> Text:
    """ "14:05 UTC"."""
    return _("%(time)s UTC", time=ClockTime(datetime.fromtimestamp(timestamp, UTC)))


def time_ago(seconds: float) -> Text | Elapsed:
    """ "just now" within the first minute, then "2 minutes ago"."""
    if seconds < 60:
        return _("just now")
    return Elapsed(seconds)


def countdown(seconds: float) -> str:
    """Minutes and seconds left, "2:05": written the same way in English and Chinese; the page's
    label around it is translated."""
    return "{}:{:02d}".format(*divmod(max(0, int(seconds)), 60))
