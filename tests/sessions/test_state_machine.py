"""The login session state machine under random interleavings, over both stores (issue 5).

A hypothesis `RuleBasedStateMachine` plays everyone who can touch a login: the desktop (start,
its page reading the session, resume, cancel), the phone (scanning the QR now, or a used or stale
one; declining), the provider's answer at the callback (confirming or failing, once or replayed,
often on a view of the session read long before: the provider round trip is slow), the clock
running past `expires_at` and past each QR's period, and two requests racing. After every step it
reads what the store holds and checks what must always be true:

- each status the store held follows the previous one along TRANSITIONS; a final one stays;
- at most one relay code per session, only for a completed one, carrying its identity;
- a session once denied, cancelled, failed or expired never completes and never gets a code;
- an identity is there exactly while confirmed or completed, and never changes;
- a session is scanned once: a used or stale ticket changes nothing.

It drives the real LoginSessions on the real MemoryStore and RedisStore (its Lua compare-and-set),
and the desktop through the real page handlers of relay/pages/login.py, so a code counted here is
one `issue_code` stored. The phone and the callback make the LoginSessions calls their pages make
(callback.finish: `confirm`; callback.settle_failure and phone.decline: `settle`). Each example
runs on an event loop of its own, held by the machine; the Redis client is made on it.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from relay.core import Relay, build_relay
from relay.digests import sha256_hex
from relay.errors import SessionNotFound
from relay.events import MemoryEvents
from relay.oidc.codes import code_key
from relay.oidc.keys import SigningKey
from relay.pages import login as desktop
from relay.pages.binding import desktop_cookie
from relay.sessions import FINAL, TRANSITIONS, Identity, LoginSession, LoginSessions, Status
from relay.sessions.service import RECORD_GRACE, RESUME_WINDOW, session_key
from relay.sessions.tickets import grace
from relay.store import MemoryStore
from tests.conftest import RP_REDIRECT, make_settings
from tests.sessions.helpers import IDENTITY, FakeClock, make_request
from tests.sessions.stateful import (
    Backend,
    Login,
    Moves,
    expected,
    memory_backend,
    query,
    redis_backend,
    status,
    wins,
)

T = TypeVar("T")
Answer = Coroutine[Any, Any, LoginSession]  # what the callback or the phone's decline awaits

RELAY = make_settings()
GRACE = grace(RELAY.qr_rotate)  # an old QR still scans this long after it changed
OTHER = Identity(provider="sandbox", subject="u-666", name="Mallory")  # a replayed, other answer
BAD = frozenset({Status.DENIED, Status.CANCELLED, Status.FAILED, Status.EXPIRED})
MAX_LOGINS = 3  # per example: enough for logins to cross, few enough to interleave on each
# Seconds the clock may move, as often a step as a leap: a moment, a new QR (the old one still
# scans for GRACE), a new QR and its grace; past the resume window, the QR's life, the record's.
STEPS = st.sampled_from([1.0, RELAY.qr_rotate, RELAY.qr_rotate + GRACE])
LEAPS = st.sampled_from([RESUME_WINDOW, RELAY.session_ttl, RECORD_GRACE])
REFUSALS = {  # how a scanned login is refused, as the pages settle it: (status, reason)
    "declined on the phone": (Status.DENIED, "user_declined"),  # phone.decline
    "denied at the provider": (Status.DENIED, "access_denied"),  # callback.settle_failure
    "failed at the provider": (Status.FAILED, "invalid_code"),  # callback.settle_failure
}
RACES = ("two scans", "two resumes", "cancel and confirm", "decline and confirm", "two confirms")


def no_upstream(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no provider is called here: {request.url.host}")


NO_UPSTREAM = httpx.MockTransport(no_upstream)  # and no TLS context to build for each example

SETTINGS = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is deterministic
    database=None,  # and writes no .hypothesis/ folder
    suppress_health_check=[HealthCheck.too_slow],  # Redis steps are real round trips
)


class LoginMachine(RuleBasedStateMachine):
    """One example: up to MAX_LOGINS logins, a fake clock, one store. A new actor is a rule
    whose coroutine reads `before = await self.stored(login)`, acts, and asserts the outcome
    with `expected(before, now, sources, target)`; the invariant checks the rest."""

    logins: Bundle[Login] = Bundle("logins")

    def __init__(
        self, open_backend: Callable[[FakeClock], Coroutine[Any, Any, Backend]], keys: SigningKey
    ) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = FakeClock()
        self.backend = self.run(open_backend(self.clock))
        self.moves = Moves()
        self.sessions = LoginSessions(
            self.backend.store,
            self.backend.events,
            ttl=RELAY.session_ttl,
            qr_rotate=RELAY.qr_rotate,
            clock=self.clock,
            observer=self.moves,
        )
        relay = replace(
            build_relay(RELAY, keys=keys, http_transport=NO_UPSTREAM),
            store=self.backend.store,
            events=self.backend.events,
            sessions=self.sessions,
        )
        self.relay: Relay = relay
        self.app = Starlette()  # what the page handlers reach the relay through
        self.app.state.relay = relay
        self.models: list[Login] = []
        self.codes: dict[str, str] = {}  # every code key the store ever held -> its session

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def teardown(self) -> None:
        try:
            self.run(self.backend.cleanup())
            self.run(self.relay.aclose())
        finally:
            self.runner.close()

    async def stored(self, login: Login) -> LoginSession | None:
        """The record as the store holds it, read without the lazy expiry of `find`."""
        record = await self.backend.store.get(session_key(login.id))
        return LoginSession.from_record(record) if record is not None else None

    def seen(self, login: Login, view: LoginSession | None) -> None:
        if view is not None:
            login.views.append(view)

    # The desktop

    @initialize(target=logins)
    def first_desktop_starts(self) -> Login:
        return self.start()

    @precondition(lambda self: len(self.models) < MAX_LOGINS)
    @rule(target=logins)
    def desktop_starts(self) -> Login:
        return self.start()

    def start(self) -> Login:
        secret = secrets.token_urlsafe(32)
        session = self.run(self.sessions.start(make_request(), sha256_hex(secret)))
        login = Login(session.id, secret, session.created_at, [session])
        self.models.append(login)
        return login

    @rule(login=logins)
    def desktop_checks(self, login: Login) -> None:
        """The page, its live stream or the QR refresh timer: a read, which expires lazily.
        (Hypothesis favours the first rule in its order, fewest arguments then name: this one,
        which changes nothing but a lazy expiry.)"""
        self.run(self.check_on(login))

    async def check_on(self, login: Login) -> None:
        before = await self.stored(login)
        after = await self.sessions.find(login.id)
        self.seen(login, after)
        assert status(after) is expected(before, self.clock(), set(), Status.PENDING)
        if status(after) is Status.PENDING:
            self.show_qr(login)  # the page shows the QR of the moment (someone may photograph it)

    def page(self, login: Login, action: str, method: str) -> Request:
        cookie = f"{desktop_cookie(self.relay, login.id)}={login.secret}"
        return Request(
            {
                "type": "http",
                "method": method,
                "scheme": "http",
                "server": ("relay.test", 80),
                "path": f"/sessions/{login.id}/{action}",
                "root_path": "",
                "query_string": b"",
                "headers": [(b"host", b"relay.test"), (b"cookie", cookie.encode())],
                "path_params": {"session_id": login.id},
                "app": self.app,
            }
        )

    async def resume(self, login: Login) -> Response:
        return await desktop.resume(self.page(login, "resume", "GET"))

    async def cancel(self, login: Login) -> Response:
        return await desktop.cancel(self.page(login, "cancel", "POST"))

    @rule(login=logins)
    def desktop_resumes(self, login: Login) -> None:
        """Coming back once the phone approved (and again: a reload, the back button)."""
        self.run(self.resume_once(login))

    async def resume_once(self, login: Login) -> None:
        before = await self.stored(login)
        got_code = await self.check_resume(login, before, await self.resume(login))
        assert got_code is wins(before, self.clock(), {Status.CONFIRMED})

    async def check_resume(
        self, login: Login, before: LoginSession | None, response: Response
    ) -> bool:
        """What the desktop got back, given the session before it asked; True for a code."""
        after = await self.stored(login)
        if after is None:
            assert response.status_code == 404
            return False
        if response.status_code == 302 and "code" in query(response):
            params = query(response)
            assert response.headers["location"].startswith(RP_REDIRECT + "?")
            assert params["state"] == "st-123" and params["iss"] == RELAY.issuer
            assert status(before) is Status.CONFIRMED and after.status is Status.COMPLETED
            key = code_key(params["code"])
            record = await self.backend.store.get(key)
            assert record is not None and record["session_id"] == login.id
            assert after.identity is not None and record["identity"] == after.identity.to_record()
            login.codes.add(key)
            return True
        if after.status in BAD:
            assert response.status_code == 302
            assert query(response)["error"] == "access_denied"
        elif after.status is Status.COMPLETED:
            assert response.status_code == 409  # finished already, by an earlier resume
        else:
            assert response.status_code == 303
            assert response.headers["location"] == f"/sessions/{login.id}"
        return False

    @rule(login=logins)
    def desktop_gives_up(self, login: Login) -> None:
        self.run(self.give_up(login))

    async def give_up(self, login: Login) -> None:
        before = await self.stored(login)
        response = await self.cancel(login)
        after = await self.stored(login)
        sources = {Status.PENDING, Status.SCANNED}
        assert status(after) is expected(before, self.clock(), sources, Status.CANCELLED)
        if after is None:
            assert response.status_code == 404
        elif after.status is Status.CANCELLED:
            assert response.status_code == 303
            assert query(response)["error"] == "access_denied"
        else:
            assert response.headers["location"] == f"/sessions/{login.id}"

    # The phone

    def show_qr(self, login: Login) -> str:
        view = login.views[-1]  # any view: the ticket depends on the id, its key and the clock
        ticket = self.sessions.ticket(view)
        login.shown.append((ticket, self.sessions.next_ticket_at(view)))
        return ticket

    async def scan(self, login: Login, ticket: str) -> LoginSession | None:
        scanned = await self.sessions.scan(ticket, sha256_hex(secrets.token_urlsafe(16)))
        self.seen(login, scanned)
        return scanned

    @rule(login=logins)
    def phone_scans_the_qr(self, login: Login) -> None:
        self.run(self.scan_shown(login, self.show_qr(login), until=None))

    @rule(login=logins, pick=st.integers(0, 7))
    def phone_scans_an_old_qr(self, login: Login, pick: int) -> None:
        """A QR shown earlier: used already, replaced since (rotation), or still the one on
        screen (then it scans, as the current one would)."""
        if login.shown:
            ticket, until = login.shown[pick % len(login.shown)]
            self.run(self.scan_shown(login, ticket, until))

    @rule(login=logins, delay=STEPS)
    def phone_scans_a_photo_of_the_qr(self, login: Login, delay: float) -> None:
        """The QR relayed or photographed now and scanned `delay` seconds later: the phishing
        of RFC 10027 that rotation answers. Stale after its period and GRACE, it is refused."""
        ticket = self.show_qr(login)
        until = login.shown[-1][1]
        self.clock.advance(delay)
        self.run(self.scan_shown(login, ticket, until))

    async def scan_shown(self, login: Login, ticket: str, until: float | None) -> None:
        """Scan `ticket`, a QR shown until `until` (None: shown now)."""
        before = await self.stored(login)
        scanned = await self.scan(login, ticket)
        after = await self.stored(login)
        stale = until is not None and self.clock() >= until + GRACE
        sources = set() if stale else {Status.PENDING}  # a stale ticket is refused
        assert status(after) is expected(before, self.clock(), sources, Status.SCANNED)
        assert (scanned is not None) is wins(before, self.clock(), sources)

    # The callback (the provider's answer) and the phone's decline, on a view read earlier

    def answer(
        self, login: Login, pick: int, target: Status, act: Callable[[LoginSession], Answer]
    ) -> None:
        views = [view for view in login.views if view.status is Status.SCANNED]
        if views:  # else the page saw it was not scanned, and changed nothing
            self.run(self.answer_on(login, views[pick % len(views)], target, act))

    async def answer_on(
        self,
        login: Login,
        view: LoginSession,
        target: Status,
        act: Callable[[LoginSession], Answer],
    ) -> None:
        before = await self.stored(login)
        if before is None:  # the record's TTL ran out while the answer was on its way
            with pytest.raises(SessionNotFound):
                await act(view)
            return
        result = await act(view)
        self.seen(login, result)
        want = expected(before, self.clock(), {Status.SCANNED}, target)
        assert status(await self.stored(login)) is want
        assert result.status is want  # settle: whatever the outcome, the session as it is now

    @rule(login=logins, pick=st.integers(0, 7), who=st.sampled_from([IDENTITY, OTHER]))
    def provider_confirms(self, login: Login, pick: int, who: Identity) -> None:
        self.answer(login, pick, Status.CONFIRMED, lambda view: self.sessions.confirm(view, who))

    @rule(login=logins, pick=st.integers(0, 7), why=st.sampled_from(sorted(REFUSALS)))
    def the_answer_is_no(self, login: Login, pick: int, why: str) -> None:
        target, reason = REFUSALS[why]

        def refuse(view: LoginSession) -> Answer:
            return self.sessions.settle(view, target, reason=reason, message=why)

        self.answer(login, pick, target, refuse)

    # Time

    @rule(seconds=st.one_of(STEPS, LEAPS))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # Two requests at once

    @rule(login=logins, race=st.sampled_from(RACES))
    def two_requests_race(self, login: Login, race: str) -> None:
        self.run(self.race(login, race))

    async def race(self, login: Login, race: str) -> None:
        before = await self.stored(login)
        view = await self.sessions.find(login.id)  # both requests read it before either acts
        if before is None or view is None:
            return
        self.seen(login, view)
        start = len(self.moves.of[login.id])

        async def confirm(who: Identity) -> object:
            return await self.sessions.confirm(view, who) if view.status is Status.SCANNED else None

        async def decline() -> object:
            if view.status is not Status.SCANNED:
                return None
            return await self.sessions.settle(view, Status.DENIED, reason="user_declined")

        if race == "two scans":
            ticket = self.show_qr(login)
            scans = await asyncio.gather(self.scan(login, ticket), self.scan(login, ticket))
            contested = wins(before, self.clock(), {Status.PENDING})
            assert sum(scan is not None for scan in scans) == int(contested)
        elif race == "two resumes":
            responses = await asyncio.gather(self.resume(login), self.resume(login))
            got = [await self.check_resume(login, before, r) for r in responses]
            contested = wins(before, self.clock(), {Status.CONFIRMED})
            assert sum(got) == int(contested)
        elif race == "cancel and confirm":
            await asyncio.gather(self.cancel(login), confirm(IDENTITY))
            contested = wins(before, self.clock(), {Status.PENDING, Status.SCANNED})
        elif race == "decline and confirm":
            await asyncio.gather(decline(), confirm(IDENTITY))
            contested = wins(before, self.clock(), {Status.SCANNED})
        else:
            await asyncio.gather(confirm(IDENTITY), confirm(OTHER))
            contested = wins(before, self.clock(), {Status.SCANNED})
        made = self.moves.of[login.id][start:]
        assert len(made) == int(contested), f"{race} from {before.status}: moved {made}"

    # What must always be true

    @invariant()
    def the_store_follows_the_state_machine(self) -> None:
        self.run(self.check())

    async def check(self) -> None:
        for key, record in (await self.backend.codes()).items():
            self.codes.setdefault(key, record["session_id"])
        for login in self.models:
            history = self.moves.of[login.id]
            for earlier, later in itertools.pairwise(history):
                assert later in TRANSITIONS[earlier], f"{earlier} -> {later}: {history}"
            codes = {key for key, owner in self.codes.items() if owner == login.id} | login.codes
            assert len(codes) <= 1, f"{len(codes)} codes for one login: {history}"
            if codes:
                assert Status.COMPLETED in history
            if BAD & set(history):
                assert Status.COMPLETED not in history and not codes, history
            assert history.count(Status.SCANNED) <= 1

            session = await self.stored(login)
            if session is None:  # only its TTL removes a record
                assert self.clock() >= login.created_at + RELAY.session_ttl + RECORD_GRACE
                continue
            assert session.status is history[-1], f"stored {session.status}, moved {history}"
            if login.final is not None:
                assert session.status is login.final
            elif session.status in FINAL:
                login.final = session.status
            with_identity = {Status.CONFIRMED, Status.COMPLETED}
            assert (session.identity is not None) is (session.status in with_identity), history
            if session.identity is not None:
                login.identity = login.identity or session.identity
                assert session.identity == login.identity  # a replayed answer changes nothing


def on(
    open_backend: Callable[[FakeClock], Coroutine[Any, Any, Backend]], keys: SigningKey
) -> type[LoginMachine]:
    """The machine bound to a backend: hypothesis makes each one without arguments."""

    class Machine(LoginMachine):
        def __init__(self) -> None:
            super().__init__(open_backend, keys)

    return Machine


def test_login_sessions_keep_the_state_machine_on_the_memory_store(
    signing_key: SigningKey,
) -> None:
    run_state_machine_as_test(on(memory_backend, signing_key), settings=SETTINGS)


def test_login_sessions_keep_the_state_machine_on_the_redis_store(
    redis_url: str, signing_key: SigningKey
) -> None:
    """Fewer examples than in memory (a step is a dozen round trips); here the point is the Lua
    compare-and-set, and requests that really interleave: two resumes or two scans both past
    their read when one of them swaps."""
    backend = functools.partial(redis_backend, redis_url)
    run_state_machine_as_test(
        on(backend, signing_key), settings=settings(SETTINGS, max_examples=100)
    )


async def test_a_confirmed_login_that_expires_keeps_no_identity() -> None:
    """The machine's first finding, as a plain test: the phone approved, the desktop never came
    back, the session expired; who signed in does not stay in the store for RECORD_GRACE."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    sessions = LoginSessions(store, MemoryEvents(), ttl=RELAY.session_ttl, clock=clock)
    session = await sessions.start(make_request(), "binding-hash")
    scanned = await sessions.scan(sessions.ticket(session), "phone-hash")
    assert scanned is not None
    await sessions.confirm(scanned, IDENTITY)
    clock.advance(RELAY.session_ttl)
    assert (await sessions.get(session.id)).status is Status.EXPIRED
    record = await store.get(session_key(session.id))
    assert record is not None and record["identity"] is None
