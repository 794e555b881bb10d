"""Security headers on every HTTP answer (RFC 9700 §4.16 clickjacking, §4.2.4 referrer).

The pages load only their own scripts and styles (no inline script, no third-party resource),
so the Content-Security-Policy can be strict. `form-action` is left open on purpose: the phone's
Continue form is answered with a redirect to the provider, which `form-action 'self'` would block.

A response that sets its own policy keeps it. When that policy names `frame-ancestors` (the
kiosk page in message mode may be framed by the kiosk's own application), X-Frame-Options is
left off: browsers that know CSP ignore it then anyway, and an old one would refuse the frame.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What the pages may load; who may frame them is said apart (the kiosk page names its framer).
SOURCES = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"
CSP = f"{SOURCES}; frame-ancestors 'none'"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        }
        if hsts:  # only when the issuer is https
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                own_policy = headers.get("Content-Security-Policy")
                for name, value in self.headers.items():
                    if name == "X-Frame-Options" and own_policy and "frame-ancestors" in own_policy:
                        continue
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, sending)
