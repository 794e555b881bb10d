"""The configuration examples in the README and the provider pages are accepted as written, the
way `qr-relay check-config` reads them (settings, then every adapter built)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import httpx
import pytest

from relay.providers import build_providers
from relay.settings import parse_settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    ROOT / "docs" / "auth0.md",
    *sorted((ROOT / "docs" / "providers").glob("*.md")),
]


def toml_blocks(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(), flags=re.S)


def env_names(text: str) -> dict[str, str]:
    return {name: f"value-of-{name}" for name in re.findall(r'"env:([A-Z0-9_]+)"', text)}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
async def test_docs_toml_examples_are_accepted(path: Path) -> None:
    blocks = toml_blocks(path)
    assert blocks, f"{path.name} has no TOML example"
    for block in blocks:
        data = tomllib.loads(block)
        if "issuer" not in data:
            # A fragment ([providers.X] alone): complete it, keeping only clients whose
            # providers it shows. A whole file (with issuer) is taken exactly as written.
            data = {"issuer": "https://login.example.com", **data}
            providers = data.get("providers", {})
            clients = data.get("clients", {})
            data["clients"] = {
                name: client
                for name, client in clients.items()
                if all(p in providers for p in client.get("providers", []))
            }
        settings = parse_settings(data, environ=env_names(block))
        async with httpx.AsyncClient() as http:
            build_providers(settings.providers, http, settings.issuer)


def test_security_md_names_only_tests_that_exist() -> None:
    """SECURITY.md maps each threat to the test that proves it: every test it names must exist
    (a `name_*` pattern must match at least one), so the page cannot drift from the suite."""
    text = (ROOT / "SECURITY.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+\*?))?`", text)
    shorthand = re.findall(r"`::(\w+\*?)`", text)  # the file named just before in its row
    assert len(named) >= 20
    for file, test in named:
        path = ROOT / file
        assert path.is_file(), f"SECURITY.md names {file}, which does not exist"
        if test:
            defined = re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), flags=re.M)
            pattern = re.compile(
                re.escape(test.rstrip("*")) + (r"\w*" if test.endswith("*") else "")
            )
            assert any(pattern.fullmatch(name) for name in defined), f"{file}::{test} not found"
    every_test = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), flags=re.M)
    }
    for test in shorthand:
        assert test in every_test, f"SECURITY.md names ::{test}, which no test file defines"
