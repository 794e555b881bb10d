"""JSON log lines: one object per line, with the request and session ids, and no secret."""

from __future__ import annotations

import json
import logging
import sys

from relay.observability.context import REQUEST_ID, SESSION_ID
from relay.observability.logs import JSONFormatter, formatter
from tests.flows import Relay, pkce, query_of
from tests.observability.helpers import JsonLines


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("relay.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_logs_json_line_fields() -> None:
    line = json.loads(JSONFormatter().format(record("login %s… failed: %s", "abcd1234", 42)))
    assert set(line) == {"time", "level", "logger", "message"}
    assert line["level"] == "WARNING" and line["logger"] == "relay.test"
    assert line["message"] == "login abcd1234… failed: 42"
    assert line["time"].endswith("Z") and len(line["time"]) == len("2026-01-01T00:00:00.000Z")


def test_logs_json_ids_from_the_context() -> None:
    request_token = REQUEST_ID.set("req-12345678")
    session_token = SESSION_ID.set("S" * 22)
    try:
        line = json.loads(JSONFormatter().format(record("hello")))
    finally:
        SESSION_ID.reset(session_token)
        REQUEST_ID.reset(request_token)
    assert line["request_id"] == "req-12345678" and line["session_id"] == "S" * 22


def test_logs_json_exception_is_one_line_with_the_traceback() -> None:
    try:
        raise ValueError("bad thing")
    except ValueError:
        made = record("it broke")
        made.exc_info = sys.exc_info()
    text = JSONFormatter().format(made)
    assert "\n" not in text
    assert "ValueError: bad thing" in json.loads(text)["exc_info"]


def test_logs_json_keeps_only_chosen_extras() -> None:
    made = record("GET / 200", http={"status": 200}, color_message="\x1b[1mGET\x1b[0m", token="t")
    line = json.loads(JSONFormatter().format(made))
    assert line["http"] == {"status": 200}
    assert "color_message" not in line and "token" not in line


def test_logs_text_format_for_people() -> None:
    assert formatter("text").format(record("hello")).endswith("WARNING relay.test: hello")
    assert isinstance(formatter("json"), JSONFormatter)


async def test_logs_whole_login_as_json_lines(relay: Relay, json_log: JsonLines) -> None:
    verifier, challenge = pkce()
    started = await relay.start(code_challenge=challenge, code_challenge_method="S256")
    await relay.scan(started.scan_url)
    back = await relay.approve(started.session_id)
    assert back.status_code == 200
    resumed = await relay.resume(started.session_id)
    code = query_of(resumed.headers["location"])["code"]
    tokens = (await relay.token(code=code, code_verifier=verifier)).json()
    await relay.desktop.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    lines = [line for line in json_log() if not line["logger"].startswith(("httpx", "httpcore"))]
    access = [line for line in lines if line["logger"] == "relay.access"]
    assert access and all(line["request_id"] for line in lines)
    by_path = {line["http"]["path"]: line for line in access}
    session = started.session_id
    # The session's id: from the path, and from the handlers of the scan and the callback.
    for path in (
        f"/sessions/{session}",
        "/s/…",
        f"/phone/{session}/continue",
        "/callback/sandbox",
        f"/sessions/{session}/resume",
    ):
        assert by_path[path]["session_id"] == session, path
    assert "session_id" not in by_path["/token"]
    assert "session_id" not in by_path["/sandbox/token"]  # the provider's own request
    # One request id per request (the sandbox's token and userinfo calls are requests too).
    assert len({line["request_id"] for line in access}) == len(access)

    text = "\n".join(json.dumps(line) for line in lines)
    secrets = [code, verifier, tokens["access_token"], tokens["id_token"], "rp-secret"]
    secrets += [c.value for c in relay.desktop.cookies.jar if c.value]
    secrets += [c.value for c in relay.phone.cookies.jar if c.value]
    secrets += [relay.core.settings.providers["sandbox"].client_secret, "rp-state-123"]
    for secret in secrets:
        assert secret not in text
