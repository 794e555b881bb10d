"""Who is asking: the desktop that started a login, as the phone shows it before Continue.

The cross-device BCP asks for context (RFC 10027, "user experience"): a person about to approve a
login they did not start can only notice it if the phone says which app asks, from what kind of
computer, from where and when. The relay records the desktop's User-Agent and IP address when the
login starts, and the phone page describes them: "Chrome 131 on Windows 10", the IP address, and a
coarse location (city and country) when a GeoIP database in MaxMind's format is configured
(`geoip_database`; GeoLite2-City or GeoLite2-Country, or any database with the same layout).
Both in the page's language: "Chrome 131 on Windows 10" is "Windows 10 上的 Chrome 131", and the
place takes the database's own names in that language when it has them (MaxMind's carry zh-CN).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any

import maxminddb
from starlette.requests import HTTPConnection
from ua_parser import parse

from relay.i18n import Language, Text, _, english

log = logging.getLogger("relay.crossdevice")

MAX_AGENT = 512  # characters of User-Agent kept: enough for any real browser


@dataclass(frozen=True)
class DesktopContext:
    """The desktop's address and browser, as the login's first request showed them."""

    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, connection: HTTPConnection) -> DesktopContext:
        agent = connection.headers.get("user-agent")
        return cls(
            ip=connection.client.host if connection.client else None,
            user_agent=agent[:MAX_AGENT] if agent else None,
        )


def describe_agent(user_agent: str | None) -> str | None:
    """ "Chrome 131 on Windows 10", "Safari on macOS", or None when nothing is recognised."""
    described = agent_text(user_agent)
    return described.english() if isinstance(described, Text) else described


def agent_text(user_agent: str | None) -> Text | str | None:
    """The browser and the system of `user_agent`, for the page to say in its language (the
    names themselves are names: not translated)."""
    if not user_agent:
        return None
    parsed = parse(user_agent)
    browser = os_name = None
    if parsed.user_agent is not None and parsed.user_agent.family != "Other":
        browser = " ".join(filter(None, (parsed.user_agent.family, parsed.user_agent.major)))
    if parsed.os is not None and parsed.os.family != "Other":
        os_name = " ".join(filter(None, (parsed.os.family, parsed.os.major)))
        if parsed.os.family == "Mac OS X":
            os_name = "macOS"
    if browser and os_name:
        return _("%(browser)s on %(system)s", browser=browser, system=os_name)
    return browser or os_name


HANDHELD_OS = {"Android", "iOS", "HarmonyOS", "KaiOS", "Windows Phone"}
HANDHELD_MARKERS = ("Mobile", "Android", "iPhone", "iPod", "HarmonyOS", "OpenHarmony")


def is_handheld(user_agent: str | None) -> bool:
    """Whether the browser runs on a phone (or a tablet that says so): there is nothing to scan,
    and the login page offers to go on in this browser instead (relay/pages/same_device.py).
    An iPad's Safari presents itself as a Mac's and gets the computer's page, whose "Open on
    this device" does the same."""
    if not user_agent:
        return False
    parsed = parse(user_agent[:MAX_AGENT])
    if parsed.os is not None and parsed.os.family in HANDHELD_OS:
        return True
    return any(marker in user_agent for marker in HANDHELD_MARKERS)


class Locator:
    """City and country of an IP address from a MaxMind-format database, or None.

    The database is opened once (memory-mapped) and read without blocking on each lookup; an
    address it does not hold (a private one, say) has no location."""

    def __init__(self, path: str | None) -> None:
        self._reader: maxminddb.Reader | None = None
        if path:
            try:
                self._reader = maxminddb.open_database(path)
            except maxminddb.InvalidDatabaseError as exc:
                raise ValueError(f"{path} is not a MaxMind-format database ({exc})") from None

    def locate(self, ip: str | None) -> str | None:
        """ "Hangzhou, China", in English."""
        place = self.place(ip)
        return (place.localize(english()) or None) if place else None

    def place(self, ip: str | None) -> Place | None:
        """Where `ip` is, to be written in the page's language."""
        if self._reader is None or not ip:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        try:
            record = self._reader.get(address)
        except (ValueError, maxminddb.InvalidDatabaseError) as exc:
            log.warning("GeoIP lookup failed: %s", exc)
            return None
        if not isinstance(record, dict):
            return None
        place = Place(_names(record.get("city")), _names(record.get("country")))
        return place if place.city or place.country else None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _names(entry: Any) -> dict[str, str]:
    """A GeoIP record's names of a city or a country, by language ("en", "zh-CN", ...)."""
    names = entry.get("names") if isinstance(entry, dict) else None
    if not isinstance(names, dict):
        return {}
    return {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str) and v}


@dataclass(frozen=True)
class Place:
    """A city and its country, each by language; written in the page's language where the
    database has that name, in English otherwise."""

    city: dict[str, str] = field(default_factory=dict)
    country: dict[str, str] = field(default_factory=dict)

    def localize(self, language: Language) -> str:
        city = self.city.get(language.tag) or self.city.get("en")
        country = self.country.get(language.tag) or self.country.get("en")
        if city and country:
            return _("%(city)s, %(country)s", city=city, country=country).translate(language)
        return city or country or ""
