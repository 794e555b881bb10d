"""QR codes as inline SVG, rendered once per scan URL and cached.

The stock `qrcode` SVG factory tries all eight masks and builds an XML tree (bench/bench_qr.py
measures it); a fixed mask and a single hand-assembled <path> over the module matrix is several
times cheaper. Any of the eight masks gives a valid code (ISO/IEC 18004 §7.8); the trial only
picks the one with the lowest penalty score, which matters little for a short URL shown large.
"""

from __future__ import annotations

from functools import lru_cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules of white border, as the standard asks


def matrix(data: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=2)
    code.add_data(data)
    code.make(fit=True)
    rows: list[list[bool]] = code.get_matrix()
    return rows


@lru_cache(maxsize=2048)
def qr_svg(data: str) -> str:
    """An SVG of the QR code for `data`: one path, one run of dark modules per segment."""
    rows = matrix(data)
    size = len(rows) + 2 * QUIET_ZONE
    segments = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                segments.append(
                    f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h-{x - start}z"
                )
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" class="qr" aria-hidden="true">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(segments)}"/></svg>'
    )
