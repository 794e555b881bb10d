"""The configuration contract (shared/DESIGN.md, "Configuration").

A TOML file names the issuer, the store, the session TTL, the signing key, the QR's rotation and
an optional GeoIP database, the relying parties (`[clients.*]`), the providers (`[providers.*]`),
the rate and size limits (`[limits]`) and the keys that seal records in the store
(`[encryption]`). Top-level keys can be overridden by
`RELAY_<KEY>` environment variables; any secret may be written `"env:NAME"`. Settings are values
passed into `create_app`; nothing reads the environment at import time.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many

from relay.backends import scheme_of
from relay.errors import ConfigError
from relay.i18n.negotiation import DEFAULT_LOCALE, SUPPORTED_LOCALES, supported_locale

# Keys a provider table may hold beyond PROVIDER_KEYS, per kind; they reach the adapter in
# ProviderConfig.options, and the adapter checks their values when it is built.
KIND_KEYS: dict[str, frozenset[str]] = {
    "sandbox": frozenset(),
    "wechat": frozenset({"subject"}),
    "tiktok": frozenset(),
    "mixin": frozenset(),
    "oauth2": frozenset(
        {
            "pkce",
            "token_auth",
            "token_format",
            "param_names",
            "authorize_params",
            "token_path",
            "userinfo_path",
            "subject",
            "claims",
        }
    ),
    "oidc": frozenset({"issuer", "subject", "claims"}),
}
PROVIDER_KINDS = tuple(KIND_KEYS)
DISPLAY_NAMES = {"sandbox": "Sandbox", "wechat": "WeChat", "tiktok": "TikTok", "mixin": "Mixin"}
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # in URLs and in every sub
DEFAULT_SIGNING_KEY = "relay-signing-key.pem"


@dataclass(frozen=True)
class ClientConfig:
    """One relying party (`[clients.NAME]`); NAME is its client_id."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]
    providers: tuple[str, ...]
    display_name: str
    # Cross-device defences (relay/crossdevice/): the phone must pick the number the screen shows;
    # and whether the phone must be on the screen's network ("off", "warn" or "require").
    match_code: bool = False
    same_network: str = "off"
    # The relying party's logo on its login page (relay/pages/logos.py): an https URL the relay
    # fetches and serves from its own origin, or a data:image/... URI.
    logo_uri: str | None = None
    # A kiosk or a screen without a browser: the device authorization grant (RFC 8628,
    # relay/device/) and the kiosk page are open to this client.
    kiosk: bool = False
    # The kiosk page (relay/kiosk/): opened with this key once (`/kiosk/NAME?key=...`); without
    # one the page is closed. "redirect": the page goes to the first redirect_uri with a code;
    # "message": it posts the code to the window that embeds it (that redirect_uri's origin).
    kiosk_key: str | None = None
    kiosk_mode: str = "redirect"


@dataclass(frozen=True)
class ProviderConfig:
    """One upstream identity provider (`[providers.NAME]`)."""

    name: str
    kind: str
    display_name: str
    client_id: str
    client_secret: str
    scope: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    timeout: float = 10.0  # seconds for a whole upstream request
    connect_timeout: float = 3.0  # seconds to connect
    options: Mapping[str, Any] = field(default_factory=dict)  # the kind's own keys


@dataclass(frozen=True)
class EncryptionConfig:
    """`[encryption]`: the keys that seal identities and upstream secrets in the store
    (relay/store/sealed.py). New records are sealed under `current`; the other keys still open
    records written before a rotation."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)  # key id -> 32 bytes; never in a repr or a log


OFF = "off"  # a rate limit written "off" is not enforced
RATE_LIMIT_KEYS = ("authorize", "scan", "token", "token_per_client", "live", "user_code")
MIN_REQUEST_BYTES = 1024  # an ordinary sign-in request (PKCE, state, nonce) needs several hundred


@dataclass(frozen=True)
class LimitsConfig:
    """`[limits]`: rate limits per IP address (and per client at /token) and size limits
    (relay/abuse/). A rate is a string of the `limits` package ("60/minute", "10 per second"),
    or "off". On by default, and generous: an office or a campus behind one NAT address shares
    each allowance, and a login costs one /authorize, one scan, one /token and a few opens of
    the live stream."""

    authorize: str = "60/minute"  # per IP: GET|POST /authorize
    scan: str = "60/minute"  # per IP: GET /s/{ticket}
    token: str = "120/minute"  # noqa: S105 - a rate, per IP: POST /token
    token_per_client: str = "1200/minute"  # noqa: S105 - per authenticated client
    live: str = "120/minute"  # per IP: opens of the websocket and of the event stream
    # per IP: user_codes looked up at /device, two per login (RFC 8628 §5.1, guessing)
    user_code: str = "30/minute"
    waiting_per_ip: int = 50  # logins one IP may start within one session_ttl; 0: off
    max_query: int = 4096  # bytes in a query string (414 beyond)
    max_body: int = 65536  # bytes in a request body (413 beyond)

    def rate(self, name: str) -> RateLimitItem | None:
        """The rate limit `name` (one of RATE_LIMIT_KEYS) as the limits package reads it;
        None when it is off."""
        return parse_rate(f"limits.{name}", getattr(self, name))


def parse_rate(key: str, value: Any) -> RateLimitItem | None:
    if not isinstance(value, str):
        raise ConfigError(key, 'must be a string such as "60/minute", or "off"')
    if value.strip().lower() == OFF:
        return None
    try:
        items = parse_many(value)
    except ValueError:
        raise ConfigError(key, f'"{value[:40]}" is not a rate such as "60/minute"') from None
    if len(items) != 1:
        raise ConfigError(key, 'must be one rate such as "60/minute"')
    if items[0].amount < 1:
        raise ConfigError(key, 'must allow at least one request; write "off" to disable it')
    return items[0]


@dataclass(frozen=True)
class Settings:
    issuer: str
    store: str = "memory://"
    session_ttl: int = 180  # seconds a QR login may stay open
    code_ttl: int = 60  # seconds a relay authorization code stays valid
    access_token_ttl: int = 3600  # seconds an access token stays valid
    signing_key: str | None = None  # PEM path; None: an ephemeral key (demo and tests)
    signing_key_pem: str | None = None  # the PEM itself, from `signing_key = "env:NAME"`
    clients: Mapping[str, ClientConfig] = field(default_factory=dict)
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    demo: bool = False  # mount the demo relying party at /demo
    qr_rotate: int = 30  # seconds between new QR codes while a login waits; 0: one code per login
    geoip_database: str | None = None  # a MaxMind-format .mmdb: coarse location on the phone
    encryption: EncryptionConfig | None = None  # None: a key of its own (relay/core.py)
    limits: LimitsConfig = field(default_factory=LimitsConfig)  # [limits]: rates and sizes
    default_locale: str = DEFAULT_LOCALE  # pages' language when the reader asks for none we speak
    device_code_ttl: int = 600  # seconds a device authorization (RFC 8628) may wait for the user
    device_poll_interval: int = 5  # seconds a device waits between two polls of /token

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.issuer).scheme == "https"

    def url(self, path: str) -> str:
        return self.issuer + path

    def client_secret(self, client_id: str) -> str | None:
        client = self.clients.get(client_id)
        return client.secret if client else None


TOP_LEVEL = {
    "issuer": str,
    "store": str,
    "session_ttl": int,
    "code_ttl": int,
    "access_token_ttl": int,
    "signing_key": str,
    "qr_rotate": int,
    "geoip_database": str,
    "default_locale": str,
    "device_code_ttl": int,
    "device_poll_interval": int,
}
CLIENT_KEYS = {
    "secret",
    "redirect_uris",
    "providers",
    "display_name",
    "logo_uri",
    "match_code",
    "same_network",
    "kiosk",
    "kiosk_key",
    "kiosk_mode",
}
KIOSK_MODES = ("redirect", "message")
# A kiosk_key opens the kiosk page to whoever has it: 22 characters of secrets.token_urlsafe
# are 128 bits, beyond guessing at any rate [limits] lets through.
KIOSK_KEY_MIN_CHARS = 22
SAME_NETWORK = ("off", "warn", "require")
MIN_QR_ROTATE = 10  # seconds: a person needs time to point a phone at the code
MIN_DEVICE_CODE_TTL = 60  # seconds: a person needs time to find a phone and type a code
PROVIDER_KEYS = {
    "kind",
    "timeout",
    "connect_timeout",
    "display_name",
    "client_id",
    "client_secret",
    "scope",
    "authorize_url",
    "token_url",
    "userinfo_url",
}


def resolve_secret(key: str, value: Any, environ: Mapping[str, str]) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, "must be a non-empty string")
    if value.startswith("env:"):
        name = value[4:]
        if name not in environ or not environ[name]:
            raise ConfigError(key, f"environment variable {name} is not set")
        return environ[name]
    return value


def check_url(key: str, value: Any, *, allow_path: bool = True) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, "must be a string URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, f'"{value}" is not an absolute http(s) URL')
    if parts.fragment:
        raise ConfigError(key, f'"{value}" must not have a fragment')
    if not allow_path:
        if parts.query or parts.path not in ("", "/") or "@" in parts.netloc:
            raise ConfigError(
                key, f'"{value}" must be a bare origin such as https://login.example.com'
            )
        # An origin is case-insensitive (RFC 3986 §6.2.2.1): one spelling, so that every check
        # of "https" (Secure cookies, __Host-, HSTS) and every URL built from it agree.
        return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"
    return value


def _string_list(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(key, "must be a list of non-empty strings")
    return tuple(value)


def parse_settings(
    data: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Settings:
    """Validate a parsed TOML document (plus RELAY_* overrides) into Settings."""
    environ = os.environ if environ is None else environ
    data = dict(data)
    for key, kind in TOP_LEVEL.items():
        override = environ.get(f"RELAY_{key.upper()}")
        if override is not None:
            data[key] = int(override) if kind is int and override.isdigit() else override
    unknown = set(data) - set(TOP_LEVEL) - {"clients", "providers", "encryption", "limits"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown key")
    for key, kind in TOP_LEVEL.items():
        # bool is a subclass of int in Python: `session_ttl = true` is not a number of seconds.
        if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool)):
            raise ConfigError(key, f"must be {'an integer' if kind is int else 'a string'}")
    if "issuer" not in data:
        raise ConfigError("issuer", "is required (the relay's public base URL)")
    # A bare origin: every URL the relay builds (and the pages' scripts) starts at its root.
    issuer = check_url("issuer", data["issuer"], allow_path=False).rstrip("/")
    if urlsplit(issuer).query:
        raise ConfigError("issuer", "must not have a query")
    for key in ("session_ttl", "code_ttl", "access_token_ttl"):
        if key in data and data[key] <= 0:
            raise ConfigError(key, "must be a positive number of seconds")
    device_code_ttl = data.get("device_code_ttl", 600)
    if device_code_ttl < MIN_DEVICE_CODE_TTL:
        raise ConfigError("device_code_ttl", f"must be at least {MIN_DEVICE_CODE_TTL} seconds")
    device_poll_interval = data.get("device_poll_interval", 5)
    if not 0 < device_poll_interval < device_code_ttl:
        raise ConfigError(
            "device_poll_interval", "must be a positive number of seconds below device_code_ttl"
        )
    qr_rotate = data.get("qr_rotate", 30)
    if qr_rotate != 0 and qr_rotate < MIN_QR_ROTATE:
        raise ConfigError("qr_rotate", f"must be 0 (off) or at least {MIN_QR_ROTATE} seconds")
    geoip_database = data.get("geoip_database")
    if (
        geoip_database is not None
        and base_dir is not None
        and not Path(geoip_database).is_absolute()
    ):
        geoip_database = str(base_dir / geoip_database)
    wanted_locale = data.get("default_locale", DEFAULT_LOCALE)
    default_locale = supported_locale(wanted_locale)
    if default_locale is None:
        raise ConfigError(
            "default_locale",
            f'"{wanted_locale[:40]}" is not a language of the pages; one of '
            + ", ".join(SUPPORTED_LOCALES),
        )

    providers = _parse_providers(data.get("providers", {}), environ)
    clients = _parse_clients(data.get("clients", {}), providers, environ)
    encryption = _parse_encryption(data.get("encryption"), environ)

    store = data.get("store", "memory://")
    scheme_of(store)  # ConfigError naming the key for anything but memory://, redis://, rediss://

    signing_key: str | None = data.get("signing_key", DEFAULT_SIGNING_KEY)
    signing_key_pem = None
    if signing_key is not None and signing_key.startswith("env:"):
        # Platforms that wipe the disk on each deploy keep the key in the environment.
        signing_key_pem = resolve_secret("signing_key", signing_key, environ)
        signing_key = None
        if "PRIVATE KEY-----" not in signing_key_pem:
            raise ConfigError("signing_key", "the environment variable does not hold a PEM key")
    elif signing_key is not None and base_dir is not None and not Path(signing_key).is_absolute():
        signing_key = str(base_dir / signing_key)
    return Settings(
        issuer=issuer,
        store=store,
        session_ttl=data.get("session_ttl", 180),
        code_ttl=data.get("code_ttl", 60),
        access_token_ttl=data.get("access_token_ttl", 3600),
        signing_key=signing_key,
        signing_key_pem=signing_key_pem,
        clients=clients,
        providers=providers,
        qr_rotate=qr_rotate,
        geoip_database=geoip_database,
        default_locale=default_locale,
        device_code_ttl=device_code_ttl,
        device_poll_interval=device_poll_interval,
        encryption=encryption,
        limits=_parse_limits(data.get("limits", {})),
    )


def _parse_providers(raw: Any, environ: Mapping[str, str]) -> dict[str, ProviderConfig]:
    if not isinstance(raw, dict):
        raise ConfigError("providers", "must be a table of [providers.NAME] entries")
    providers = {}
    for name, table in raw.items():
        where = f"providers.{name}"
        if not isinstance(table, dict):
            raise ConfigError(where, "must be a table")
        if not PROVIDER_NAME.fullmatch(name):
            raise ConfigError(where, "a provider name is 1 to 32 lowercase letters, digits, - or _")
        kind = table.get("kind")
        if kind not in PROVIDER_KINDS:
            raise ConfigError(f"{where}.kind", f"must be one of {', '.join(PROVIDER_KINDS)}")
        unknown = set(table) - PROVIDER_KEYS - KIND_KEYS[kind]
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}", f'unknown key for kind "{kind}"')
        for key in ("authorize_url", "token_url", "userinfo_url"):
            if key in table:
                check_url(f"{where}.{key}", table[key])
        if kind == "sandbox":
            # The sandbox runs inside the relay; its credentials only need to agree with itself.
            client_id = table.get("client_id", "relay")
            if not isinstance(client_id, str) or not client_id:
                raise ConfigError(f"{where}.client_id", "must be a non-empty string")
            client_secret = resolve_secret(
                f"{where}.client_secret", table.get("client_secret", "sandbox-secret"), environ
            )
        else:
            client_id = table.get("client_id")
            if not isinstance(client_id, str) or not client_id:
                raise ConfigError(f"{where}.client_id", "is required")
            if kind == "oauth2" and table.get("token_auth") == "none":
                client_secret = ""  # a public client: no secret at the provider
            else:
                client_secret = resolve_secret(
                    f"{where}.client_secret", table.get("client_secret"), environ
                )
        timeouts = {}
        for key, default in (("timeout", 10.0), ("connect_timeout", 3.0)):
            value = table.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{where}.{key}", "must be a positive number of seconds")
            timeouts[key] = float(value)
        for key in ("display_name", "scope"):
            if key in table and (not isinstance(table[key], str) or not table[key]):
                raise ConfigError(f"{where}.{key}", "must be a non-empty string")
        providers[name] = ProviderConfig(
            name=name,
            kind=kind,
            display_name=str(table.get("display_name", DISPLAY_NAMES.get(kind, name))),
            client_id=client_id,
            client_secret=client_secret,
            scope=table.get("scope"),
            authorize_url=table.get("authorize_url"),
            token_url=table.get("token_url"),
            userinfo_url=table.get("userinfo_url"),
            options={k: v for k, v in table.items() if k in KIND_KEYS[kind]},
            **timeouts,
        )
    return providers


def _parse_clients(
    raw: Any, providers: Mapping[str, ProviderConfig], environ: Mapping[str, str]
) -> dict[str, ClientConfig]:
    if not isinstance(raw, dict):
        raise ConfigError("clients", "must be a table of [clients.NAME] entries")
    clients = {}
    for client_id, table in raw.items():
        where = f"clients.{client_id}"
        if not isinstance(table, dict):
            raise ConfigError(where, "must be a table")
        unknown = set(table) - CLIENT_KEYS
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown key")
        redirect_uris = _string_list(f"{where}.redirect_uris", table.get("redirect_uris"))
        if not redirect_uris:
            raise ConfigError(f"{where}.redirect_uris", "needs at least one URI")
        for uri in redirect_uris:
            check_url(f"{where}.redirect_uris", uri)
        names = _string_list(f"{where}.providers", table.get("providers"))
        if not names:
            raise ConfigError(f"{where}.providers", "needs at least one provider")
        for name in names:
            if name not in providers:
                raise ConfigError(f"{where}.providers", f'names unknown provider "{name}"')
        match_code = table.get("match_code", False)
        if not isinstance(match_code, bool):
            raise ConfigError(f"{where}.match_code", "must be true or false")
        kiosk = table.get("kiosk", False)
        if not isinstance(kiosk, bool):
            raise ConfigError(f"{where}.kiosk", "must be true or false")
        kiosk_key = None
        if "kiosk_key" in table:
            if not kiosk:
                raise ConfigError(f"{where}.kiosk_key", "needs kiosk = true")
            kiosk_key = resolve_secret(f"{where}.kiosk_key", table["kiosk_key"], environ)
            if len(kiosk_key) < KIOSK_KEY_MIN_CHARS:
                raise ConfigError(
                    f"{where}.kiosk_key",
                    f"must be at least {KIOSK_KEY_MIN_CHARS} characters: whoever guesses it "
                    "opens the kiosk page; make one with python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'",
                )
        kiosk_mode = table.get("kiosk_mode", "redirect")
        if kiosk_mode not in KIOSK_MODES:
            raise ConfigError(f"{where}.kiosk_mode", f"must be one of {', '.join(KIOSK_MODES)}")
        same_network = table.get("same_network", "off")
        if same_network not in SAME_NETWORK:
            raise ConfigError(f"{where}.same_network", f"must be one of {', '.join(SAME_NETWORK)}")
        clients[client_id] = ClientConfig(
            client_id=client_id,
            secret=resolve_secret(f"{where}.secret", table.get("secret"), environ),
            redirect_uris=redirect_uris,
            providers=names,
            display_name=str(table.get("display_name", client_id)),
            match_code=match_code,
            same_network=same_network,
            logo_uri=parse_logo_uri(f"{where}.logo_uri", table.get("logo_uri")),
            kiosk=kiosk,
            kiosk_key=kiosk_key,
            kiosk_mode=kiosk_mode,
        )
    return clients


LOGO_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}")
MAX_LOGO_DATA_URI = 700_000  # characters: a 512 KiB image in base64


def parse_logo_uri(where: str, value: Any) -> str | None:
    """An https URL (plain http only for a local address, as for testing), or a base64 data URI
    of a PNG, JPEG, GIF, WebP or SVG image."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(where, "must be an https URL or a data:image/...;base64 URI")
    if value.startswith("data:"):
        if len(value) > MAX_LOGO_DATA_URI or not LOGO_DATA_URI.fullmatch(value):
            raise ConfigError(
                where,
                "a data URI must be data:image/png|jpeg|gif|webp|svg+xml;base64,... and at most "
                "512 KiB",
            )
        return value
    parts = urlsplit(value)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise ConfigError(where, "must be an https URL or a data:image/...;base64 URI")
    return value


KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # in every sealed value: short and plain
BASE64URL_KEY = re.compile(r"[A-Za-z0-9_-]+={0,2}")
DATA_KEY_BYTES = 32  # AES-256
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def decode_data_key(text: str) -> bytes:
    """base64url, padded or not; b"" for anything else (the caller names the key)."""
    text = text.strip()
    if not BASE64URL_KEY.fullmatch(text):
        return b""
    text = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:  # binascii.Error: a length no encoding produces
        return b""


def _parse_encryption(raw: Any, environ: Mapping[str, str]) -> EncryptionConfig | None:
    """`[encryption]`: `current` names one of `keys`, a table of key id -> 32 random bytes in
    base64url (usually "env:NAME"). Absent: None. No message quotes a key."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("encryption", "must be a table with current and keys")
    unknown = set(raw) - {"current", "keys"}
    if unknown:
        raise ConfigError(f"encryption.{sorted(unknown)[0]}", "unknown key")
    table = raw.get("keys")
    if not isinstance(table, dict) or not table:
        raise ConfigError("encryption.keys", 'needs at least one key: { "KEY_ID" = "env:NAME" }')
    keys = {}
    for kid, value in table.items():
        if not isinstance(kid, str) or not KEY_ID.fullmatch(kid):
            raise ConfigError(
                "encryption.keys", f'key id "{str(kid)[:40]}" is not 1 to 32 of A-Z a-z 0-9 _ -'
            )
        where = f"encryption.keys.{kid}"
        keys[kid] = decode_data_key(resolve_secret(where, value, environ))
        if len(keys[kid]) != DATA_KEY_BYTES:
            raise ConfigError(
                where, f"must be {DATA_KEY_BYTES} random bytes in base64url; make one: {MAKE_A_KEY}"
            )
    current = raw.get("current")
    if not isinstance(current, str) or not current:
        raise ConfigError(
            "encryption.current", "is required: the key id new records are sealed with"
        )
    if current not in keys:
        raise ConfigError("encryption.current", f'"{current[:40]}" names no key in encryption.keys')
    return EncryptionConfig(current=current, keys=keys)


def _parse_limits(raw: Any) -> LimitsConfig:
    if not isinstance(raw, dict):
        raise ConfigError("limits", "must be a table ([limits])")
    sizes = {"waiting_per_ip": 0, "max_query": MIN_REQUEST_BYTES, "max_body": MIN_REQUEST_BYTES}
    unknown = set(raw) - set(RATE_LIMIT_KEYS) - set(sizes)
    if unknown:
        raise ConfigError(f"limits.{sorted(unknown)[0]}", "unknown key")
    for key in RATE_LIMIT_KEYS:
        if key in raw:
            parse_rate(f"limits.{key}", raw[key])
    for key, least in sizes.items():
        value = raw.get(key, least)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            if key == "waiting_per_ip":
                raise ConfigError(f"limits.{key}", "must be a whole number of logins (0: off)")
            raise ConfigError(f"limits.{key}", f"must be a whole number of bytes, at least {least}")
    return LimitsConfig(**raw)


def load_settings(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError("", f"configuration file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
    return parse_settings(data, environ=environ, base_dir=path.resolve().parent)


def demo_settings(
    host: str = "127.0.0.1", port: int = 8000, *, issuer: str | None = None
) -> Settings:
    """The embedded default: memory store, sandbox provider, the demo relying party."""
    if issuer is not None:
        issuer = check_url("--issuer", issuer, allow_path=False).rstrip("/")
    else:
        shown_host = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "::"):  # noqa: S104 - listening everywhere; links use localhost
            shown_host = "127.0.0.1"
        issuer = f"http://{shown_host}:{port}"
    sandbox = ProviderConfig(
        name="sandbox",
        kind="sandbox",
        display_name="Sandbox",
        client_id="relay",
        client_secret=secrets.token_urlsafe(24),
    )
    demo = ClientConfig(
        client_id="demo",
        secret=secrets.token_urlsafe(24),
        redirect_uris=(f"{issuer}/demo/callback",),
        providers=("sandbox",),
        display_name="Demo app",
    )
    return Settings(
        issuer=issuer,
        clients={"demo": demo},
        providers={"sandbox": sandbox},
        demo=True,
    )
