"""Jinja2 templates (inside the package, so the wheel carries them), in the reader's language,
and the static files folder.

One Environment per language, each with Jinja's i18n extension and that language's catalog
installed (newstyle gettext: `{{ _("Sign in to %(name)s", name=...) }}` escapes its values), so
rendering needs no shared state and two requests in two languages never meet. `render()` picks
the page's language (relay/i18n/negotiation.py):

- a page of a login (the desktop's or the phone's: `login=session`): the `ui_locales` the relying
  party sent with it, then this browser's Accept-Language, then `default_locale`;
- any other page: the request's own `ui_locales` (query, or `ui_locales=` given by the caller for
  a POST), then Accept-Language, then `default_locale`.

Every Text (relay/i18n/text.py) or Localized value at the top of the context is translated
before the template sees it. Templates get `lang` (the BCP 47 tag, for <html lang>) and
`language` (relay/i18n/catalogs.py).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from relay.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    Language,
    Localized,
    Text,
    language,
    negotiate,
)
from relay.i18n import localize as localize_value

if TYPE_CHECKING:
    from relay.sessions import LoginSession

MAX_UI_LOCALES = 256  # characters of a request's ui_locales read for its language


@functools.cache
def environment(tag: str) -> Environment:
    """The templates in the language `tag` (one of SUPPORTED_LOCALES)."""
    env = Environment(
        loader=PackageLoader("relay", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # {% trans %} blocks are written across lines; their msgids are one line (babel.cfg agrees).
    env.policies["ext.i18n.trimmed"] = True
    spoken = language(tag)
    env.install_gettext_translations(spoken.translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(lang=spoken.tag, language=spoken)
    return env


# Compiled when the process starts, not on the first request: a catalog that cannot be read
# stops the relay at once.
for _tag in SUPPORTED_LOCALES:
    environment(_tag)


def static_dir() -> Path:
    """relay/static inside an installed wheel; the repository's static/ in a source checkout."""
    packaged = Path(__file__).parent / "static"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "static"


def default_locale(request: Request) -> str:
    relay = getattr(request.app.state, "relay", None)
    return relay.settings.default_locale if relay is not None else DEFAULT_LOCALE


def locale_of(
    request: Request, *, login: LoginSession | None = None, ui_locales: str | None = None
) -> str:
    """The language of the page `request` asks for (see the module's docstring)."""
    if login is not None:
        wanted = login.request.ui_locales
    elif ui_locales is not None:
        wanted = ui_locales
    else:
        wanted = request.query_params.get("ui_locales")
    return negotiate(
        (wanted or "")[:MAX_UI_LOCALES],
        request.headers.get("accept-language"),
        default_locale(request),
    )


def translated(context: dict[str, Any], spoken: Language) -> dict[str, Any]:
    return {
        name: localize_value(value, spoken) if isinstance(value, Text | Localized) else value
        for name, value in context.items()
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    login: LoginSession | None = None,
    ui_locales: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    env = environment(locale_of(request, login=login, ui_locales=ui_locales))
    spoken: Language = env.globals["language"]  # type: ignore[assignment]
    html = env.get_template(template).render(request=request, **translated(context or {}, spoken))
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Language", spoken.tag)
    response.headers.setdefault("Vary", "Accept-Language")
    return response


def message_page(
    request: Request,
    title: Text,
    body: Text | None,
    *,
    status_code: int = 200,
    tone: str = "info",  # info | success | warning | error
    login: LoginSession | None = None,
) -> HTMLResponse:
    """A plain page with one message: outcomes, refusals, errors. `login`: the login the page
    belongs to, whose language it speaks."""
    return render(
        request,
        "message.html",
        {"title": title, "body": body or "", "tone": tone},
        status_code=status_code,
        login=login,
    )
