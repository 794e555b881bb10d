"""GET /callback/{provider}: malformed answers change nothing; the upstream state is single use."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.flows import Relay, query_of


async def callback_location(relay: Relay) -> tuple[str, str]:
    """A login up to the sandbox's redirect back to the relay (not yet followed)."""
    started = await relay.start()
    await relay.scan(started.scan_url)
    back = await relay.at_sandbox(started.session_id)
    return started.session_id, back.headers["location"]


def upstream_records(relay: Relay) -> list[str]:
    return relay.stored_keys("upstream:")


async def test_callback_malformed_answers_change_nothing(relay: Relay) -> None:
    session_id, location = await callback_location(relay)
    state = query_of(location)["state"]
    for query in (
        "",
        "code=abc",
        f"state={state}",  # neither code nor error
        f"state={state}&state={state}&code=abc",
        f"state={state}&code=a&code=b",
        f"state={'x' * 300}&code=abc",
        f"state={state}&code=%ff%fe",
    ):
        page = await relay.phone.get(f"/callback/sandbox?{query}")
        assert page.status_code == 400, query
        assert "not valid" in page.text
    assert len(upstream_records(relay)) == 1
    assert (await relay.core.sessions.get(session_id)).status == "scanned"

    done = await relay.phone.get(location)  # the real answer still works
    assert "Return to your computer" in done.text


async def test_callback_unknown_state(relay: Relay) -> None:
    page = await relay.phone.get("/callback/sandbox?state=0123456789abcdef&code=abc")
    assert page.status_code == 400
    assert "expired or was used" in page.text


async def test_callback_replayed_is_refused_and_login_kept(relay: Relay) -> None:
    session_id, location = await callback_location(relay)
    first = await relay.phone.get(location)
    assert "Return to your computer" in first.text
    again = await relay.phone.get(location)
    assert again.status_code == 400
    assert "expired or was used" in again.text
    assert (await relay.core.sessions.get(session_id)).status == "confirmed"


async def test_callback_on_another_providers_path_is_refused(relay: Relay) -> None:
    session_id, location = await callback_location(relay)
    other = location.replace("/callback/sandbox?", "/callback/sandbox2?")
    page = await relay.phone.get(other)
    assert page.status_code == 400
    assert (await relay.core.sessions.get(session_id)).status == "scanned"


async def test_callback_unknown_provider(relay: Relay) -> None:
    page = await relay.phone.get("/callback/nope?state=abc&code=def")
    assert page.status_code == 404


async def test_callback_after_desktop_cancelled_does_not_confirm(relay: Relay) -> None:
    session_id, location = await callback_location(relay)
    await relay.desktop.post(f"/sessions/{session_id}/cancel")
    page = await relay.phone.get(location)
    assert "Sign-in cancelled" in page.text
    assert (await relay.core.sessions.get(session_id)).status == "cancelled"


async def test_callback_provider_error_fails_with_its_code(relay: Relay) -> None:
    session_id, location = await callback_location(relay)
    state = query_of(location)["state"]
    path = urlsplit(location).path
    page = await relay.phone.get(f"{path}?state={state}&error=server_error")
    assert "The sign-in failed" in page.text
    session = await relay.core.sessions.get(session_id)
    assert session.status == "failed"
    assert session.reason == "server_error"


async def test_callback_with_a_code_the_provider_rejects_fails(relay: Relay) -> None:
    session_id, location = await callback_location(relay)
    state = query_of(location)["state"]
    page = await relay.phone.get(f"/callback/sandbox?state={state}&code=forged-code")
    assert "The sign-in failed" in page.text
    session = await relay.core.sessions.get(session_id)
    assert session.status == "failed"
    assert session.reason == "invalid_code"


async def test_callback_in_another_browser_is_refused_and_ends_that_trip(relay: Relay) -> None:
    """A forwarded provider link cannot sign in the person who started the login: the answer
    counts only in the browser that went to the provider (RFC 9700 §4.7.1)."""
    session_id, location = await callback_location(relay)
    async with relay.browser() as victim:
        page = await victim.get(location)
    assert page.status_code == 403
    assert "phone that scanned the code" in page.text
    assert (await relay.core.sessions.get(session_id)).status == "scanned"
    assert upstream_records(relay) == []  # that trip is over

    late = await relay.phone.get(location)  # even the right phone cannot reuse it now
    assert late.status_code == 400
    done = await relay.approve(session_id)  # but it can go to the provider again
    assert "Return to your computer" in done.text
    assert (await relay.core.sessions.get(session_id)).status == "confirmed"


async def test_callback_clears_its_cookie(relay: Relay) -> None:
    _, location = await callback_location(relay)
    assert any(c.name.startswith("relay_cb_") for c in relay.phone.cookies.jar)
    await relay.phone.get(location)
    assert not any(c.name.startswith("relay_cb_") for c in relay.phone.cookies.jar)


# --- what the callback makes of failures ------------------------------------------------------


async def ended_in(relay: Relay, session_id: str, phone: httpx.Response) -> tuple[str, str]:
    """What both screens and the relying party got: (the session's message, all of it)."""
    session = await relay.core.sessions.get(session_id)
    desktop = await relay.desktop.get(f"/sessions/{session_id}")
    to_rp = await relay.resume(session_id)
    assert to_rp.status_code == 302
    assert query_of(to_rp.headers["location"])["error"] == "access_denied"
    assert session.message is not None
    return session.message, "\n".join([phone.text, desktop.text, to_rp.headers["location"]])


@pytest.mark.parametrize("step", ["exchange_code", "fetch_identity"])
async def test_callback_unexpected_adapter_error_fails_the_session_with_a_page(
    relay: Relay, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """The last resort: an adapter that breaks on an answer nobody foresaw gives the phone a
    clear page (never a 500) and the session `internal_error`; the log names the exception and
    where it was raised, never its message (it may quote a code or a token)."""
    caplog.set_level(logging.DEBUG)
    leak = "leaked-" + secrets.token_hex(8)
    provider = relay.core.providers["sandbox"]
    original = getattr(provider, step)

    async def breaks(*args: Any) -> Any:
        if step == "fetch_identity":
            await original(*args)  # the real profile call, then the surprise
        raise KeyError(leak)

    monkeypatch.setattr(provider, step, breaks)
    session_id, location = await callback_location(relay)
    page = await relay.phone.get(location)
    assert page.status_code == 200
    assert "The sign-in failed" in page.text
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == ("failed", "internal_error")
    message, shown = await ended_in(relay, session_id, page)
    assert message == (
        "Sandbox could not sign you in (internal_error: the relay could not handle the "
        "provider's answer)."
    )
    [record] = [r for r in caplog.records if r.name == "relay.callback" and r.levelname == "ERROR"]
    assert record.getMessage().startswith(
        f"login {session_id[:8]}… at sandbox: internal_error: KeyError raised while handling"
    )
    assert "in breaks" in record.getMessage()  # where: the traceback's frames
    assert record.exc_info is None
    for text in (caplog.text, shown):
        assert leak not in text


async def test_callback_error_description_loses_the_secret_before_log_and_screens(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    """The callback's own redaction step, whatever the adapter did: the provider's client
    secret and any `code=` in the provider's words are cut out."""
    caplog.set_level(logging.DEBUG)
    session_id, location = await callback_location(relay)
    state = query_of(location)["state"]
    words = "bad client sandbox-secret; retry with code=abc123"
    page = await relay.phone.get(
        "/callback/sandbox",
        params={"state": state, "error": "server_error", "error_description": words},
    )
    message, shown = await ended_in(relay, session_id, page)
    assert message == (
        "Sandbox could not sign you in (server_error: bad client [redacted]; retry with "
        "code=[redacted])."
    )
    for text in (caplog.text, shown):
        assert "sandbox-secret" not in text and "abc123" not in text


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        ("Server Error!", "failed", "server_error"),
        ("ACCESS_DENIED", "denied", "access_denied"),
        ("invalid_grant", "failed", "invalid_code"),
        ("<b>", "failed", "b"),
        ("<>", "failed", "provider_error"),
    ],
)
async def test_callback_error_word_becomes_a_reason_code(
    relay: Relay, error: str, status: str, reason: str
) -> None:
    session_id, location = await callback_location(relay)
    state = query_of(location)["state"]
    page = await relay.phone.get("/callback/sandbox", params={"state": state, "error": error})
    assert page.status_code == 200
    session = await relay.core.sessions.get(session_id)
    assert (session.status, session.reason) == (status, reason)
