"""Kiosk page endurance (issue 7): one kiosk page in Chromium signs in N people one after another
against a real relay process; every few logins the page's JS heap, DOM nodes and event listeners
and the relay's memory and open logins are read, to show whether anything grows with the logins.

Run: .venv/bin/python bench/bench_kiosk.py [--logins 200]  (figures go to BENCHMARKS.md by hand)

The relay is `python -m relay serve` on 127.0.0.1 with a configuration in a temporary folder: the
sandbox provider and one client with a kiosk page in message mode (the page posts each login's
code to its window, the harness redeems it at /token as the kiosk's application would). The
relay's default rate limits stay on: the kiosk starts a login every 4.1 s at most here, 44 per
session_ttl (180 s), under `waiting_per_ip` (50 logins per address per session_ttl). The kiosk
page runs in Debian's Chromium (/usr/bin/chromium, headless, through Playwright; no browser is
downloaded). The phone is httpx: it opens the scan URL the page shows (`data-scan-url`, what its
QR encodes), continues, approves at the sandbox and follows the callback. Each login then ends as
the page says it does: "Signed in" for SHOW_OUTCOME_MS (4 s, static/kiosk.js), then the next
login's QR; that pause is most of a login's time here.

Readings, after the next QR is up and the page's heap has been collected twice (CDP
HeapProfiler.collectGarbage): the JS heap in use (Runtime.getHeapUsage), DOM nodes, JS event
listeners and documents (Performance.getMetrics), the kiosk's cookies, the relay's RSS
(/proc/PID/status VmRSS) and its open logins (started minus ended) and live streams (/metrics).
The growth of the heap from login WARM_UP_LOGINS on (the first logins run code the page had not
run yet: compiled code and inline caches stay) is fitted by least squares and given per 100
logins; above --heap-bound the run fails (exit status 1), as it does when DOM nodes, listeners,
documents, open logins, live streams or the kiosk's login cookies do not come back to where they
were. --heap-diff says what the heap grew by (V8 heap snapshots, compared by object id).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, CDPSession, Page, sync_playwright
from relay_process import (
    CLIENT_ID,
    CLIENT_SECRET,
    RelayProcess,
    free_port,
    write_config,
)

CHROMIUM = os.environ.get("RELAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KIOSK_KEY = "kiosk-bench-key-not-a-real-one"
WARM_UP_LOGINS = 20  # the baseline: readings from here on are fitted
LOGIN_WITHIN_MS = 30_000  # for each wait on the page: a login that takes longer fails the run
SETTLE_WITHIN = 5.0  # seconds the relay may take to close the previous login's stream
# The verdict's bound, bytes of JS heap per 100 logins after the warm-up. Measured (BENCHMARKS.md,
# 2026-12-06): +11 to +40 KiB per 100 logins, in steps, all of it code V8 compiles as functions
# get hot (--heap-diff: InstructionStream, TrustedByteArray and the like; of the page's own
# objects only the login on screen). A login left behind whole (its WebSocket with handlers,
# closures, timers, its SVG) is over 1 KiB of heap, 100 KiB per 100 logins; its socket and SVG
# would also show at once in the listener and node counts, which must not move at all. A leak of
# a few hundred bytes a login (one closure) hides in the compiler's steps: --heap-diff finds it.
HEAP_BOUND = 100 * 1024

# The page's one listener of the harness's own: it keeps the last message only, so that the
# harness adds nothing to the heap login after login.
LISTEN = """() => {
  window.kioskLast = null;
  window.addEventListener("message", (event) => { window.kioskLast = event.data; });
}"""
NEXT_CODE = """(before) => {
  const kiosk = document.getElementById("kiosk");
  const url = kiosk.dataset.scanUrl;
  return kiosk.dataset.status === "pending" && !!url && url !== before ? url : null;
}"""
FORM_FIELD = re.compile(r'name="([^"]+)" value="([^"]*)"')


class StepFailed(RuntimeError):
    pass


# --- the phone and the relying party, over httpx --------------------------------------------------


def expect(response: httpx.Response, status: int | tuple[int, ...], step: str) -> httpx.Response:
    wanted = status if isinstance(status, tuple) else (status,)
    if response.status_code not in wanted:
        raise StepFailed(f"{step}: HTTP {response.status_code}, wanted {status}")
    return response


def phone_signs_in(phone: httpx.Client, scan_url: str, name: str) -> None:
    """A new phone (no cookies) scans, continues, approves at the sandbox and is told it is done."""
    phone.cookies.clear()
    scanned = expect(phone.get(scan_url), 303, "scan")
    asked = expect(phone.get(scanned.headers["location"]), 200, "phone page")
    going = expect(phone.post(f"{asked.url.path}/continue"), 303, "continue")
    sandbox = expect(phone.get(going.headers["location"]), 200, "sandbox page")
    fields = {k: html.unescape(v) for k, v in FORM_FIELD.findall(sandbox.text)}
    fields.update(decision="approve", name=name)
    back = expect(phone.post("/sandbox/authorize", data=fields), (302, 303), "approve")
    done = expect(phone.get(back.headers["location"]), 200, "callback")
    if "Return to your computer" not in done.text:
        raise StepFailed("callback: the phone was not told the login is done")


def redeem(relying_party: httpx.Client, message: Any, issuer: str) -> None:
    """The kiosk's application: the posted code, at /token."""
    if not isinstance(message, dict) or message.get("type") != "qr-relay-login":
        raise StepFailed(f"the page posted {message!r}, not a login")
    if message.get("iss") != issuer or not message.get("code"):
        raise StepFailed(f"the posted login is not this relay's: {message!r}")
    tokens = expect(
        relying_party.post(
            "/token",
            data={"grant_type": "authorization_code", "code": message["code"]},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ),
        200,
        "token",
    )
    if "id_token" not in tokens.json():
        raise StepFailed("token: no id_token")


# --- readings -------------------------------------------------------------------------------------


@dataclass
class Reading:
    logins: int
    heap: int  # bytes of JS heap in use after two forced collections
    nodes: int
    listeners: int
    documents: int
    bind_cookies: int  # the kiosk's login cookies (relay_bind_*): one, the login on screen
    rss_kib: int
    open_logins: float  # started and not ended, as /metrics counts them
    websockets: float
    sse: float
    seconds: float  # mean time per login since the previous reading (QR to next QR)
    phone_ms: float  # of which the phone's part (scan to callback)
    signed_in_ms: float  # and from the callback to "Signed in" on the page (code handed over)


def page_counters(cdp: CDPSession) -> tuple[int, int, int, int]:
    """JS heap in use after garbage collection; DOM nodes, JS event listeners, documents."""
    for _ in range(2):  # a second pass collects what the first one's finalizers let go
        cdp.send("HeapProfiler.collectGarbage")
    heap = int(cdp.send("Runtime.getHeapUsage")["usedSize"])
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return heap, int(metrics["Nodes"]), int(metrics["JSEventListeners"]), int(metrics["Documents"])


def relay_counts(relay: httpx.Client) -> tuple[float, float, float]:
    """Open logins (created minus ended), websockets and event streams, from /metrics."""
    totals = {"created": 0.0, "ended": 0.0, "websocket": 0.0, "sse": 0.0}
    for line in expect(relay.get("/metrics"), 200, "metrics").text.splitlines():
        if line.startswith("relay_sessions_created_total"):
            totals["created"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("relay_sessions_ended_total"):
            totals["ended"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("relay_open_streams{"):
            transport = re.search(r'transport="([a-z]+)"', line)
            if transport and transport.group(1) in totals:
                totals[transport.group(1)] = float(line.rsplit(" ", 1)[1])
    return totals["created"] - totals["ended"], totals["websocket"], totals["sse"]


def settled_counts(relay: httpx.Client) -> tuple[float, float, float]:
    """The relay's counts once the previous login's stream has closed and the new one's opened
    (both happen just after the page shows the next QR); what is there after SETTLE_WITHIN."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        counts = relay_counts(relay)
        if counts == (1.0, 1.0, 0.0) or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def take_reading(
    cdp: CDPSession, page: Page, relay: httpx.Client, process: RelayProcess, logins: int
) -> Reading:
    heap, nodes, listeners, documents = page_counters(cdp)
    cookies = [c for c in page.context.cookies() if c["name"].startswith("relay_bind_")]
    open_logins, websockets, sse = settled_counts(relay)
    return Reading(
        logins=logins,
        heap=heap,
        nodes=nodes,
        listeners=listeners,
        documents=documents,
        bind_cookies=len(cookies),
        rss_kib=process.rss_kib(),
        open_logins=open_logins,
        websockets=websockets,
        sse=sse,
        seconds=0.0,
        phone_ms=0.0,
        signed_in_ms=0.0,
    )


# --- where the heap grew (--heap-diff) ------------------------------------------------------------


@dataclass
class Snapshot:
    """A V8 heap snapshot boiled down: each live object's id, kind and self size."""

    ids: list[int]
    kinds: list[str]  # "type name", e.g. "object Set", "code (bytecode)", "string"
    sizes: list[int]

    @classmethod
    def take(cls, cdp: CDPSession) -> Snapshot:
        chunks: list[str] = []

        def collect(event: dict[str, Any]) -> None:
            chunks.append(event["chunk"])

        cdp.on("HeapProfiler.addHeapSnapshotChunk", collect)
        try:
            cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
        finally:
            cdp.remove_listener("HeapProfiler.addHeapSnapshotChunk", collect)
        data = json.loads("".join(chunks))
        meta = data["snapshot"]["meta"]
        fields: list[str] = meta["node_fields"]
        types: list[str] = meta["node_types"][0]
        strings: list[str] = data["strings"]
        nodes: list[int] = data["nodes"]
        width = len(fields)
        at = {name: fields.index(name) for name in ("type", "name", "id", "self_size")}
        snapshot = cls([], [], [])
        for start in range(0, len(nodes), width):
            kind = types[nodes[start + at["type"]]]
            name = strings[nodes[start + at["name"]]]
            if kind in ("string", "concatenated string", "sliced string", "number"):
                name = ""  # their "name" is their value
            snapshot.ids.append(nodes[start + at["id"]])
            snapshot.kinds.append(f"{kind} {name[:60]}".strip())
            snapshot.sizes.append(nodes[start + at["self_size"]])
        return snapshot


def heap_diff(before: Snapshot, after: Snapshot, top: int = 15) -> None:
    """Prints the objects alive in `after` that were allocated after `before` was taken
    (V8's object ids only grow), grouped by kind, largest first."""
    newest = max(before.ids)
    grown: dict[str, list[int]] = {}
    for object_id, kind, size in zip(after.ids, after.kinds, after.sizes, strict=True):
        if object_id > newest and size > 0:  # V8's synthetic roots have no size
            count_size = grown.setdefault(kind, [0, 0])
            count_size[0] += 1
            count_size[1] += size
    total = sum(size for _, size in grown.values())
    count = sum(n for n, _ in grown.values())
    print(
        f"\nheap snapshots: {len(before.ids)} objects, then {len(after.ids)}; {count} objects "
        f"({total / 1024:.1f} KiB) allocated in between are still alive; the largest kinds:"
    )
    for kind, (n, size) in sorted(grown.items(), key=lambda item: -item[1][1])[:top]:
        print(f"  {size / 1024:8.1f} KiB  {n:6d}  {kind}")


# --- the run --------------------------------------------------------------------------------------


def next_code(page: Page, before: str | None) -> str:
    """Waits for the kiosk's next pending QR (another than `before`); the URL it encodes."""
    found = page.wait_for_function(NEXT_CODE, arg=before, polling=50, timeout=LOGIN_WITHIN_MS)
    return str(found.json_value())


def one_login(
    page: Page, phone: httpx.Client, relying_party: httpx.Client, url: str, number: int
) -> tuple[str, float, float]:
    """The phone signs in with the QR `url`; the page says so, posts the code, the code works at
    /token; the page shows the next QR. That QR's URL, the ms the phone's part took and the ms
    from its end to "Signed in" on the page (polled every 10 ms)."""
    started = time.monotonic()
    phone_signs_in(phone, url, f"Visitor {number}")
    called_back = time.monotonic()
    page.wait_for_function(
        "() => document.getElementById('kiosk').dataset.status === 'completed'",
        polling=10,
        timeout=LOGIN_WITHIN_MS,
    )
    signed_in = time.monotonic()
    redeem(relying_party, page.evaluate("() => window.kioskLast"), str(relying_party.base_url))
    page.evaluate("() => { window.kioskLast = null; }")
    phone_ms, signed_in_ms = 1000 * (called_back - started), 1000 * (signed_in - called_back)
    return next_code(page, url), phone_ms, signed_in_ms


@contextlib.contextmanager
def kiosk_browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} is missing (scripts/ensure-chromium installs it)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


def with_own_prefix(store: str) -> tuple[str, str | None]:
    """A Redis store URL with a key prefix of this run's own (the keys to delete afterwards);
    the memory store as it is."""
    if not store.startswith(("redis://", "rediss://")) or "prefix=" in store:
        return store, None
    prefix = f"bench-kiosk-{secrets.token_hex(4)}:"
    return f"{store}{'&' if '?' in store else '?'}prefix={prefix}", prefix


def delete_keys(store: str, prefix: str) -> int:
    """Remove what the run left in Redis under its prefix (records that wait out their TTL)."""
    import redis

    with redis.Redis.from_url(store.split("?", 1)[0]) as connection:
        keys = list(connection.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            connection.delete(*keys)
        return len(keys)


def run(args: argparse.Namespace, folder: Path) -> list[Reading]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store, prefix = with_own_prefix(args.store)
    kiosk = f'kiosk = true\nkiosk_key = "{KIOSK_KEY}"\nkiosk_mode = "message"\n'
    # The default rate limits, as a kiosk runs with them.
    config = write_config(
        folder, base, store, args.session_ttl, client_lines=kiosk, rate_limits=True
    )
    process = RelayProcess(config, port, folder / "relay.log")
    readings: list[Reading] = []
    try:
        process.wait_ready()
        with (
            kiosk_browser() as browser,
            httpx.Client(base_url=base, timeout=30) as phone,
            httpx.Client(base_url=base, timeout=30) as relying_party,
        ):
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(f"{base}/kiosk/{CLIENT_ID}?key={KIOSK_KEY}")
            if page.url != f"{base}/kiosk/{CLIENT_ID}":
                raise StepFailed(f"the kiosk page did not open: {page.url}")
            page.evaluate(LISTEN)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            url = next_code(page, None)
            readings.append(take_reading(cdp, page, relying_party, process, 0))
            show(readings[-1], header=True)
            spent: list[tuple[float, float, float]] = []
            snapshots: list[Snapshot] = []
            shown_at = time.monotonic()
            for number in range(1, args.logins + 1):
                url, phone_ms, signed_in_ms = one_login(page, phone, relying_party, url, number)
                spent.append((time.monotonic() - shown_at, phone_ms, signed_in_ms))
                if number % args.every == 0 or number == args.logins:
                    if args.heap_diff and number >= WARM_UP_LOGINS:
                        snapshots.append(Snapshot.take(cdp))
                        del snapshots[1:-1]  # the first after the warm-up and the latest
                    reading = take_reading(cdp, page, relying_party, process, number)
                    reading.seconds, reading.phone_ms, reading.signed_in_ms = (
                        statistics.fmean(column) for column in zip(*spent, strict=True)
                    )
                    readings.append(reading)
                    show(reading)
                    spent.clear()
                shown_at = time.monotonic()  # the readings' own time is not the login's
            if len(snapshots) == 2:
                heap_diff(snapshots[0], snapshots[1])
            if urlsplit(page.url).path != f"/kiosk/{CLIENT_ID}":
                raise StepFailed(f"the kiosk page left for {page.url}")
            loads = page.evaluate("() => performance.getEntriesByType('navigation').length")
            if loads != 1:
                raise StepFailed(f"the kiosk page was loaded {loads} times, not once")
    finally:
        process.stop()
        if prefix is not None:
            print(f"deleted the run's {delete_keys(store, prefix)} keys from {args.store}")
    return readings


# --- the report -----------------------------------------------------------------------------------


def show(reading: Reading, header: bool = False) -> None:
    if header:
        print(
            "| after login | JS heap (KiB) | DOM nodes | listeners | documents | login cookies "
            "| relay RSS (MiB) | open logins | websockets / SSE | s per login "
            "| phone, ms | callback to Signed in, ms |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|"
        )
    timing = (
        f"{reading.seconds:.2f} | {reading.phone_ms:.0f} | {reading.signed_in_ms:.0f}"
        if reading.logins
        else "- | - | -"
    )
    print(
        f"| {reading.logins} | {reading.heap / 1024:.1f} | {reading.nodes} | {reading.listeners} "
        f"| {reading.documents} | {reading.bind_cookies} | {reading.rss_kib / 1024:.1f} "
        f"| {reading.open_logins:.0f} | {reading.websockets:.0f} / {reading.sse:.0f} "
        f"| {timing} |",
        flush=True,
    )


def slope_per_100(points: list[tuple[int, float]]) -> float:
    """Least-squares growth per 100 logins."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    return 100 * statistics.linear_regression(xs, ys).slope


def verdict(readings: list[Reading], bound: int) -> list[str]:
    """Prints the growth after the warm-up; the failures (empty: passed)."""
    after = [r for r in readings if r.logins >= WARM_UP_LOGINS]
    if len(after) < 3:
        return [f"too few readings after login {WARM_UP_LOGINS} to judge a trend: run more logins"]
    first, last = after[0], after[-1]
    span = last.logins - first.logins
    heap_slope = slope_per_100([(r.logins, r.heap) for r in after])
    rss_slope = slope_per_100([(r.logins, r.rss_kib * 1024) for r in after])
    print(
        f"\nJS heap: {readings[0].heap / 1024:.1f} KiB at the first QR, "
        f"{first.heap / 1024:.1f} KiB after login {first.logins}, "
        f"{last.heap / 1024:.1f} KiB after login {last.logins} "
        f"({(last.heap - first.heap) / 1024:+.1f} KiB over {span} logins, "
        f"{100 * (last.heap - first.heap) / span / 1024:+.1f} KiB per 100 logins end to end); "
        f"least-squares trend {heap_slope / 1024:+.1f} KiB per 100 logins "
        f"(bound {bound / 1024:.0f} KiB); range after login {first.logins}: "
        f"{(max(r.heap for r in after) - min(r.heap for r in after)) / 1024:.1f} KiB"
    )
    print(
        f"DOM nodes {first.nodes} -> {last.nodes}, JS event listeners {first.listeners} -> "
        f"{last.listeners}, documents {first.documents} -> {last.documents}"
    )
    print(
        f"relay RSS: {readings[0].rss_kib / 1024:.1f} MiB at the first QR, "
        f"{first.rss_kib / 1024:.1f} MiB after login {first.logins}, "
        f"{last.rss_kib / 1024:.1f} MiB after login {last.logins} "
        f"({(last.rss_kib - first.rss_kib) / 1024:+.2f} MiB; least-squares "
        f"{rss_slope / 2**20:+.2f} MiB per 100 logins)"
    )
    failures = []
    if heap_slope > bound:
        failures.append(
            f"the JS heap grows {heap_slope / 1024:.1f} KiB per 100 logins "
            f"(bound {bound / 1024:.0f} KiB)"
        )
    for name in ("nodes", "listeners", "documents"):  # one login on screen: always the same
        values = sorted({getattr(r, name) for r in readings})
        if len(values) > 1:
            failures.append(f"{name}: {values} at the readings, not one figure throughout")
    for reading in readings:
        if reading.bind_cookies != 1:
            failures.append(f"after login {reading.logins}: {reading.bind_cookies} login cookies")
        if (reading.open_logins, reading.websockets, reading.sse) != (1.0, 1.0, 0.0):
            failures.append(
                f"after login {reading.logins}: the relay counts {reading.open_logins:.0f} open "
                f"logins, {reading.websockets:.0f} websockets, {reading.sse:.0f} event streams "
                "(one login on screen: 1, 1, 0)"
            )
    return failures


def versions() -> str:
    found = [f"Chromium {chromium_version()}"]
    for name in ("playwright", "starlette", "uvicorn", "httpx"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def chromium_version() -> str:
    import subprocess

    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(  # noqa: S603 - the browser the benchmark drives
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
        found = re.search(r"\d+(\.\d+)+", out)
        if found:
            return found.group(0)
    return "?"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--logins", type=int, default=200, help="logins one after another (200)")
    add("--every", type=int, default=20, help="a reading every this many logins (20)")
    add(
        "--heap-bound",
        type=int,
        default=HEAP_BOUND,
        help=f"bytes of JS heap growth per 100 logins that fail the run ({HEAP_BOUND})",
    )
    add(
        "--store",
        default="memory://",
        help="the relay's store (memory://); a redis:// URL gets a key prefix of the run's own, "
        "whose keys are deleted afterwards (e.g. redis://127.0.0.1:6379/14)",
    )
    add(
        "--heap-diff",
        action="store_true",
        help="also take a heap snapshot at each reading after the warm-up and print what was "
        "allocated after the first and is still alive at the last (to find a leak; slower)",
    )
    add("--session-ttl", type=int, default=180, help="the relay's session_ttl (180, the default)")
    add("--log-dir", help="keep the relay's log in this folder (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.logins < 1 or args.every < 1:
        parser.error("--logins and --every: at least 1")
    return args


def main() -> None:
    args = arguments()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {versions()}\n"
        f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n"
        f"{args.logins} logins on one kiosk page; readings every {args.every}\n"
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="relay-bench-kiosk-", dir=args.log_dir) as folder:
        try:
            readings = run(args, Path(folder))
        finally:
            if args.log_dir:  # keep the relay's log: move it out of the temporary folder
                kept = Path(args.log_dir) / f"relay-bench-kiosk-{datetime.now(UTC):%Y%m%dT%H%M%S}"
                Path(folder).rename(kept)
                Path(folder).mkdir()
                print(f"\nthe relay's log: {kept}")
    print(f"\n{args.logins} logins in {time.monotonic() - started:.0f} s")
    failures = verdict(readings, args.heap_bound)
    if failures:
        print("\nverdict: FAILED")
        for failure in failures:
            print(f"  {failure}")
        raise SystemExit(1)
    print("\nverdict: passed (no growth beyond the bounds)")


if __name__ == "__main__":
    main()
