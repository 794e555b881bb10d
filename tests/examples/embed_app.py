"""examples/kiosk/embed.py as a process of a test, started as its README starts it (a program
configured by its environment), for tests/examples/test_kiosk_example.py (httpx plays the kiosk
page) and tests/browser/test_kiosk_embedded.py (Chromium frames the page).

Its URL is known before it starts: the relay's configuration names it (the client's
redirect_uri), and the relay has to be up before embed.py is, which asks it for its metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import httpx

from tests.cluster_support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
EMBED = ROOT / "examples" / "kiosk" / "embed.py"
STARTS_WITHIN = 20.0  # seconds embed.py has to answer (generous: two slow cores)
STOPS_WITHIN = 20.0  # seconds it has to exit once told to, before it is killed


class EmbedApp:
    """embed.py on a local port, its output in `log`; stopped by its own pid. As a context
    manager: stopped on the way out, and what it printed shown (pytest shows it on failure)."""

    def __init__(self, log: Path, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, relay_url: str, *, client_id: str, client_secret: str, kiosk_key: str) -> None:
        """Starts it against the relay at `relay_url` and waits until it answers."""
        environ = {
            **os.environ,
            "RELAY_URL": relay_url,
            "CLIENT_ID": client_id,
            "CLIENT_SECRET": client_secret,
            "KIOSK_KEY": kiosk_key,
        }
        with self.log.open("wb") as output:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, str(EMBED), "--port", str(self.port)],
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.answers, STARTS_WITHIN, "embed.py answering")

    def answers(self) -> bool:
        assert self.process is not None, "embed.py was not started"
        assert self.process.poll() is None, f"embed.py exited:\n{self.printed()}"
        try:
            return httpx.get(self.url, timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def printed(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # our own child, by its pid
        try:
            self.process.wait(timeout=STOPS_WITHIN)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbedApp:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
        print(f"----- embed.py -----\n{self.printed()}")  # shown on failure
