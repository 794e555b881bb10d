"""A plain (non-editable) install carries the templates and static files and serves them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import asyncio, httpx, relay
from relay.app import create_app
from relay.settings import demo_settings
assert relay.__file__.startswith({site!r}), relay.__file__

async def main():
    app = create_app(demo_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        for path in ("/static/login.js", "/static/relay.css", "/demo"):
            r = await c.get(path)
            assert r.status_code == 200, (path, r.status_code)
        start = await c.post("/demo/login")
        login = await c.get(start.headers["location"])
        page = await c.get(login.headers["location"])
        assert page.status_code == 200 and "<svg" in page.text, page.text[:200]
    print("installed relay works")

asyncio.run(main())
"""


def test_wheel_carries_templates_and_static_and_works_installed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("qr_login_relay-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "relay/templates/login.html",
        "relay/static/login.js",
        "relay/static/relay.css",
        "relay/py.typed",
    ):
        assert name in names, name

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), wheel],
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(site=str(site))],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "installed relay works" in result.stdout
