"""The sandbox provider behaves like a standard OAuth 2.0 provider, errors included."""

from __future__ import annotations

import httpx

from tests.flows import Relay, form_fields, pkce, query_of

CALLBACK = "http://relay.test/callback/sandbox"


async def sandbox_code(relay: Relay, challenge: str | None = None) -> str:
    params = {
        "response_type": "code",
        "client_id": "relay",
        "redirect_uri": CALLBACK,
        "state": "s1",
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = await relay.phone.get("/sandbox/authorize", params=params)
    assert page.status_code == 200
    fields = form_fields(page.text)
    fields.update(decision="approve", name="Test User")
    back = await relay.phone.post("/sandbox/authorize", data=fields)
    assert back.status_code == 303
    answer = query_of(back.headers["location"])
    assert answer["state"] == "s1"
    return answer["code"]


async def sandbox_token(relay: Relay, **form: str) -> httpx.Response:
    body = {"grant_type": "authorization_code", "redirect_uri": CALLBACK, **form}
    return await relay.phone.post(
        "/sandbox/token", data=body, auth=httpx.BasicAuth("relay", "sandbox-secret")
    )


async def test_sandbox_full_grant_with_pkce(relay: Relay) -> None:
    verifier, challenge = pkce()
    code = await sandbox_code(relay, challenge)
    tokens = await sandbox_token(relay, code=code, code_verifier=verifier)
    assert tokens.status_code == 200
    user = await relay.phone.get(
        "/sandbox/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert user.json()["name"] == "Test User"
    assert user.json()["preferred_username"] == "test.user"


async def test_sandbox_code_is_single_use(relay: Relay) -> None:
    code = await sandbox_code(relay)
    assert (await sandbox_token(relay, code=code)).status_code == 200
    again = await sandbox_token(relay, code=code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_sandbox_wrong_verifier_and_wrong_secret(relay: Relay) -> None:
    _, challenge = pkce()
    code = await sandbox_code(relay, challenge)
    wrong = await sandbox_token(relay, code=code, code_verifier=pkce()[0])
    assert wrong.json()["error"] == "invalid_grant"
    refused = await relay.phone.post(
        "/sandbox/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
        auth=httpx.BasicAuth("relay", "not-the-secret"),
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


async def test_sandbox_refuses_unregistered_redirect_uri(relay: Relay) -> None:
    page = await relay.phone.get(
        "/sandbox/authorize",
        params={
            "response_type": "code",
            "client_id": "relay",
            "redirect_uri": "https://evil.example/callback",
        },
    )
    assert page.status_code == 400
    assert "location" not in page.headers


async def test_sandbox_approve_needs_a_name(relay: Relay) -> None:
    page = await relay.phone.get(
        "/sandbox/authorize",
        params={"response_type": "code", "client_id": "relay", "redirect_uri": CALLBACK},
    )
    fields = form_fields(page.text)
    fields.update(decision="approve", name="   ")
    again = await relay.phone.post("/sandbox/authorize", data=fields)
    assert again.status_code == 400
    assert "Type a name" in again.text


async def test_sandbox_userinfo_refuses_unknown_token(relay: Relay) -> None:
    answer = await relay.phone.get("/sandbox/userinfo", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
