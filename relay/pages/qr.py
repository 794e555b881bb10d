"""QR codes as inline SVG, rendered once per scan URL and cached.

The modules come from zxing-cpp's encoder (C++; error correction level M, the mask chosen by the
standard's penalty rules), several times quicker than the pure-Python `qrcode` package, which
matters since the QR rotates: every `qr_rotate` seconds each waiting login's live stream renders
a new code (bench/bench_qr.py). The SVG is a single hand-assembled <path>, one run of dark modules
per segment, with the quiet zone the standard asks for.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

import zxingcpp

QUIET_ZONE = 4  # modules of white border, as the standard asks
DARK, LIGHT = b"\x00", b"\xff"  # zxing-cpp's image: one byte per module


def dark_runs(data: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The code's size in modules, and its dark runs as (row, first column, length)."""
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    pixels = bytes(cast(bytes, image))  # row by row
    runs = []
    for y in range(height):
        row = pixels[y * width : (y + 1) * width]
        start = row.find(DARK)
        while start != -1:
            end = row.find(LIGHT, start)
            end = width if end == -1 else end
            runs.append((y, start, end - start))
            start = row.find(DARK, end)
    return width, runs


@lru_cache(maxsize=2048)
def qr_svg(data: str) -> str:
    """An SVG of the QR code for `data`: one path, one run of dark modules per segment."""
    modules, runs = dark_runs(data)
    size = modules + 2 * QUIET_ZONE
    path = "".join(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{n}v1h-{n}z" for y, x, n in runs)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" class="qr" aria-hidden="true">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )
