"""Jinja2 templates (inside the package, so the wheel carries them) and the static files folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

env = Environment(
    loader=PackageLoader("relay", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def static_dir() -> Path:
    """relay/static inside an installed wheel; the repository's static/ in a source checkout."""
    packaged = Path(__file__).parent / "static"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "static"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    html = env.get_template(template).render(request=request, **(context or {}))
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def message_page(
    request: Request,
    title: str,
    body: str,
    *,
    status_code: int = 200,
    tone: str = "info",  # info | success | warning | error
) -> HTMLResponse:
    """A plain page with one message: outcomes, refusals, errors."""
    return render(
        request,
        "message.html",
        {"title": title, "body": body, "tone": tone},
        status_code=status_code,
    )
