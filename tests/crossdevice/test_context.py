"""What the phone is told about the computer that asks: its browser and OS, and where it is."""

from __future__ import annotations

from pathlib import Path

import netaddr
import pytest
from mmdb_writer import MMDBWriter
from starlette.requests import Request

from relay.crossdevice import DesktopContext, Locator, describe_agent

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.mark.parametrize(
    ("agent", "described"),
    [
        (CHROME_WINDOWS, "Chrome 131 on Windows 10"),
        (SAFARI_MAC, "Safari 17 on macOS"),
        (FIREFOX_LINUX, "Firefox 133 on Linux"),
        ("curl/8.5.0", "curl 8"),
        ("", None),
        (None, None),
        ("\x00garbage-that-no-browser-sends", None),
    ],
)
def test_describe_agent_names_browser_and_os(agent: str | None, described: str | None) -> None:
    assert describe_agent(agent) == described


def test_desktop_context_keeps_the_address_and_a_bounded_agent() -> None:
    scope = {
        "type": "http",
        "headers": [(b"user-agent", b"A" * 5000)],
        "client": ("203.0.113.7", 51234),
    }
    context = DesktopContext.of(Request(scope))
    assert context.ip == "203.0.113.7"
    assert context.user_agent == "A" * 512
    assert DesktopContext.of(Request({"type": "http", "headers": []})) == DesktopContext()


def city_database(path: Path) -> Path:
    """A small database in the GeoLite2-City layout (names per language)."""
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    writer.insert_network(
        netaddr.IPSet(["203.0.113.0/24"]),
        {"city": {"names": {"en": "Shanghai"}}, "country": {"names": {"en": "China"}}},
    )
    writer.insert_network(
        netaddr.IPSet(["198.51.100.0/24"]), {"country": {"names": {"en": "Germany"}}}
    )
    writer.insert_network(netaddr.IPSet(["2001:db8::/32"]), {"country": {"iso_code": "XX"}})
    writer.to_db_file(str(path))
    return path


def test_locator_names_city_and_country(tmp_path: Path) -> None:
    locator = Locator(str(city_database(tmp_path / "city.mmdb")))
    try:
        assert locator.locate("203.0.113.7") == "Shanghai, China"
        assert locator.locate("198.51.100.1") == "Germany"  # a country database has no city
        assert locator.locate("192.0.2.1") is None  # not in the database
        assert locator.locate("2001:db8::1") is None  # a record without names
        assert locator.locate("10.1.2.3") is None  # private: nowhere to tell
        assert locator.locate("127.0.0.1") is None
        assert locator.locate("not-an-address") is None
        assert locator.locate(None) is None
    finally:
        locator.close()


def test_locator_without_a_database_locates_nothing() -> None:
    assert Locator(None).locate("203.0.113.7") is None


def test_locator_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="not a MaxMind-format database"):
        Locator(str(bogus))
