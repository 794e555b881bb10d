"""QR codes: the SVG the page shows decodes, with a real decoder, to the scan URL."""

from __future__ import annotations

import re

import numpy as np
import zxingcpp

from relay.pages.qr import qr_svg


def view_box(svg: str) -> int:
    found = re.search(r'viewBox="0 0 (\d+) \1"', svg)
    assert found, "a square viewBox"
    return int(found.group(1))


def raster(svg: str, scale: int = 6) -> np.ndarray:
    """Paint the SVG's single path (runs of `M x y h n v1 h-n z`) into a grayscale image."""
    size = view_box(svg)
    image = np.full((size, size), 255, dtype=np.uint8)
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", svg):
        image[int(y), int(x) : int(x) + int(run)] = 0
    return np.kron(image, np.ones((scale, scale), dtype=np.uint8))


def test_qr_svg_decodes_to_the_scan_url() -> None:
    url = "https://login.example.com/s/Zq3x9_Kp2LmN8vB4tR6wYa"
    decoded = [result.text for result in zxingcpp.read_barcodes(raster(qr_svg(url)))]
    assert decoded == [url]


def test_qr_svg_is_rendered_once_per_url() -> None:
    url = "https://login.example.com/s/cached-ticket-0000000000"
    assert qr_svg(url) is qr_svg(url)


def test_qr_svg_stays_small_for_a_scan_url() -> None:
    svg = qr_svg("https://login.example.com/s/Zq3x9_Kp2LmN8vB4tR6wYa")
    size = view_box(svg)
    assert size - 8 <= 33  # version 4 or below: large modules, easy to scan
