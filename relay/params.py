"""Reading request parameters strictly: each at most once, bounded in size, clean UTF-8.

RFC 6749 §3.1 and §3.2: "Request and response parameters MUST NOT be included more than once."
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.requests import Request

from relay.errors import InvalidRequest

MAX_FORM_BYTES = 16 * 1024  # a token request or a page form is far below this
MAX_VALUE_CHARS = 2048  # any one parameter (a state, a nonce, a redirect_uri)
MAX_FIELDS = 64  # parameters in one request


class Params:
    """Parameters of one request, duplicates remembered so they can be refused by name."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        self.repeated: set[str] = set()
        for name, value in pairs:
            if name in self._values:
                self.repeated.add(name)
            else:
                self._values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, *, max_chars: int = MAX_VALUE_CHARS) -> str | None:
        """The value of `name`, None when absent or empty; InvalidRequest when repeated,
        too long, or holding control characters."""
        if name in self.repeated:
            raise InvalidRequest(f"parameter {name} is repeated")
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if len(value) > max_chars:
            raise InvalidRequest(f"parameter {name} is too long (at most {max_chars} characters)")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise InvalidRequest(f"parameter {name} contains control characters")
        return value

    def require(self, name: str, *, max_chars: int = MAX_VALUE_CHARS) -> str:
        value = self.get(name, max_chars=max_chars)
        if value is None:
            raise InvalidRequest(f"parameter {name} is missing")
        return value

    def items(self) -> list[tuple[str, str]]:
        return list(self._values.items())


def parse_urlencoded(raw: bytes | str) -> Params:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return Params(
            parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the parameters are not valid UTF-8 URL encoding") from None


def query_params(request: Request) -> Params:
    return parse_urlencoded(request.scope.get("query_string", b""))


async def form_params(request: Request, *, limit: int = MAX_FORM_BYTES) -> Params:
    """A form body (application/x-www-form-urlencoded), read up to `limit` bytes."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise InvalidRequest(f"the body is too large (at most {limit} bytes)")
    return parse_urlencoded(bytes(body))
