"""/metrics: sessions, logins, upstream latency, open streams; one registry per app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from relay.observability.metrics import Metrics
from relay.providers.base import Upstream, request_json
from relay.settings import Settings
from tests.flows import Relay
from tests.observability.helpers import sample, scrape


async def test_metrics_prometheus_text_format(relay: Relay) -> None:
    response = await relay.desktop.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert response.headers["cache-control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "relay_sessions_created",
        "relay_sessions_ended",
        "relay_logins_completed",
        "relay_upstream_request_duration_seconds",
        "relay_open_streams",
        "relay_store_errors",
    } <= names
    # Series that exist before anything happened read 0.
    assert sample(response.text, "relay_sessions_created_total", provider="sandbox") == 0
    assert sample(response.text, "relay_open_streams", transport="websocket") == 0
    assert sample(response.text, "relay_open_streams", transport="sse") == 0
    assert sample(response.text, "relay_store_errors_total") == 0


async def test_metrics_whole_login_moves_the_counters(relay: Relay) -> None:
    await relay.login()
    text = await scrape(relay)
    assert sample(text, "relay_sessions_created_total", provider="sandbox") == 1
    assert sample(text, "relay_sessions_ended_total", status="completed", provider="sandbox") == 1
    assert sample(text, "relay_logins_completed_total", provider="sandbox", client="rp") == 1
    for endpoint in ("token", "userinfo"):
        count = "relay_upstream_request_duration_seconds_count"
        assert sample(text, count, provider="sandbox", endpoint=endpoint) == 1
        total = sample(
            text,
            "relay_upstream_request_duration_seconds_sum",
            provider="sandbox",
            endpoint=endpoint,
        )
        assert total is not None and 0 < total < 10


async def test_metrics_session_ended_by_final_status(relay: Relay) -> None:
    declined = await relay.start()
    await relay.scan(declined.scan_url)
    await relay.phone.post(f"/phone/{declined.session_id}/decline")
    cancelled = await relay.start()
    await relay.desktop.post(f"/sessions/{cancelled.session_id}/cancel")

    text = await scrape(relay)
    assert sample(text, "relay_sessions_created_total", provider="sandbox") == 2
    assert sample(text, "relay_sessions_ended_total", status="denied", provider="sandbox") == 1
    assert sample(text, "relay_sessions_ended_total", status="cancelled", provider="sandbox") == 1
    assert (
        sample(text, "relay_sessions_ended_total", status="completed", provider="sandbox") is None
    )
    assert sample(text, "relay_logins_completed_total", provider="sandbox", client="rp") is None


async def test_metrics_label_values_are_never_urls_or_ids(relay: Relay) -> None:
    started = await relay.start()
    await relay.login()
    text = await scrape(relay)
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            for value in found.labels.values():
                assert "/" not in value and "?" not in value and started.session_id not in value


async def test_metrics_registry_per_app(
    settings: Settings, app_factory: Callable[[Settings], Starlette]
) -> None:
    async with (
        Relay(app_factory(settings), settings) as first,
        Relay(app_factory(settings), settings) as second,
    ):
        await first.login()
        first_text, second_text = await scrape(first), await scrape(second)
    created = "relay_sessions_created_total"
    assert sample(first_text, created, provider="sandbox") == 1
    assert sample(second_text, created, provider="sandbox") == 0


async def test_metrics_open_websockets_gauge(served: Relay) -> None:
    started = await served.start()
    socket = await served.live(started.session_id, served.desktop_cookie(started.session_id))
    await socket.recv()  # pending: the handler is running
    assert sample(await scrape(served), "relay_open_streams", transport="websocket") == 1
    await socket.close()
    for _ in range(200):  # the server notices the close on its next read
        if sample(await scrape(served), "relay_open_streams", transport="websocket") == 0:
            break
        await asyncio.sleep(0.01)
    assert sample(await scrape(served), "relay_open_streams", transport="websocket") == 0


def test_metrics_open_stream_counts_while_the_block_runs() -> None:
    metrics = Metrics()
    gauge = metrics.open_streams.labels(transport="sse")
    try:
        with metrics.open_stream("sse"):
            assert gauge._value.get() == 1
            raise RuntimeError("the stream broke")
    except RuntimeError:
        pass
    assert gauge._value.get() == 0


async def test_metrics_upstream_hook_times_labelled_requests_only() -> None:
    metrics = Metrics()

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    transport = httpx.MockTransport(provider)
    async with httpx.AsyncClient(transport=transport, event_hooks=metrics.upstream_hooks()) as http:
        status, body = await request_json(
            http,
            "GET",
            "https://api.weixin.qq.com/sns/userinfo?access_token=SECRET&openid=o",
            upstream=Upstream("wechat", "userinfo"),
        )
        assert (status, body) == (200, {"ok": True})
        await request_json(http, "GET", "https://elsewhere.example/")  # unlabelled: not timed
        assert (await http.get("https://elsewhere.example/")).json() == {"ok": True}

    text = metrics.exposition().decode()
    count = "relay_upstream_request_duration_seconds_count"
    assert sample(text, count, provider="wechat", endpoint="userinfo") == 1
    assert "SECRET" not in text and "weixin" not in text
    assert text.count(f"{count}{{") == 1
