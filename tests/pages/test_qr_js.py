"""static/qr.js, the page's QR encoder: each code it draws decodes, with a real decoder (zxing-cpp),
to its text, in the smallest version that holds it, and its SVG path paints exactly its modules."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp

from relay.pages.qr import qr_svg

QR_JS = Path(__file__).resolve().parents[2] / "static" / "qr.js"
QUIET, SCALE = 4, 4  # modules of white border, pixels per module
# The most bytes each version 1 to 40 holds at level M in byte mode (ISO/IEC 18004 tabulates it).
CAPACITY = [
    14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
    711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911,
    1989, 2099, 2213, 2331,
]  # fmt: skip

# Encode each [text, mask or null] case; print, per case, the rows ("0"/"1") and the SVG path,
# or the error thrown.
ENCODE = """
const { qrJs, quiet, cases } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const qr = require(qrJs);
process.stdout.write(JSON.stringify(cases.map(([text, mask]) => {
  try {
    const modules = qr.encode(text, mask === null ? undefined : mask);
    const rows = modules.map((row) => row.map((dark) => (dark ? "1" : "0")).join(""));
    return { rows, path: qr.svgPath(modules, quiet) };
  } catch (error) {
    return { error: `${error.name}: ${error.message}` };
  }
})));
"""
# Load qr.js as the page does (a classic script: `window`, no `module`) in a context where eval
# and new Function throw, as under a Content-Security-Policy without 'unsafe-eval'.
IN_A_PAGE = """
const vm = require("vm");
const { qrJs, quiet, text } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const window = {};
const context = vm.createContext(
  { window, TextEncoder }, { codeGeneration: { strings: false, wasm: false } });
vm.runInContext(require("fs").readFileSync(qrJs, "utf8"), context);
const evalBlocked = (() => {
  try { vm.runInContext("eval('1')", context); return false; }
  catch (error) { return error.name === "EvalError"; }
})();
process.stdout.write(JSON.stringify({
  evalBlocked,
  keys: Object.keys(window.RelayQR).sort(),
  path: window.RelayQR.svgPath(window.RelayQR.encode(text), quiet),
}));
"""


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node is not on PATH: CI must install Node.js (18+) to test static/qr.js")
        pytest.skip("node is not on PATH: static/qr.js (the login page's QR encoder) is untested")
    return found


def run_node(script: str, payload: object) -> Any:
    done = subprocess.run(
        [node(), "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def encode_cases(cases: Sequence[tuple[str, float | None]]) -> list[dict[str, Any]]:
    """qr.js's output for each (text, mask or None): {"rows", "path"} or {"error"}."""
    return list(run_node(ENCODE, {"qrJs": str(QR_JS), "quiet": QUIET, "cases": cases}))


def encode_all(texts: list[str], mask: float | None = None) -> list[dict[str, Any]]:
    return encode_cases([(text, mask) for text in texts])


def matrix(rows: list[str]) -> np.ndarray:
    cells = np.frombuffer("".join(rows).encode(), dtype=np.uint8)
    grid: np.ndarray = cells.reshape(len(rows), -1) == ord("1")
    return grid


def decode(modules: np.ndarray) -> Any:
    """The one QR code zxing-cpp finds in the symbol, painted with its quiet zone."""
    image = np.pad(np.where(modules, 0, 255).astype(np.uint8), QUIET, constant_values=255)
    image = np.kron(image, np.ones((SCALE, SCALE), dtype=np.uint8))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, "exactly one QR code"
    return found[0]


def decoder_details(found: Any) -> dict[str, Any]:
    """zxing-cpp's symbol details (3.x): Version, DataMask, and UEC, the share of the error
    correction left unused (1.0: not one codeword needed correcting). Empty if none are given."""
    extra = getattr(found, "extra", None)
    return extra if isinstance(extra, dict) else {}


def smallest_version(text: str) -> int:
    size = len(text.encode())
    return next(v for v, most in enumerate(CAPACITY, start=1) if size <= most)


def token(seed: str, length: int = 44) -> str:
    """A URL-safe ticket like secrets.token_urlsafe(33), but the same on every run."""
    digest = hashlib.sha512(seed.encode()).digest() * (length // 64 + 1)
    return base64.urlsafe_b64encode(digest).decode()[:length]


def of_length(seed: str, size: int, alphabet: str | None = None) -> str:
    """A scan-URL-like text of exactly `size` bytes; from `alphabet` alone when given."""
    if alphabet is not None:
        picks = hashlib.sha512(seed.encode()).digest() * (size // 64 + 1)
        return "".join(alphabet[b % len(alphabet)] for b in picks[:size])
    return ("https://login.example.com/s/" + token(seed, size))[:size]


SCAN_URLS = [f"https://login.example.com/s/{token(str(i))}" for i in range(8)] + [
    f"https://relay.example.org/s/{token('digits', 20)}0123456789?next=/account/42",
    "HTTPS://LOGIN.EXAMPLE.COM/S/" + token("upper").upper(),
    f"https://Login.Example.COM:8443/s/{token('port')}?n=1234567890&u=ABC_def-XYZ",
    f"https://login.example.com/s/{token('long', 92)}",  # 120 characters
]
OTHER_TEXTS = [
    "a",
    "Z",
    "7",
    " ",
    "0123456789" * 5,
    "HELLO WORLD 123",
    "é",
    "héllo wörld",
    "naïve café",
    "登录 https://例子.测试/s/abc",
    "🔐 sign in",
    "Привет, мир",
]


def test_qr_js_codes_decode_to_their_text() -> None:
    texts = SCAN_URLS + OTHER_TEXTS
    for text, out in zip(texts, encode_all(texts), strict=True):
        modules = matrix(out["rows"])
        found = decode(modules)
        assert found.text == text
        assert found.ec_level == "M"
        assert len(modules) == 17 + 4 * smallest_version(text)
        details = decoder_details(found)
        assert details.get("UEC", 1.0) == 1.0, f"codewords needed correcting for {text!r}"


def test_qr_js_uses_the_smallest_version_that_fits() -> None:
    """At each version's capacity the code is that version; one byte more, the next. Every
    version 1 to 40 decodes, at its fullest."""
    texts, versions = [], []
    for version, most in enumerate(CAPACITY, start=1):
        texts.append(of_length(f"v{version}", most))
        versions.append(version)
        if version < len(CAPACITY):
            texts.append(of_length(f"v{version}+", most + 1))
            versions.append(version + 1)
    texts += ["é" * 7, "é" * 7 + "a"]  # 14 bytes, version 1; 15 bytes, version 2
    versions += [1, 2]
    for text, version, out in zip(texts, versions, encode_all(texts), strict=True):
        modules = matrix(out["rows"])
        assert modules.shape == (17 + 4 * version, 17 + 4 * version), f"{len(text)} characters"
        assert decode(modules).text == text


def test_qr_js_matches_zxing_cpp_module_for_module() -> None:
    """For byte-mode text (lowercase: no encoder would switch modes) one of the eight masks gives
    zxing-cpp's own symbol exactly: data, terminator and padding (0 to 3 bytes short of full),
    error correction, interleaving, placement, function patterns, format and version
    information, in every version 1 to 40."""
    lowercase = "abcdefghijklmnopqrstuvwxyz"
    texts = [
        of_length(f"zx{v}", most - v % 4, lowercase) for v, most in enumerate(CAPACITY, start=1)
    ]
    outs = iter(encode_cases([(text, mask) for text in texts for mask in range(8)]))
    for version, text in enumerate(texts, start=1):
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
        theirs = np.array(code.to_image(scale=1, add_quiet_zones=False)) == 0
        ours = [matrix(next(outs)["rows"]) for _ in range(8)]
        same = [mask for mask in range(8) if np.array_equal(ours[mask], theirs)]
        assert len(same) == 1, f"version {version}: no mask reproduces zxing-cpp's symbol"


def test_qr_js_every_mask_decodes() -> None:
    texts = [SCAN_URLS[0], SCAN_URLS[-1], "héllo wörld", of_length("v7", CAPACITY[6])]
    cases = [(text, mask) for mask in range(8) for text in texts]
    for (text, mask), out in zip(cases, encode_cases(cases), strict=True):
        found = decode(matrix(out["rows"]))
        assert found.text == text
        details = decoder_details(found)
        assert details.get("DataMask", mask) == mask
        assert details.get("UEC", 1.0) == 1.0


def test_qr_js_svg_path_paints_exactly_the_dark_modules() -> None:
    """Each segment is one run `M{x} {y}h{n}v1h-{n}z`, offset by the quiet zone; the runs cover
    every dark module and no light one, and each is as long as it can be (as the server's)."""
    texts = [*SCAN_URLS[:4], "a", of_length("v10", CAPACITY[9])]
    for out in encode_all(texts):
        modules = matrix(out["rows"])
        assert re.fullmatch(r"(M\d+ \d+h(\d+)v1h-\2z)+", out["path"])
        painted = np.zeros((len(modules) + 2 * QUIET,) * 2, dtype=bool)
        for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", out["path"]):
            left, row, width = int(x), int(y), int(run)
            assert not painted[row, left - 1 : left + width + 1].any(), "runs overlap or touch"
            painted[row, left : left + width] = True
        assert np.array_equal(painted, np.pad(modules, QUIET))


def test_qr_js_draws_the_servers_svg_for_a_scan_url() -> None:
    """Both pick the mask by the standard's penalty rules, so the codes the page draws after
    the first look just like the one the server drew."""
    urls = [f"https://login.example.com/s/{token(f'same{i}', 30).lower()}" for i in range(6)]
    for url, out in zip(urls, encode_all(urls), strict=True):
        found = re.search(r' d="([^"]*)"', qr_svg(url))
        assert found, "the server's SVG has a path"
        assert out["path"] == found.group(1)


def test_qr_js_refuses_what_it_cannot_encode() -> None:
    too_long = [of_length("max", CAPACITY[-1] + 1), "é" * (CAPACITY[-1] // 2 + 1)]
    for out in encode_all(too_long):
        assert out["error"].startswith("Error: QR text too long")
    for out in encode_cases([("a", 8), ("a", -1), ("a", 1.5)]):
        assert out["error"] == "RangeError: QR mask must be an integer from 0 to 7"


def test_qr_js_runs_in_a_page_that_forbids_eval() -> None:
    url = SCAN_URLS[0]
    page = run_node(IN_A_PAGE, {"qrJs": str(QR_JS), "quiet": QUIET, "text": url})
    assert page["evalBlocked"], "the context really forbids eval"
    assert page["keys"] == ["encode", "svgElement", "svgPath"]
    assert page["path"] == encode_all([url])[0]["path"]
