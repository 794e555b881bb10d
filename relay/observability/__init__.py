"""What an operator sees of a running relay: metrics, logs, and the probes.

    context.py    the request id and the session id of the log lines (contextvars)
    logs.py       the JSON log formatter (one object per line) and the human one for the demo
    access.py     the ASGI middleware: request id in and out, one access line per request
    metrics.py    Prometheus metrics, one registry per app; the sessions' observer
    endpoints.py  /healthz, /readyz, /metrics

The core (sessions, store, events) knows nothing of this package: it tells an optional observer
what happened (`relay.sessions.service.SessionObserver`), and the metrics implement it.
"""
