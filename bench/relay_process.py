"""A relay process for the benchmarks: `python -m relay serve` with a configuration in a
temporary folder, its log in a file there, and its memory and CPU read from /proc."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret-not-a-real-one"  # noqa: S105 - a throwaway, in a temporary folder
REDIRECT_URI = "https://rp.bench.invalid/callback"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_open_files(wanted: int) -> int:
    """Raise this process's soft open-file limit (children inherit it); returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Thousands of logins from one address (the harness): the rate limits would refuse them.
NO_RATE_LIMITS = (
    "[limits]\n"
    'authorize = "off"\n'
    'scan = "off"\n'
    'token = "off"\n'
    'token_per_client = "off"\n'
    'live = "off"\n'
    "waiting_per_ip = 0\n"
)


def knows_limits(relay_path: str | None) -> bool:
    """Whether the relay measured reads `[limits]` (a checkout from before refuses the table)."""
    if relay_path is None:
        return True
    settings = Path(relay_path) / "relay" / "settings.py"
    return not settings.is_file() or "class LimitsConfig" in settings.read_text()


def write_config(
    folder: Path,
    issuer: str,
    store: str,
    session_ttl: int,
    relay_path: str | None = None,
    *,
    client_lines: str = "",
    rate_limits: bool = False,
) -> Path:
    """The relay's configuration: one client on the sandbox (`client_lines` added to its table),
    the rate limits off unless `rate_limits` (then the defaults)."""
    limits_off = not rate_limits and knows_limits(relay_path)
    path = folder / "relay.toml"
    path.write_text(
        f'issuer = "{issuer}"\n'
        f'store = "{store}"\n'
        f"session_ttl = {session_ttl}\n"
        f'signing_key = "{folder / "signing-key.pem"}"\n'
        f"[clients.{CLIENT_ID}]\n"
        f'secret = "{CLIENT_SECRET}"\n'
        f'redirect_uris = ["{REDIRECT_URI}"]\n'
        'providers = ["sandbox"]\n' + client_lines + "[providers.sandbox]\n"
        'kind = "sandbox"\n' + (NO_RATE_LIMITS if limits_off else "")
    )
    return path


def machine_busy_seconds() -> float:
    """CPU time all processes of this machine have used (/proc/stat: every state but idle and
    iowait), to tell how much of it went to processes outside the benchmark."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class RelayProcess:
    """One `python -m relay serve` on 127.0.0.1:port. Stopped by its own pid only."""

    def __init__(
        self,
        config: Path,
        port: int,
        log_path: Path,
        log_format: str = "json",
        python_path: str | None = None,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "relay",
                "serve",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-format",
                log_format,
            ],
            # Not the caller's folder: `-m` would put it first on sys.path, and a checkout there
            # would shadow the installed relay (and --relay-path).
            cwd=config.parent,
            env={**os.environ, "PYTHONPATH": python_path} if python_path else None,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the relay exited ({self.process.returncode}): {self.tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the relay did not answer /healthz in {timeout:.0f} s: {self.tail()}")

    def tail(self, lines: int = 5) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def rss_kib(self) -> int:
        """Resident set size in KiB (/proc/PID/status VmRSS)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far (/proc/PID/stat utime+stime)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()
