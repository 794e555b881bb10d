"""Times and durations as each language writes them."""

from __future__ import annotations

from datetime import UTC, datetime

from relay.i18n import language, localize
from relay.i18n.dates import Duration, countdown, time_ago, utc_time

ZH = language("zh-CN")
EN = language("en")
AT = datetime(2026, 3, 1, 14, 5, 30, tzinfo=UTC).timestamp()


def test_dates_clock_time_is_24_hour_utc_in_both() -> None:
    assert utc_time(AT).translate(EN) == "14:05 UTC"
    assert utc_time(AT).translate(ZH) == "UTC 14:05"


def test_dates_time_ago_in_whole_minutes() -> None:
    assert localize(time_ago(0), EN) == "just now"
    assert localize(time_ago(59), ZH) == "刚刚"
    assert localize(time_ago(60), EN) == "1 minute ago"
    assert localize(time_ago(179), EN) == "2 minutes ago"  # floored, as a clock would say
    assert localize(time_ago(179), ZH) == "2分钟前"


def test_dates_durations() -> None:
    assert localize(Duration(1), EN) == "1 second"
    assert localize(Duration(30), EN) == "30 seconds"
    assert localize(Duration(30), ZH) == "30秒钟"
    assert localize(Duration(60), ZH) == "1分钟"


def test_dates_countdown_reads_the_same_in_both() -> None:
    assert countdown(125) == "2:05"
    assert countdown(180) == "3:00"
    assert countdown(-3) == "0:00"
