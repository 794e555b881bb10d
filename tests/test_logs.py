"""No secret, code, token or cookie value is ever logged."""

from __future__ import annotations

import logging

import pytest

from relay.cli import configure_logging
from tests.flows import Relay, pkce


async def test_logs_hold_no_code_token_state_or_cookie(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    verifier, challenge = pkce()
    answer = await relay.login(code_challenge=challenge, code_challenge_method="S256")
    tokens = (await relay.token(code=answer["code"], code_verifier=verifier)).json()
    await relay.desktop.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    secrets = [answer["code"], answer["state"], verifier, tokens["access_token"], "rp-secret"]
    secrets += [c.value for c in relay.desktop.cookies.jar if c.value]
    secrets += [c.value for c in relay.phone.cookies.jar if c.value]
    secrets += [relay.core.settings.providers["sandbox"].client_secret]
    # The test's own httpx clients log their URLs through the "httpx" logger, which the
    # relay's CLI sets to WARNING (checked below); everything else is the relay's.
    text = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    assert "GET /s/… 303" in text
    for secret in secrets:
        assert secret not in text


def test_logs_cli_quiets_upstream_request_urls() -> None:
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    try:
        configure_logging()
        for logger in loggers:
            assert not logger.isEnabledFor(logging.INFO)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
