"""The probes and the metrics: /healthz, /readyz, /metrics.

/healthz   the process is alive and serving (never touches the store): for restarts
/readyz    the store answers: for load balancers, which send no traffic while it does not
/metrics   Prometheus text format (relay/observability/metrics.py)
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.core import Relay
from relay.errors import StoreUnavailable

NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


async def readyz(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    try:
        ready = await relay.store.ping()
    except StoreUnavailable:  # ping() says False rather than raise; a store that breaks that
        ready = False
    if not ready:
        return JSONResponse(
            {"status": "unavailable", "store": "unreachable"}, status_code=503, headers=NO_STORE
        )
    return JSONResponse({"status": "ready"}, headers=NO_STORE)


async def metrics(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    return Response(relay.metrics.exposition(), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
