"""qr-relay serve | demo | check-config"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx
import uvicorn

from relay.app import create_app
from relay.errors import ConfigError
from relay.observability.logs import LOG_FORMATS, LogFormat, formatter
from relay.providers import build_providers
from relay.settings import Settings, demo_settings, load_settings

log = logging.getLogger("relay")


def configure_logging(log_format: LogFormat = "json") -> None:
    """Logs to stderr: one JSON object per line (relay/observability/logs.py), or a human line
    with `text`. Leaves a root logger that already has handlers as it is."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # httpx logs every upstream request's full URL at INFO; some providers (WeChat) carry the
    # app secret and the code in the query string. The relay logs its own requests instead.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

# What `serve` says to do about a plain http issuer on a public name.
SECURE_ISSUER_ADVICE = (
    "Put TLS in front of the relay (a reverse proxy, or the platform's) and set an https "
    "issuer, or pass --insecure to run it anyway on a private test network."
)

# What travels in clear when a provider URL is plain http.
EXPOSED = {
    "authorize_url": "the code the provider sends back",
    "token_url": "the client secret, the code and the tokens",
    "userinfo_url": "the access token and the profile",
    "issuer": "the discovery document and the signing keys",
}


def plain_http_on_a_public_name(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOCAL_HOSTS


def insecure_issuer(settings: Settings) -> str | None:
    """Why serving this issuer is unsafe: plain http on a name that is not this machine's.
    None for https, and for localhost (nothing leaves the machine)."""
    if not plain_http_on_a_public_name(settings.issuer):
        return None
    return (
        f"issuer {settings.issuer} is plain http on a public name: the relay's cookies cannot "
        "be Secure, and the codes, tokens and client secrets that pass through it travel in clear"
    )


def warnings_for(settings: Settings, *, starting: bool = False) -> list[str]:
    """What an operator should know about a configuration, one line per problem. `starting`:
    for `serve` at start-up, without what the start-up itself reports when it happens (the
    signing key's module logs GENERATED A NEW SIGNING KEY when it creates one)."""
    found = []
    issuer = insecure_issuer(settings)
    if issuer:
        found.append(issuer)
    if settings.store.startswith("memory:"):
        found.append("store is memory://: logins live in this one process and are lost on restart")
    if settings.encryption is None and not settings.store.startswith("memory:"):
        found.append(
            "no [encryption] keys configured: identities in the store are sealed with a key "
            "derived from the signing key; configure [encryption] to rotate it independently"
        )
    if not starting and settings.signing_key and not os.path.exists(settings.signing_key):
        found.append(f"signing key {settings.signing_key} does not exist: it will be generated")
    if not settings.signing_key and not settings.signing_key_pem:
        found.append(
            "no signing key is configured: a new one is made at each start, so id_tokens "
            "already issued stop verifying and several processes disagree"
        )
    if os.environ.get("FORWARDED_ALLOW_IPS", "").strip() == "*":
        found.append(
            "FORWARDED_ALLOW_IPS is *: any client can choose the address the relay sees (the "
            "leftmost X-Forwarded-For entry), for the rate limits, the same-network check and the "
            "phone page; list your proxies' addresses instead"
        )
    sandboxes = [p.name for p in settings.providers.values() if p.kind == "sandbox"]
    if sandboxes:
        found.append(
            f"sandbox provider {', '.join(sandboxes)} is configured: anyone can sign in through "
            "it as anyone (for testing only)"
        )
    for provider in settings.providers.values():
        urls = {
            "authorize_url": provider.authorize_url,
            "token_url": provider.token_url,
            "userinfo_url": provider.userinfo_url,
        }
        if provider.kind == "oidc":
            urls["issuer"] = provider.options.get("issuer")
        for key, url in urls.items():
            if plain_http_on_a_public_name(url):
                parts = urlsplit(str(url))
                shown = f"http://{parts.netloc}{parts.path}"  # no query: it may hold anything
                found.append(
                    f"providers.{provider.name}.{key} {shown} is plain http on a public name: "
                    f"{EXPOSED[key]} would travel in clear; use https"
                )
        options = provider.options
        if (
            provider.kind == "oauth2"
            and options.get("pkce") == "none"
            and options.get("token_auth") == "none"
        ):
            found.append(
                f'providers.{provider.name}: pkce = "none" with token_auth = "none": nothing '
                "binds a code to the relay, so whoever intercepts one can redeem it; use "
                'pkce = "S256" (if the provider supports it) or a client secret'
            )
    return found


def config_path(given: str | None) -> str:
    path = given or os.environ.get("RELAY_CONFIG")
    if not path:
        raise ConfigError("", "no configuration: pass --config FILE or set RELAY_CONFIG")
    return path


def run(settings: Settings, host: str, port: int) -> None:
    app = create_app(settings)
    # access_log=False: uvicorn's log line includes query strings (codes, states); the relay
    # logs its own requests without them (relay/observability/access.py). log_config=None:
    # uvicorn's loggers go through the root handler, in the relay's format.
    # uvicorn shuts down cleanly on SIGTERM, then raises the signal again with the handler that
    # was in place before it; make that one a plain exit, so a clean stop ends with status 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # ws_per_message_deflate=False: status messages are about 60 bytes, and compression costs
    # some 39 KiB per open websocket (bench/bench_logins.py, BENCHMARKS.md).
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        ws_per_message_deflate=False,
    )


def shown_url(url: str) -> str:
    """A URL for printing: any password in it replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def serve(args: argparse.Namespace) -> int:
    settings = load_settings(config_path(args.config))
    issuer = insecure_issuer(settings)
    if issuer and not args.insecure:
        print(f"qr-relay: refusing to serve: {issuer}.\n  {SECURE_ISSUER_ADVICE}", file=sys.stderr)
        return 2
    # Loud, and once per problem: a log collector's filter on the level, and a person's eye on
    # the capitals, both catch them.
    for warning in warnings_for(settings, starting=True):
        tag = "INSECURE" if warning == issuer else "WARNING"
        log.warning("%s: %s", tag, warning)
    run(settings, args.host, args.port)
    return 0


def demo(args: argparse.Namespace) -> int:
    settings = demo_settings(args.host, args.port, issuer=args.issuer)
    if args.host in ("0.0.0.0", "::") and not args.issuer:  # noqa: S104 - a check, not a bind
        print(
            "  Listening on every interface, but the QR codes point at 127.0.0.1, which a phone "
            "cannot reach.\n  To scan with a real phone, add --issuer http://<this computer's "
            f"LAN address>:{args.port}",
            flush=True,
        )
    print(
        "\n  QR login relay: the demo (memory store, sandbox provider, demo relying party)\n\n"
        f"  Open {settings.issuer}/demo and press Sign in.\n"
        "  No phone at hand? The login page offers a phone simulator.\n"
        f"  The OpenID configuration is at {settings.issuer}/.well-known/openid-configuration\n"
        "\n  Ctrl+C stops it.\n",
        flush=True,
    )
    run(settings, args.host, args.port)
    return 0


def check_config(args: argparse.Namespace) -> int:
    settings = load_settings(config_path(args.config))
    asyncio.run(build_adapters(settings))  # each adapter checks its own options
    print(f"issuer   {settings.issuer}\nstore    {shown_url(settings.store)}")
    for client in settings.clients.values():
        print(f"client   {client.client_id}: providers {', '.join(client.providers)}")
        for uri in client.redirect_uris:
            print(f"         redirect_uri {uri}")
    for provider in settings.providers.values():
        print(f'provider {provider.name}: kind {provider.kind}, "{provider.display_name}"')
        print(f"         callback {settings.url(f'/callback/{provider.name}')}")
    for warning in warnings_for(settings):
        print(f"warning: {warning}")
    if insecure_issuer(settings):
        print(f"refusal: qr-relay serve will not start with this issuer. {SECURE_ISSUER_ADVICE}")
    return 0


async def build_adapters(settings: Settings) -> None:
    """Build every provider adapter without calling any provider."""
    async with httpx.AsyncClient() as http:
        build_providers(settings.providers, http, settings.issuer)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="qr-relay", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("serve", serve, "run the relay from a configuration file (production)"),
        ("demo", demo, "run the embedded default: memory store, sandbox provider, /demo"),
        ("check-config", check_config, "validate a configuration file and print what it holds"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(func=func)
        if name != "demo":
            command.add_argument("--config", help="TOML file (default: $RELAY_CONFIG)")
        if name != "check-config":
            command.add_argument("--host", default="127.0.0.1", help="listen address")
            command.add_argument("--port", type=int, default=8000, help="listen port")
        log_format = "text" if name == "demo" else "json"  # the demo is read by people
        command.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            default=log_format,
            help="json: one JSON object per line, for log collectors; text: a line for people "
            f"(default: {log_format})",
        )
        if name == "serve":
            command.add_argument(
                "--insecure",
                action="store_true",
                help="serve a plain http issuer that is not localhost, on a private test network "
                "only: cookies cannot be Secure, and codes and tokens travel in clear",
            )
        if name == "demo":
            command.add_argument(
                "--issuer",
                help="public base URL for links and QR codes, e.g. http://192.168.1.20:8000 "
                "so a real phone on the same network can open them (default: http://HOST:PORT); "
                "plain http needs no --insecure here: the demo is for a private test network",
            )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(args.log_format)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"qr-relay: configuration error: {exc}", file=sys.stderr)
        return 2
