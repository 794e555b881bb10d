"""QR rendering cost: the stock qrcode SVG factory against the relay's zxing-cpp matrix and path.

Run: .venv/bin/python bench/bench_qr.py  (figures go to BENCHMARKS.md by hand)
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable

import qrcode
import qrcode.image.svg

from relay.pages.qr import qr_svg

ROUNDS = 300


def per_call_ms(render: Callable[[str], str], urls: list[str]) -> tuple[float, float]:
    samples = []
    for url in urls:
        started = time.perf_counter()
        render(url)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def stock(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage)
    return str(image.to_string(encoding="unicode"))


def main() -> None:
    # A scan ticket is the session id (22 characters) and a 128-bit MAC (22): 44 characters.
    urls = [f"https://login.example.com/s/{secrets.token_urlsafe(33)}" for _ in range(ROUNDS)]
    stock_median, stock_p95 = per_call_ms(stock, urls)
    qr_svg.cache_clear()
    ours_median, ours_p95 = per_call_ms(qr_svg, urls)
    cached_median, cached_p95 = per_call_ms(qr_svg, urls)
    print(f"QR for a {len(urls[0])}-character scan URL, {ROUNDS} distinct URLs")
    rows = (
        ("stock qrcode SvgPathImage (8 mask trials)", stock_median, stock_p95),
        ("relay qr_svg, first render (zxing-cpp)", ours_median, ours_p95),
        ("relay qr_svg, cached", cached_median, cached_p95),
    )
    for label, median, p95 in rows:
        print(f"{label:44} median {median:8.4f} ms  p95 {p95:8.4f} ms")
    print(f"SVG size: stock {len(stock(urls[0]))} bytes, relay {len(qr_svg(urls[0]))} bytes")


if __name__ == "__main__":
    main()
