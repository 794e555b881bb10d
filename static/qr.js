// A small QR Code encoder (ISO/IEC 18004:2015) for the login page: the server pushes only the
// scan URL every qr_rotate seconds and the page draws the code, the same SVG path that
// relay/pages/qr.py draws for the first one. Byte mode (the UTF-8 bytes; no ECI header, readers
// recognise UTF-8), error correction level M, the smallest of versions 1 to 40 that fits, and
// the mask chosen by the standard's penalty rules: all eight are scored, the lowest wins.
// Plain ES2017, no dependencies, no eval: fine under `default-src 'self'`.
//
//   RelayQR.encode(text[, mask]) -> rows of modules, true = dark, no quiet zone
//   RelayQR.svgPath(modules[, quiet = 4]) -> a <path d> with one `M x y h n v1 h-n z` per dark run
//   RelayQR.svgElement(document, modules[, quiet = 4]) -> the <svg class="qr"> the pages show,
//     white square and that path, built with DOM calls (no markup from the wire)
(function () {
  "use strict";

  // Level M, versions 1 to 40 (the standard's error correction characteristics table): error
  // correction codewords per block, and number of blocks.
  const EC_PER_BLOCK = [
    10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  ];
  const BLOCKS = [
    1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
  ];
  const MAX_VERSION = 40;
  const FORMAT_M = 0b00; // level M's two bits in the format information (L 01, M 00, Q 11, H 10)

  // GF(256) with the standard's primitive polynomial x^8 + x^4 + x^3 + x^2 + 1:
  // EXP[i] = α^i, LOG[α^i] = i, EXP doubled so that EXP[LOG[a] + LOG[b]] needs no modulo.
  const EXP = new Uint8Array(510);
  const LOG = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) {
    EXP[i] = EXP[i + 255] = x;
    LOG[x] = i;
    x = x & 0x80 ? ((x << 1) ^ 0x11d) & 0xff : x << 1;
  }
  const mul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

  // The generator polynomial (x - α^0)(x - α^1)...(x - α^(n-1)), highest power first.
  function generator(n) {
    let poly = [1];
    for (let i = 0; i < n; i++) {
      const next = poly.concat(0);
      for (let j = 0; j < poly.length; j++) next[j + 1] ^= mul(poly[j], EXP[i]);
      poly = next;
    }
    return poly;
  }

  // The error correction codewords of one block: the remainder of data(x)·x^n divided by the
  // generator, worked out as a shift register (polynomial long division).
  function errorCorrection(data, n) {
    const gen = generator(n);
    const rem = new Array(n).fill(0);
    for (const byte of data) {
      const factor = byte ^ rem.shift();
      rem.push(0);
      for (let j = 0; j < n; j++) rem[j] ^= mul(gen[j + 1], factor);
    }
    return rem;
  }

  // The remainder of `value`·x^(degree of poly) divided by `poly` over GF(2): the BCH check
  // bits of the format and version information.
  function bchRemainder(value, poly) {
    const degree = Math.floor(Math.log2(poly));
    let rem = value << degree;
    for (let bit = Math.floor(Math.log2(rem)); bit >= degree; bit--) {
      if (rem & (1 << bit)) rem ^= poly << (bit - degree);
    }
    return rem;
  }

  // Centres of the alignment patterns along each axis (the standard tabulates them): the first
  // on row/column 6, the last 7 modules from the far edge, the others spaced back from it by an
  // even step (26 for version 32, the one exception to the rounding).
  function alignmentCentres(version) {
    if (version === 1) return [];
    const count = Math.floor(version / 7) + 2;
    const size = version * 4 + 17;
    const step = version === 32 ? 26 : Math.ceil((size - 13) / (2 * count - 2)) * 2;
    const centres = [6];
    for (let pos = size - 7; centres.length < count; pos -= step) centres.splice(1, 0, pos);
    return centres;
  }

  // The symbol with its function patterns drawn: `dark` the colours, `fixed` the modules
  // that carry no data (function patterns and the reserved format and version areas).
  function functionPatterns(version) {
    const size = version * 4 + 17;
    const dark = Array.from({ length: size }, () => new Array(size).fill(false));
    const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
    const set = (row, col, isDark) => {
      dark[row][col] = isDark;
      fixed[row][col] = true;
    };
    // Timing patterns on row 6 and column 6, alternating and dark at both ends.
    for (let i = 0; i < size; i++) {
      set(6, i, i % 2 === 0);
      set(i, 6, i % 2 === 0);
    }
    // Finder patterns (7x7: ring, gap, 3x3 core) with their light separators.
    for (const [top, left] of [[0, 0], [0, size - 7], [size - 7, 0]]) {
      for (let dy = -1; dy <= 7; dy++) {
        for (let dx = -1; dx <= 7; dx++) {
          const row = top + dy;
          const col = left + dx;
          if (row < 0 || row >= size || col < 0 || col >= size) continue;
          const ring = Math.max(Math.abs(dy - 3), Math.abs(dx - 3));
          set(row, col, ring !== 2 && ring !== 4);
        }
      }
    }
    // Alignment patterns (5x5: dark ring, light ring, dark centre), except where a finder is.
    const centres = alignmentCentres(version);
    const last = centres.length - 1;
    centres.forEach((cy, i) => centres.forEach((cx, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          set(cy + dy, cx + dx, Math.max(Math.abs(dy), Math.abs(dx)) !== 1);
        }
      }
    }));
    // Reserve the format information areas (written once the mask is known) and the dark module.
    for (let i = 0; i < 9; i++) {
      if (i !== 6) {
        set(8, i, false);
        set(i, 8, false);
      }
    }
    for (let i = 0; i < 8; i++) {
      set(8, size - 1 - i, false);
      set(size - 1 - i, 8, false);
    }
    set(size - 8, 8, true); // the dark module, always dark
    // Version information from version 7: 18 bits (6 of version, 12 of BCH(18,6), generator
    // 0x1F25) in two 6x3 blocks beside the top-right and bottom-left finders.
    if (version >= 7) {
      const bits = (version << 12) | bchRemainder(version, 0x1f25);
      for (let i = 0; i < 18; i++) {
        const isDark = ((bits >> i) & 1) === 1;
        const a = Math.floor(i / 3);
        const b = size - 11 + (i % 3);
        set(a, b, isDark);
        set(b, a, isDark);
      }
    }
    return { size, dark, fixed };
  }

  // The codewords a version holds, in all and for data: one per 8 modules that no function
  // pattern or reserved area takes (the remainder bits stay light), less the error correction.
  // Counted once per version from the drawn symbol.
  const CODEWORDS = [];
  function codewords(version) {
    if (!CODEWORDS[version]) {
      let free = 0;
      for (const row of functionPatterns(version).fixed) free += row.filter((f) => !f).length;
      const total = Math.floor(free / 8);
      CODEWORDS[version] = { total, data: total - EC_PER_BLOCK[version - 1] * BLOCKS[version - 1] };
    }
    return CODEWORDS[version];
  }

  // The data codewords: mode indicator 0100 (byte), character count (8 bits up to
  // version 9, 16 after), the bytes, a terminator of up to four zero bits, zeros to the byte
  // boundary, then the pad codewords 11101100 and 00010001 in turn.
  function dataCodewords(bytes, version, capacity) {
    const bits = [];
    const put = (value, length) => {
      for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
    };
    put(0b0100, 4);
    put(bytes.length, version < 10 ? 8 : 16);
    for (const byte of bytes) put(byte, 8);
    put(0, Math.min(4, capacity * 8 - bits.length));
    put(0, (8 - (bits.length % 8)) % 8);
    const codewords = [];
    for (let i = 0; i < bits.length; i += 8) {
      codewords.push(bits.slice(i, i + 8).reduce((byte, bit) => (byte << 1) | bit, 0));
    }
    for (let pad = 0xec; codewords.length < capacity; pad ^= 0xec ^ 0x11) codewords.push(pad);
    return codewords;
  }

  // Split the data into blocks (the shorter ones first), add each block's error
  // correction, and interleave: codeword i of every block in turn, data first, then EC.
  function interleave(data, version, total) {
    const blocks = BLOCKS[version - 1];
    const ecLength = EC_PER_BLOCK[version - 1];
    const shortBlocks = blocks - (total % blocks);
    const shortData = Math.floor(total / blocks) - ecLength;
    const dataBlocks = [];
    const ecBlocks = [];
    for (let b = 0, start = 0; b < blocks; b++) {
      const block = data.slice(start, (start += shortData + (b < shortBlocks ? 0 : 1)));
      dataBlocks.push(block);
      ecBlocks.push(errorCorrection(block, ecLength));
    }
    const out = [];
    for (let i = 0; i <= shortData; i++) {
      for (const block of dataBlocks) if (i < block.length) out.push(block[i]);
    }
    for (let i = 0; i < ecLength; i++) for (const block of ecBlocks) out.push(block[i]);
    return out;
  }

  // Place the codewords, most significant bit first, in two-module columns from the bottom
  // right, upwards then downwards in turn, skipping column 6 and the function patterns.
  function placeCodewords(symbol, codewords) {
    const { size, dark, fixed } = symbol;
    let index = 0;
    let upward = true;
    for (let right = size - 1; right > 0; right -= 2) {
      if (right === 6) right = 5; // the vertical timing pattern
      for (let step = 0; step < size; step++) {
        const row = upward ? size - 1 - step : step;
        for (const col of [right, right - 1]) {
          if (fixed[row][col]) continue;
          const byte = codewords[index >> 3];
          dark[row][col] = byte !== undefined && ((byte >> (7 - (index & 7))) & 1) === 1;
          index++;
        }
      }
      upward = !upward;
    }
  }

  // The eight data mask conditions (i row, j column): a data module is inverted where it holds.
  const MASKS = [
    (i, j) => (i + j) % 2 === 0,
    (i) => i % 2 === 0,
    (i, j) => j % 3 === 0,
    (i, j) => (i + j) % 3 === 0,
    (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
    (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
    (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
    (i, j) => (((i + j) % 2) + ((i * j) % 3)) % 2 === 0,
  ];

  // The symbol with mask `mask` applied to its data modules and its format information written:
  // EC level and mask (5 bits), BCH(15,5) with generator 0x537, XOR 0x5412.
  function masked(symbol, mask) {
    const { size, fixed } = symbol;
    const flip = MASKS[mask];
    const dark = symbol.dark.map((row, i) => row.map((d, j) => d !== (!fixed[i][j] && flip(i, j))));
    const data = (FORMAT_M << 3) | mask;
    const bits = ((data << 10) | bchRemainder(data, 0x537)) ^ 0x5412;
    const bit = (i) => ((bits >> i) & 1) === 1;
    // Copy one, around the top-left finder: bits 0-7 down column 8 from the top (skipping the
    // timing row), bits 8-14 on leftwards along row 8 (skipping the timing column).
    for (let i = 0; i < 6; i++) dark[i][8] = bit(i);
    dark[7][8] = bit(6);
    dark[8][8] = bit(7);
    dark[8][7] = bit(8);
    for (let i = 9; i < 15; i++) dark[8][14 - i] = bit(i);
    // Copy two: bits 0-7 leftwards from the right end of row 8, bits 8-14 down column 8 to the
    // bottom, below the dark module.
    for (let i = 0; i < 8; i++) dark[8][size - 1 - i] = bit(i);
    for (let i = 8; i < 15; i++) dark[size - 15 + i][8] = bit(i);
    return dark;
  }

  // The penalty score of a masked symbol, by the standard's four rules: N1 = 3 (+1 per module
  // beyond five) for each run of five or more same-coloured modules in a row or column; N2 = 3
  // for each 2x2 same-coloured block; N3 = 40 for each 1:1:3:1:1 finder-like pattern with four
  // light modules on either side (beyond the edge counts as light: the quiet zone); N4 = 10 per
  // full 5% the dark share strays from 50%.
  function penalty(dark) {
    const size = dark.length;
    const lines = [];
    for (let i = 0; i < size; i++) lines.push(dark[i], dark.map((row) => row[i]));
    let score = 0;
    const finderLike = [true, false, true, true, true, false, true];
    for (const line of lines) {
      for (let start = 0, j = 1; j <= size; j++) {
        if (j === size || line[j] !== line[start]) {
          if (j - start >= 5) score += 3 + (j - start - 5);
          start = j;
        }
      }
      const light = (from) => [0, 1, 2, 3].every((k) => !line[from + k]); // undefined = light
      for (let j = 0; j + 7 <= size; j++) {
        const finder = finderLike.every((d, k) => line[j + k] === d);
        if (finder && (light(j - 4) || light(j + 7))) score += 40;
      }
    }
    let darkCount = 0;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        darkCount += dark[i][j] ? 1 : 0;
        if (i + 1 < size && j + 1 < size) {
          const d = dark[i][j];
          if (dark[i][j + 1] === d && dark[i + 1][j] === d && dark[i + 1][j + 1] === d) score += 3;
        }
      }
    }
    return score + 10 * Math.floor(Math.abs(darkCount * 20 - size * size * 10) / (size * size));
  }

  // The QR code for `text` (UTF-8, byte mode, level M) in the smallest version that fits, with
  // the mask of lowest penalty, or `mask` (0 to 7) when given.
  function encode(text, mask) {
    if (mask !== undefined && !(Number.isInteger(mask) && mask >= 0 && mask < 8)) {
      throw new RangeError("QR mask must be an integer from 0 to 7");
    }
    const bytes = new TextEncoder().encode(String(text));
    const fits = (v) => 4 + (v < 10 ? 8 : 16) + 8 * bytes.length <= 8 * codewords(v).data;
    let version = 1;
    while (version <= MAX_VERSION && !fits(version)) version++;
    if (version > MAX_VERSION) {
      throw new Error(`QR text too long: ${bytes.length} bytes (level M holds 2331 at most)`);
    }
    const symbol = functionPatterns(version);
    const { total, data } = codewords(version);
    placeCodewords(symbol, interleave(dataCodewords(bytes, version, data), version, total));
    if (mask !== undefined) return masked(symbol, mask);
    let best = null;
    let bestScore = Infinity;
    for (let m = 0; m < 8; m++) {
      const candidate = masked(symbol, m);
      const score = penalty(candidate);
      if (score < bestScore) [best, bestScore] = [candidate, score]; // the first wins a tie
    }
    return best;
  }

  // The dark modules as one SVG path: per row, each run of n dark modules starting at column x
  // becomes `M{x+quiet} {y+quiet}h{n}v1h-{n}z`, as relay/pages/qr.py writes it.
  function svgPath(modules, quiet = 4) {
    const parts = [];
    modules.forEach((row, y) => {
      for (let x = 0; x < row.length; x++) {
        if (!row[x]) continue;
        let n = 1;
        while (x + n < row.length && row[x + n]) n++;
        parts.push(`M${x + quiet} ${y + quiet}h${n}v1h-${n}z`);
        x += n;
      }
    });
    return parts.join("");
  }

  const SVG = "http://www.w3.org/2000/svg";

  // The <svg> relay/pages/qr.py writes for the first code: a white square with the quiet zone,
  // the dark modules as one path, hidden from assistive technology (its frame carries the text).
  function svgElement(doc, modules, quiet = 4) {
    const size = modules.length + 2 * quiet;
    const svg = doc.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + size + " " + size);
    svg.setAttribute("shape-rendering", "crispEdges");
    svg.setAttribute("class", "qr");
    svg.setAttribute("aria-hidden", "true");
    const rect = doc.createElementNS(SVG, "rect");
    rect.setAttribute("width", size);
    rect.setAttribute("height", size);
    rect.setAttribute("fill", "#fff");
    const path = doc.createElementNS(SVG, "path");
    path.setAttribute("fill", "#000");
    path.setAttribute("d", svgPath(modules, quiet));
    svg.appendChild(rect);
    svg.appendChild(path);
    return svg;
  }

  const api = { encode, svgPath, svgElement };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (typeof window !== "undefined") window.RelayQR = api;
})();
