"""The plumbing every adapter shares (relay/providers/base.py): one request bounded in time and
size, answers that are no JSON object, the URL joining, the words that may reach a message, and
the guard that keeps httpx's request log free of query strings wherever the relay runs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relay.core import build_relay
from relay.errors import ProviderError
from relay.providers.base import (
    MAX_BODY,
    QueryFreeURLs,
    Timeouts,
    Upstream,
    bearer,
    number,
    provider_words,
    redact,
    request_json,
    scrubbed,
    shorten,
    timeout_of,
    tokens_in,
    with_query,
)
from relay.settings import ProviderConfig
from tests.conftest import make_settings
from tests.providers.fakes.raw import RawProvider


async def refused(
    http: httpx.AsyncClient, url: str = "https://idp.example/token", **options: Any
) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await request_json(http, "GET", url, **options)
    return caught.value


def answering(response: httpx.Response) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))


# --- time: the whole request, not each read ---------------------------------------------------


def test_timeout_of_reads_both_settings() -> None:
    config = ProviderConfig(
        name="p", kind="oauth2", display_name="P", client_id="c", client_secret="s", timeout=4.5
    )
    assert timeout_of(config) == Timeouts(total=4.5, connect=3.0)


async def test_request_json_bounds_the_whole_request_not_each_read() -> None:
    """A server sending one byte every 0.3 s never trips a 1 s read timeout; the whole request
    must still end after 1 s (it used to take as long as the body: 50 bytes, 15 s)."""
    async with (
        RawProvider("drip", body=b'{"access_token": "' + b"a" * 30 + b'"}', interval=0.3) as up,
        httpx.AsyncClient() as http,
    ):
        started = time.monotonic()
        error = await refused(http, up.url("/token"), timeouts=Timeouts(total=1, connect=1))
        elapsed = time.monotonic() - started
    assert (error.code, error.message) == (
        "provider_timeout",
        "127.0.0.1 did not answer within 1 s",
    )
    assert 0.9 <= elapsed < 4.0  # far from the 15 s the body takes
    assert 2 <= up.sent < 50  # it was reading, a byte at a time, when its time ran out


async def test_request_json_slow_but_in_time_is_an_answer() -> None:
    async with (
        RawProvider("drip", body=b'{"a": 1}', interval=0.05) as up,
        httpx.AsyncClient() as http,
    ):
        status, body = await request_json(
            http, "GET", up.url("/token"), timeouts=Timeouts(total=5, connect=1)
        )
    assert (status, body) == (200, {"a": 1})


# --- size -------------------------------------------------------------------------------------


async def test_request_json_stops_reading_an_endless_body_at_one_mebibyte() -> None:
    async with RawProvider("endless") as up, httpx.AsyncClient() as http:
        started = time.monotonic()
        error = await refused(http, up.url("/token"), timeouts=Timeouts(total=10, connect=1))
        elapsed = time.monotonic() - started
    assert (error.code, error.message) == (
        "invalid_response",
        "127.0.0.1 answered more than 1024 KiB",
    )
    assert elapsed < 5  # stopped by the size, not by the 10 s
    assert up.sent > MAX_BODY


async def test_request_json_size_limit_holds_on_the_relays_own_client() -> None:
    relay = build_relay(make_settings())
    try:
        async with RawProvider("endless", pause=0.01) as up:  # about 6 MiB a second
            error = await refused(
                relay.http,
                up.url("/token"),
                upstream=Upstream("sandbox", "token"),
                timeouts=Timeouts(total=1, connect=1),
            )
    finally:
        await relay.aclose()
    assert error.code == "invalid_response"


async def test_request_json_refuses_a_declared_length_over_the_limit_without_reading() -> None:
    async def stream() -> AsyncIterator[bytes]:
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    big = httpx.Response(200, headers={"Content-Length": str(MAX_BODY + 1)}, content=stream())
    async with answering(big) as http:
        error = await refused(http)
    assert error.code == "invalid_response"


@pytest.mark.parametrize(("extra", "fits"), [(0, True), (1, False)])
async def test_request_json_limit_is_exactly_one_mebibyte(extra: int, fits: bool) -> None:
    shell = b'{"pad": ""}'
    body = b'{"pad": "' + b"x" * (MAX_BODY - len(shell) + extra) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with answering(httpx.Response(200, content=chunks())) as http:
        if fits:
            status, answer = await request_json(http, "GET", "https://idp.example/token")
            assert status == 200 and len(answer["pad"]) == MAX_BODY - len(shell)
        else:
            assert (await refused(http)).code == "invalid_response"


# --- answers that are no JSON object, values that cannot be sent ------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "without JSON"),  # RecursionError in json.loads
        (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "without JSON"),
        (b"\xff\xfe not text", "without JSON"),
        (b"1" * 5000, "without JSON"),  # int() refuses more than 4300 digits
        (b'["a"]', "not an object"),
    ],
)
async def test_request_json_broken_bodies_are_invalid_response(content: bytes, words: str) -> None:
    async with answering(httpx.Response(200, content=content)) as http:
        error = await refused(http)
    assert error.code == "invalid_response" and words in error.message


async def test_request_json_value_that_cannot_be_sent_is_invalid_response() -> None:
    async with answering(httpx.Response(200, json={})) as http:
        error = await refused(http, headers={"Authorization": "Bearer tökén"})
    assert (error.code, error.message) == (
        "invalid_response",
        "a value from the provider cannot be sent to idp.example",
    )


@pytest.mark.parametrize("token", ["tökén", "two words", "line\nbreak", "", 42, None, ["a"]])
def test_bearer_refuses_what_no_header_can_carry(token: object) -> None:
    with pytest.raises(ProviderError) as caught:
        bearer(token)
    assert caught.value.code == "invalid_response"
    assert caught.value.message == "the provider's access_token cannot be sent in a header"


def test_bearer_keeps_every_visible_ascii_token() -> None:
    assert bearer("act.a*b!c~d/e+f=") == "Bearer act.a*b!c~d/e+f="


# --- numbers and URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (40029, 40029),
        ("40029", 40029),
        ("-1", -1),
        (0, 0),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("9" * 5000, None),
        (10**18, None),
        ("²", None),
        ("٣", None),  # an Arabic-Indic digit: int() takes it, a provider does not send it
        ("--5", None),
        ("+5", None),
        (" 5", None),
        ("", None),
        (True, None),
        (1.0, None),
        (None, None),
    ],
)
def test_number_takes_ascii_digits_only(value: object, expected: int | None) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("url", "query", "joined"),
    [
        ("https://a/x", "b=2", "https://a/x?b=2"),
        ("https://a/x?y=1", "b=2", "https://a/x?y=1&b=2"),
        ("https://a/x?", "b=2", "https://a/x?b=2"),
        ("https://a/x?y=1&", "b=2", "https://a/x?y=1&b=2"),
        ("https://a/x?y=1", {"b": "2 3", "c": "/"}, "https://a/x?y=1&b=2+3&c=%2F"),
        ("https://a/x", "", "https://a/x"),
    ],
)
def test_with_query_joins_after_any_existing_query(
    url: str, query: str | dict[str, str], joined: str
) -> None:
    assert with_query(url, query) == joined


# --- what may be said -------------------------------------------------------------------------

SECRET = "relay-app-secret-0123456789"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"bad client_secret={SECRET} sent", "bad client_secret=[redacted] sent"),
        (f"echo {SECRET}!", "echo [redacted]!"),
        ("secret s3cr:t+/= éx", "secret [redacted]"),
        ("secret s3cr%3At%2B%2F%3D%20%C3%A9x", "secret [redacted]"),  # URL-encoded, as echoed
        ("secret s3cr%3At%2B%2F%3D+%C3%A9x", "secret [redacted]"),
        ('{"access_token": "at-someone-else", "x": 1}', '{"access_token": "[redacted]", "x": 1}'),
        ("code=abc&state=s", "code=[redacted]&state=s"),
        ("Code: abc", "Code: [redacted]"),
        ("refresh_token=r1 id_token=eyJ.x.y", "refresh_token=[redacted] id_token=[redacted]"),
        ("errcode 40029: invalid code, rid: 1-2", "errcode 40029: invalid code, rid: 1-2"),
        ("The code is invalid (code 10003)", "The code is invalid (code 10003)"),
    ],
)
def test_redact_cuts_secrets_out(text: str, said: str) -> None:
    assert redact(text, hide=(SECRET, "s3cr:t+/= éx", "short")) == said


def test_redact_leaves_short_values_alone() -> None:
    # A one-letter "code" in a test must not cut every "c" out of a message.
    assert redact("invalid_client", hide=("c", "client")) == "invalid_client"


def test_shorten_and_provider_words() -> None:
    assert shorten("  a\n b\t\tc  ") == "a b c"
    assert shorten("x" * 300) == "x" * 199 + "…"
    assert provider_words(f"no.\n{SECRET}  " + "y" * 300, hide=(SECRET,)) == (
        "no. [redacted] " + "y" * (200 - len("no. [redacted] ") - 1) + "…"
    )
    assert provider_words(42) == provider_words(None) == ""


def test_scrubbed_cleans_message_and_a_reason_spelled_from_a_secret() -> None:
    exc = ProviderError("relay_app_secret_0123456789", f"it said {SECRET}")
    clean = scrubbed(exc, hide=(SECRET, None, ""))
    assert (clean.code, clean.message) == ("provider_error", "it said [redacted]")
    assert SECRET not in str(clean)
    untouched = ProviderError("invalid_code", "errcode 40029: invalid code")
    assert scrubbed(untouched, hide=(SECRET,)) is untouched


def test_tokens_in_finds_wrapped_tokens() -> None:
    grant = {"access_token": "a1", "data": {"refresh_token": "r1", "id_token": 5}, "x": "y"}
    assert sorted(tokens_in(grant)) == ["a1", "r1"]


# --- httpx's request log ----------------------------------------------------------------------


def test_query_free_urls_rewrites_httpx_request_records() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s "%s %d %s"',
        (
            "GET",
            httpx.URL(f"https://u:p@api.weixin.qq.com/sns/oauth2/access_token?secret={SECRET}"),
            "HTTP/1.1",
            200,
            "OK",
        ),
        None,
    )
    assert QueryFreeURLs().filter(record) is True
    assert record.getMessage() == (
        'HTTP Request: GET https://api.weixin.qq.com/sns/oauth2/access_token "HTTP/1.1 200 OK"'
    )


@pytest.fixture
def unguarded_httpx(monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    """httpx's logger as a fresh process has it: no filter (earlier tests built relays)."""
    logger = logging.getLogger("httpx")
    monkeypatch.setattr(logger, "filters", [])
    return logger


async def test_build_relay_keeps_upstream_queries_out_of_every_log_record(
    unguarded_httpx: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    """As an application embedding the relay would run it: no `qr-relay serve`, no logging
    setup by the relay's CLI; every logger captured at DEBUG, httpx and httpcore included, over
    a real connection."""
    caplog.set_level(logging.DEBUG)
    query = f"appid=wx1&secret={SECRET}&code=THE-CODE-0123456789&grant_type=authorization_code"
    async with RawProvider("answer", body=b'{"errcode": 0}') as upstream:
        url = upstream.url(f"/sns/oauth2/access_token?{query}")

        # Without the relay's guard, httpx itself writes the secret into the log ...
        async with httpx.AsyncClient() as plain:
            await request_json(plain, "GET", url)
        assert SECRET in caplog.text
        caplog.clear()

        # ... and once a relay is built, its requests (and anyone's through httpx) do not.
        relay = build_relay(make_settings())
        try:
            status, body = await request_json(
                relay.http, "GET", url, upstream=Upstream("wechat", "token")
            )
        finally:
            await relay.aclose()
    assert (status, body) == (200, {"errcode": 0})
    assert any(isinstance(f, QueryFreeURLs) for f in unguarded_httpx.filters)
    messages = [record.getMessage() for record in caplog.records]
    assert f'HTTP Request: GET {upstream.url("/sns/oauth2/access_token")} "HTTP/1.1 200 OK"' in (
        messages
    )
    assert any(record.name.startswith("httpcore") for record in caplog.records)
    for text in messages:
        for secret in (SECRET, "THE-CODE-0123456789", "secret=", "code="):
            assert secret not in text


async def test_guard_is_installed_once(unguarded_httpx: logging.Logger) -> None:
    for _ in range(3):
        await build_relay(make_settings()).aclose()
    assert sum(isinstance(f, QueryFreeURLs) for f in unguarded_httpx.filters) == 1
