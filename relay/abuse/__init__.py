"""Abuse resistance (issue 5): rate limits and size limits, configured by `[limits]`.

    rates.py     the counters: per IP and per client, in memory or in the store's Redis
    waiting.py   which logins a request started, for the limit on waiting logins per IP
    guards.py    the wrappers app.py puts on the limited routes
    sizes.py     the ASGI middleware that refuses over-long query strings and bodies
    answers.py   what a refused request is told: 429, 413, 414, or a websocket's 1013

Everything is on by default, with allowances that an office behind one NAT address fits in.
"""
