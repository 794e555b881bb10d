"""RequestSizes: an ASGI middleware that refuses requests bigger than the relay reads
(`[limits] max_query`, `max_body`), before any handler spends work on them.

- A query string longer than `max_query` bytes: 414, without calling the app.
- A body whose Content-Length exceeds `max_body`: 413, without reading it.
- A body sent without a length (chunked) is counted as it arrives; once past `max_body`, reading
  it raises BodyTooLarge, an HTTPException(413), which the app's handler for HTTP errors answers
  in the endpoint's shape (relay/app.py `http_error`), as it does for any other refusal.

JSON endpoints (`api_paths`) get `{"error": "invalid_request", ...}`, pages a page. Websockets
pass untouched: the page's script opens them without a query and they carry no body.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.abuse.answers import too_large


class BodyTooLarge(HTTPException):
    def __init__(self, max_body: int) -> None:
        super().__init__(413, f"the request body is too large (at most {max_body} bytes)")


class RequestSizes:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_query: int = 4096,  # bytes
        max_body: int = 65536,  # bytes
        api_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_query = max_query
        self.max_body = max_body
        self.api_paths = api_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_query:
            description = f"the query string is too long (at most {self.max_query} bytes)"
            await self.refuse(scope, receive, send, 414, description)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await self.refuse(scope, receive, send, 413, BodyTooLarge(self.max_body).detail)
            return

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except BodyTooLarge as exc:
            # Raised where no handler answered it (read outside an endpoint).
            if started:
                raise
            await self.refuse(scope, receive, send, 413, exc.detail)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, status_code: int, description: str
    ) -> None:
        request = Request(scope, receive)
        api = request.url.path.startswith(self.api_paths)
        await too_large(request, status_code, description, api=api)(scope, receive, send)
