"""Logins against real relay processes: memory per waiting login, confirm-to-desktop latency (one
process, then two on Redis), full logins per second and server CPU per full login.

Run: .venv/bin/python bench/bench_logins.py [--waiting N] (figures go to BENCHMARKS.md by hand)

Each relay is `python -m relay serve` on 127.0.0.1 with a configuration, a signing key and its
log in a temporary folder (the sandbox provider, one client). Memory is the process's RSS
(/proc/PID/status), CPU its utime+stime (/proc/PID/stat); the harness runs on the same machine.
Every phase is bounded in count and in time; every process started here is stopped by its pid;
on Redis only the keys that appeared during the run are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from login_steps import Login, client
from relay_process import (
    RelayProcess,
    free_port,
    machine_busy_seconds,
    raise_open_files,
    write_config,
)

TARGET_KIB_PER_WAITING = 64
TARGET_P99_ONE_MS = 10.0
TARGET_P99_TWO_MS = 20.0
TARGET_CPU_MS_PER_LOGIN = 10.0
WARM_UP_LOGINS = 30  # before any reading: templates compiled, connections open, caches filled
IDLE_SECONDS = 10  # how long the waiting logins are watched doing nothing


@dataclass
class Report:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, what: str, measured: str, target: str = "", outcome: str = "") -> None:
        self.rows.append((what, measured, target, outcome))
        print(f"  {what}: {measured}" + (f"  (target {target}: {outcome})" if target else ""))

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  {text}")


class Others:
    """CPU that neither the relays nor the harness used while this was open: other processes on
    the machine, which make the timings noisier."""

    def __init__(self, processes: list[RelayProcess]) -> None:
        self.processes = processes
        self.started = time.monotonic()
        self.start = self.read()

    def read(self) -> tuple[float, float, float]:
        relays = sum(process.cpu_seconds() for process in self.processes)
        return machine_busy_seconds(), relays, time.process_time()

    def text(self) -> str:
        machine, relays, harness = (b - a for a, b in zip(self.start, self.read(), strict=True))
        elapsed = time.monotonic() - self.started
        other = max(0.0, machine - relays - harness) / elapsed
        return (
            f"relays {100 * relays / elapsed:.0f}%, harness {100 * harness / elapsed:.0f}%, "
            f"other processes {100 * other:.0f}% of one core"
        )


@contextlib.asynccontextmanager
async def stall_probe(base: str, interval: float = 0.1, limit: int = 20_000) -> Any:
    """GET /healthz every `interval` seconds while the block runs; yields the answer times (ms).
    A long one is a stall of the relay's event loop (or of the harness's)."""
    samples: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(limit):
                started = time.perf_counter()
                await http.get("/healthz")
                samples.append((time.perf_counter() - started) * 1000)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
                if stop.is_set():
                    return

    task = asyncio.create_task(probe())
    try:
        yield samples
    finally:
        stop.set()
        await task


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def bounded(
    items: Iterable[Login],
    work: Callable[[Login], Awaitable[None]],
    concurrency: int,
    deadline: float,
) -> tuple[list[Login], list[str]]:
    """Runs `work` on each login, `concurrency` at a time, starting none after `deadline`
    (time.monotonic()). Returns the logins it succeeded for and the errors of the others."""
    pending = list(items)
    done: list[Login] = []
    errors: list[str] = []
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(pending) and time.monotonic() < deadline:
            login = pending[position]
            position += 1
            try:
                await work(login)
            except Exception as exc:  # counted and reported; the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")
            else:
                done.append(login)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if position < len(pending):
        errors.append(f"time limit: {len(pending) - position} not started")
    return done, errors


async def full_login(login: Login, ws_base: str) -> None:
    """authorize, login page, websocket, scan, phone page, continue, sandbox page and approve,
    callback (confirmed on the websocket), resume, token, userinfo."""
    await login.authorize()
    await login.login_page()
    await login.open_live(ws_base)
    try:
        await login.scan()
        await login.receive("scanned")
        await login.phone_page()
        await login.to_sandbox()
        await login.callback()
        await login.receive("confirmed")
    finally:
        await login.close_live()  # the page leaves for resume
    await login.resume()
    await login.token()
    await login.userinfo()


def ws_base(process: RelayProcess) -> str:
    return process.base.replace("http://", "ws://")


async def warm_up(process: RelayProcess, phone_process: RelayProcess | None = None) -> None:
    async with (
        client(process.base, 4) as desktop,
        client((phone_process or process).base, 4) as phone,
    ):
        for _ in range(WARM_UP_LOGINS):
            await full_login(Login(desktop, phone), ws_base(process))


async def open_waiting(
    process: RelayProcess,
    desktop: httpx.AsyncClient,
    phone: httpx.AsyncClient,
    count: int,
    concurrency: int,
    budget: float,
    report: Report,
    label: str,
) -> list[Login]:
    """`count` waiting logins with a live websocket each; reports the process's memory."""
    rss_before = process.rss_kib()
    cpu_before, harness_before = process.cpu_seconds(), time.process_time()
    others = Others([process])
    started = time.monotonic()
    deadline = started + budget

    async def http_part(login: Login) -> None:
        await login.authorize()
        await login.login_page()

    async with stall_probe(process.base) as probe:
        logins = [Login(desktop, phone) for _ in range(count)]
        pages, errors = await bounded(logins, http_part, concurrency, deadline)
        http_seconds = time.monotonic() - started
        await asyncio.sleep(1.0)
        rss_sessions = process.rss_kib()
        cpu_sessions = process.cpu_seconds()
        opened_pages = time.monotonic()
        base = ws_base(process)
        waiting, ws_errors = await bounded(
            pages, lambda login: login.open_live(base), concurrency, deadline
        )
        opened = time.monotonic()
        await asyncio.sleep(1.0)
    rss_after = process.rss_kib()
    cpu_after, harness = process.cpu_seconds(), time.process_time() - harness_before
    busy = others.text()
    errors += ws_errors
    n = len(waiting)
    if errors:
        report.note(f"{label}: {len(errors)} of {count} logins failed to open, e.g. {errors[0]}")
    if n == 0:
        raise RuntimeError(f"{label}: no login opened")
    per_login = (rss_after - rss_before) / n
    report.note(
        f"{label}: {n} waiting logins opened in {opened - started:.1f} s "
        f"({len(pages) / http_seconds:.0f}/s authorize + login page, "
        f"{n / (opened - opened_pages):.0f}/s websockets); "
        f"RSS {rss_before / 1024:.1f} MiB -> {rss_sessions / 1024:.1f} MiB (sessions, pages) -> "
        f"{rss_after / 1024:.1f} MiB (websockets); "
        f"server CPU {1000 * (cpu_sessions - cpu_before) / max(len(pages), 1):.2f} ms per "
        f"authorize + login page, {1000 * (cpu_after - cpu_sessions) / n:.2f} ms per websocket; "
        f"harness CPU {1000 * harness / n:.2f} ms per waiting login; CPU meanwhile: {busy}"
    )
    report.note(
        f"{label}: /healthz answered every 100 ms while opening: p50 "
        f"{statistics.median(probe):.1f} ms, longest {max(probe):.0f} ms "
        f"({sum(1 for t in probe if t > 100)} answers over 100 ms: event-loop stalls)"
    )
    report.add(
        f"{label}: memory per waiting login (RSS delta / {n})",
        f"{per_login:.1f} KiB ({(rss_sessions - rss_before) / n:.1f} session + login page, "
        f"{(rss_after - rss_sessions) / n:.1f} websocket)",
        f"<= {TARGET_KIB_PER_WAITING} KiB",
        verdict(per_login <= TARGET_KIB_PER_WAITING),
    )
    idle_from = process.cpu_seconds()
    await asyncio.sleep(IDLE_SECONDS)
    idle = (process.cpu_seconds() - idle_from) / IDLE_SECONDS
    report.note(
        f"{label}: the {n} waiting logins, idle, keep the relay {100 * idle:.1f}% busy "
        "(websocket pings: uvicorn pings each connection every 20 s)"
    )
    return waiting


@dataclass
class Timings:
    """Per confirmed login, in ms: from sending the phone's request to the desktop's websocket
    receiving the change (`confirmed` after the callback, `scanned` after the scan), and the
    callback's own response time."""

    confirm: list[float] = field(default_factory=list)
    callback: list[float] = field(default_factory=list)
    scan: list[float] = field(default_factory=list)


async def pushed_after(login: Login, status: str, request: Callable[[], Awaitable[None]]) -> float:
    """Sends the phone's request and returns when the desktop received `status`: the ms from
    sending to receiving. The websocket read is under way before the clock starts."""
    arrival = asyncio.ensure_future(login.receive(status))
    await asyncio.sleep(0)
    sent = time.perf_counter()
    try:
        await request()
        arrived = await asyncio.wait_for(arrival, 10)
    finally:
        arrival.cancel()
    return (arrived - sent) * 1000


async def confirm_latency(waiting: list[Login], sample: int, budget: float, seed: int) -> Timings:
    """Confirms a sample of the waiting logins one at a time through the phone's steps: scan,
    continue, the sandbox's page and Approve, the callback."""
    chosen = random.Random(seed).sample(waiting, min(sample, len(waiting)))
    timings = Timings()
    deadline = time.monotonic() + budget
    for login in chosen:
        if time.monotonic() > deadline:
            break
        await login.login_page()  # the QR has changed many times while it waited: the current
        timings.scan.append(await pushed_after(login, "scanned", login.scan))
        await login.to_sandbox()
        answered: list[float] = []

        async def callback(login: Login = login, answered: list[float] = answered) -> None:
            sent = time.perf_counter()
            await login.callback()
            answered.append((time.perf_counter() - sent) * 1000)

        timings.confirm.append(await pushed_after(login, "confirmed", callback))
        timings.callback.extend(answered)
    return timings


def report_latency(report: Report, label: str, timings: Timings, target: float, busy: str) -> None:
    confirm = timings.confirm
    p50, p99 = statistics.median(confirm), percentile(confirm, 0.99)
    report.add(
        f"{label}: confirm-to-desktop latency, {len(confirm)} logins",
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (max {max(confirm):.2f})",
        f"p99 <= {target:.0f} ms",
        verdict(p99 <= target),
    )
    report.note(
        f"{label}: the phone's callback response took p50 {statistics.median(timings.callback):.2f}"
        f" ms, p99 {percentile(timings.callback, 0.99):.2f} ms; scan-to-desktop (`scanned`, no "
        f"provider call in between) p50 {statistics.median(timings.scan):.2f} ms, p99 "
        f"{percentile(timings.scan, 0.99):.2f} ms; CPU meanwhile: {busy}"
    )


async def close_all(logins: list[Login], concurrency: int) -> None:
    await bounded(logins, Login.close_live, concurrency, time.monotonic() + 120)


def start(
    folder: Path, name: str, port: int, config: Path, args: argparse.Namespace
) -> RelayProcess:
    log = folder / f"{name}.log"
    process = RelayProcess(config, port, log, args.log_format, args.relay_path)
    try:
        process.wait_ready()
    except BaseException:
        process.stop()
        raise
    return process


async def phase_one_process(args: argparse.Namespace, folder: Path, report: Report) -> None:
    print(f"\n[1] one process, memory store: {args.waiting} waiting logins")
    port = free_port()
    config = write_config(
        folder, f"http://127.0.0.1:{port}", "memory://", args.session_ttl, args.relay_path
    )
    process = start(folder, "one", port, config, args)
    waiting: list[Login] = []
    try:
        await warm_up(process)
        async with (
            client(process.base, args.concurrency) as desktop,
            client(process.base, 4) as phone,
        ):
            try:
                waiting = await open_waiting(
                    process,
                    desktop,
                    phone,
                    args.waiting,
                    args.concurrency,
                    args.open_budget,
                    report,
                    "one process",
                )
                others = Others([process])
                timings = await confirm_latency(waiting, args.sample, args.sample_budget, args.seed)
                report_latency(
                    report,
                    f"one process, {len(waiting)} waiting",
                    timings,
                    TARGET_P99_ONE_MS,
                    others.text(),
                )
            finally:
                await close_all(waiting, args.concurrency)
    finally:
        process.stop()


def redis_keys(url: str) -> set[bytes]:
    import redis

    with redis.Redis.from_url(url) as connection:
        return set(connection.scan_iter(match="relay:*", count=1000))


def delete_new_keys(url: str, before: set[bytes]) -> int:
    import redis

    with redis.Redis.from_url(url) as connection:
        found = connection.scan_iter(match="relay:*", count=1000)
        made = [key for key in found if key not in before]
        for start_at in range(0, len(made), 500):
            connection.delete(*made[start_at : start_at + 500])
    return len(made)


async def phase_two_processes(args: argparse.Namespace, folder: Path, report: Report) -> None:
    url = args.redis_url
    print(f"\n[2] two processes on {url}: {args.redis_waiting} waiting logins on the first")
    before = redis_keys(url)
    port_a, port_b = free_port(), free_port()
    sub = folder / "redis"
    sub.mkdir()
    config = write_config(sub, f"http://127.0.0.1:{port_a}", url, args.session_ttl, args.relay_path)
    processes: list[RelayProcess] = []
    waiting: list[Login] = []
    try:
        processes.append(start(sub, "a", port_a, config, args))  # makes the key
        processes.append(start(sub, "b", port_b, config, args))
        first, second = processes
        await warm_up(first, second)
        async with client(first.base, args.concurrency) as desktop, client(second.base, 4) as phone:
            try:
                waiting = await open_waiting(
                    first,
                    desktop,
                    phone,
                    args.redis_waiting,
                    args.concurrency,
                    args.open_budget,
                    report,
                    "two processes on Redis (websocket side)",
                )
                others = Others(processes)
                timings = await confirm_latency(waiting, args.sample, args.sample_budget, args.seed)
                report_latency(
                    report,
                    f"two processes on Redis, {len(waiting)} waiting on the first, "
                    "callback on the second",
                    timings,
                    TARGET_P99_TWO_MS,
                    others.text(),
                )
            finally:
                await close_all(waiting, args.concurrency)
    finally:
        for process in processes:
            process.stop()
        removed = delete_new_keys(url, before)
        print(f"  removed the {removed} Redis keys this run made")


async def phase_throughput(args: argparse.Namespace, folder: Path, report: Report) -> None:
    print(f"\n[3] one process, memory store: {args.logins} full logins, {args.parallel} at a time")
    sub = folder / "throughput"
    sub.mkdir()
    port = free_port()
    config = write_config(
        sub, f"http://127.0.0.1:{port}", "memory://", args.session_ttl, args.relay_path
    )
    process = start(sub, "throughput", port, config, args)
    base = ws_base(process)
    try:
        await warm_up(process)
        async with (
            client(process.base, args.parallel) as desktop,
            client(process.base, args.parallel) as phone,
        ):
            logins = [Login(desktop, phone) for _ in range(args.logins)]
            cpu_before, harness_before = process.cpu_seconds(), time.process_time()
            others = Others([process])
            started = time.perf_counter()
            done, errors = await bounded(
                logins,
                lambda login: full_login(login, base),
                args.parallel,
                time.monotonic() + args.logins_budget,
            )
            elapsed = time.perf_counter() - started
            cpu = process.cpu_seconds() - cpu_before
            harness = time.process_time() - harness_before
            if errors:
                report.note(f"{len(errors)} full logins failed, e.g. {errors[0]}")
            n = len(done)
            report.add(
                f"full logins per second ({n} logins, {args.parallel} at a time, one process)",
                f"{n / elapsed:.1f} /s",
            )
            per_login = 1000 * cpu / n
            report.add(
                "server CPU per full login (authorize through userinfo, sandbox provider)",
                f"{per_login:.2f} ms",
                f"<= {TARGET_CPU_MS_PER_LOGIN:.0f} ms",
                verdict(per_login <= TARGET_CPU_MS_PER_LOGIN),
            )
            report.note(
                f"the harness used {1000 * harness / n:.2f} ms of CPU per login on the same 2 "
                f"cores; CPU meanwhile: {others.text()}"
            )
            if args.breakdown > 0:
                await step_breakdown(process, desktop, phone, base, args, report)
    finally:
        process.stop()


async def step_breakdown(
    process: RelayProcess,
    desktop: httpx.AsyncClient,
    phone: httpx.AsyncClient,
    base: str,
    args: argparse.Namespace,
    report: Report,
) -> None:
    """The same login in lockstep: every login takes one step, then the server's CPU is read,
    then the next step; so each step's server CPU is known without a profiler."""
    logins = [Login(desktop, phone) for _ in range(args.breakdown)]

    async def scan(login: Login) -> None:
        await login.scan()
        await login.receive("scanned")

    async def callback(login: Login) -> None:
        await login.callback()
        await login.receive("confirmed")

    async def resume(login: Login) -> None:
        await login.close_live()
        await login.resume()

    steps: list[tuple[str, Callable[[Login], Awaitable[None]]]] = [
        ("authorize", Login.authorize),
        ("login page (QR)", Login.login_page),
        ("websocket open, first status", lambda login: login.open_live(base)),
        ("scan (+ scanned pushed)", scan),
        ("phone page", Login.phone_page),
        ("continue (to the sandbox)", Login.continue_),
        ("sandbox sign-in page", Login.sandbox_page),
        ("sandbox approve", Login.sandbox_approve),
        ("callback (+ sandbox token, userinfo; confirmed pushed)", callback),
        ("websocket close, resume", resume),
        ("token (id_token signed)", Login.token),
        ("userinfo", Login.userinfo),
    ]
    deadline = time.monotonic() + args.logins_budget
    costs = []
    for name, step in steps:
        before = process.cpu_seconds()
        logins, errors = await bounded(logins, step, args.parallel, deadline)
        await asyncio.sleep(0.05)
        if errors:
            report.note(f"breakdown: {name}: {len(errors)} failed, e.g. {errors[0]}")
        if not logins:
            return
        costs.append((name, 1000 * (process.cpu_seconds() - before) / len(logins)))
    total = sum(cost for _, cost in costs)
    report.note(
        f"server CPU per step, {len(logins)} logins in lockstep "
        f"(/proc clock ticks of {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms over the batch):"
    )
    for name, cost in costs:
        report.note(f"    {name:58} {cost:6.2f} ms  {100 * cost / total:4.0f}%")
    report.note(f"    {'total':58} {total:6.2f} ms")


def versions() -> str:
    names = ("starlette", "uvicorn", "uvloop", "httptools", "websockets", "httpx", "redis")
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def relay_source(relay_path: str | None) -> str:
    """Where the relay processes import `relay` from."""
    if relay_path:
        return f"{relay_path} (--relay-path)"
    spec = importlib.util.find_spec("relay")
    return str(Path(spec.origin).parent) if spec and spec.origin else "?"


def print_table(report: Report) -> None:
    print("\n| what | measured | target | |\n|---|---|---|---|")
    for what, measured, target, outcome in report.rows:
        print(f"| {what} | {measured} | {target} | {outcome} |")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--waiting", type=int, default=10_000, help="waiting logins, one process (10000)")
    add("--redis-waiting", type=int, default=10_000, help="waiting logins on Redis (10000)")
    add("--sample", type=int, default=200, help="logins confirmed for the latency (200)")
    add("--logins", type=int, default=1000, help="full logins for logins/s and CPU (1000)")
    add("--parallel", type=int, default=8, help="full logins at a time (8)")
    add("--breakdown", type=int, default=300, help="logins in the per-step CPU breakdown (300)")
    add("--concurrency", type=int, default=32, help="requests at a time when opening (32)")
    add("--redis-url", default="redis://127.0.0.1:6379/14", help="a database of its own")
    add(
        "--phases",
        default="one,redis,full",
        help="which runs, comma-separated: one (waiting logins and latency, one process), "
        "redis (the same on two processes), full (full logins) (default: all three)",
    )
    add("--session-ttl", type=int, default=1800, help="seconds a waiting login stays open")
    add("--log-format", choices=("json", "text"), default="json", help="the relay's log (file)")
    add("--open-budget", type=float, default=300, help="seconds to open the waiting logins")
    add("--sample-budget", type=float, default=120, help="seconds for the latency sample")
    add("--logins-budget", type=float, default=300, help="seconds for the full logins")
    add("--seed", type=int, default=4, help="which waiting logins are confirmed")
    add(
        "--relay-path",
        help="PYTHONPATH of the relay processes: measure the relay in another source tree (a "
        "checkout of some commit) while the harness runs from this one",
    )
    add("--log-dir", help="keep the relays' logs in this folder (default: a temporary one)")
    args = parser.parse_args(argv)
    database = args.redis_url.rsplit("/", 1)[-1]
    if not args.redis_url.startswith("redis://") or database in ("", "0", "15"):
        parser.error("--redis-url: a database of the benchmark's own, not 0 nor 15 (the tests')")
    return args


async def run(args: argparse.Namespace, folder: Path) -> Report:
    report = Report()
    wanted = {name.strip() for name in args.phases.split(",")}
    phases = (
        ("one", phase_one_process),
        ("redis", phase_two_processes),
        ("full", phase_throughput),
    )
    for name, phase in phases:
        if name not in wanted:
            continue
        try:
            await phase(args, folder, report)
        except Exception as exc:  # the other runs still go; the exit status says it failed
            report.failed.append(name)
            report.note(f"the {name} run failed: {type(exc).__name__}: {exc}")
    return report


def main() -> None:
    args = arguments()
    limit = raise_open_files(max(args.waiting, args.redis_waiting) + 2048)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {versions()}; open files {limit}\n"
        f"relay from {relay_source(args.relay_path)}\n"
        f"command: {' '.join([Path(sys.executable).name, *sys.argv])}"
    )
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner, tempfile.TemporaryDirectory(prefix="relay-bench-", dir=args.log_dir) as folder:
        try:
            report = runner.run(run(args, Path(folder)))
        finally:
            if args.log_dir:  # keep the relays' logs: move them out of the temporary folder
                kept = Path(args.log_dir) / f"relay-bench-{datetime.now(UTC):%Y%m%dT%H%M%S}"
                Path(folder).rename(kept)
                Path(folder).mkdir()
                print(f"\nthe relays' logs: {kept}")
    print_table(report)
    if report.failed:
        raise SystemExit(f"failed: {', '.join(report.failed)}")


if __name__ == "__main__":
    main()
