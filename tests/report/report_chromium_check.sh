#!/usr/bin/env bash
# Renders the example benchmark report with `scextract report` and opens it in headless
# Chromium (Debian's chromium package): the DOM Chromium builds must hold the four figures,
# each an <svg> with a <title> and drawn shapes, and a full-page screenshot must be a real,
# non-blank PNG. Exits 77 (ctest: skipped) when chromium is not installed.
#
#   tests/report/report_chromium_check.sh SCEXTRACT RESULTS.json OUT_DIR
#   tests/report/report_chromium_check.sh SCEXTRACT PAGE.html OUT_DIR "FIG:SHAPE:MIN ..."
#
# The second form checks a page scextract already wrote (e.g. interpret.html) for the given
# figures, each with at least MIN <SHAPE> elements. OUT_DIR keeps report.html, dom.html and
# report.png for a look afterwards.
set -euo pipefail

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
  echo "usage: $0 SCEXTRACT RESULTS.json OUT_DIR | $0 SCEXTRACT PAGE.html OUT_DIR 'FIG:SHAPE:MIN ...'" >&2
  exit 2
fi
scx=$1
results=$2
out=$3
figures=${4:-"fig-pseudotime:circle:100 fig-roc:polyline:4 fig-splits:circle:20 fig-manifold:circle:100"}

source "$(dirname "$0")/find_chromium.sh"

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/report.html" "$out/dom.html" "$out/report.png"
if [[ "$results" == *.html ]]; then
  cp "$results" "$out/report.html"
else
  "$scx" --quiet report --results "$results" --out "$out/report.html"
fi
if [ ! -s "$out/report.html" ]; then
  echo "FAIL: scextract report wrote no $out/report.html" >&2
  exit 1
fi

# Chromium wants a writable HOME and profile; in containers it also needs --no-sandbox and
# must not rely on a small /dev/shm.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check
       --disable-extensions --hide-scrollbars --user-data-dir="$scratch/profile")
url="file://$out/report.html"

timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$out/dom.html" 2>"$scratch/dump.log" || {
  echo "FAIL: chromium --dump-dom failed:" >&2
  tail -20 "$scratch/dump.log" >&2
  exit 1
}
timeout 120 "$browser" "${flags[@]}" --screenshot="$out/report.png" --window-size=1400,3000 "$url" \
  >"$scratch/shot.log" 2>&1 || {
  echo "FAIL: chromium --screenshot failed:" >&2
  tail -20 "$scratch/shot.log" >&2
  exit 1
}

if [ ! -s "$out/report.png" ]; then
  echo "FAIL: chromium wrote no screenshot $out/report.png:" >&2
  tail -20 "$scratch/shot.log" >&2
  exit 1
fi

python3 - "$out/dom.html" "$out/report.png" "$figures" <<'PY'
"""Checks Chromium's DOM of the report and its screenshot (standard library only)."""
import struct
import sys
import zlib
from html.parser import HTMLParser

dom_path, png_path = sys.argv[1], sys.argv[2]
SHAPES = ("circle", "path", "polyline", "line", "rect")
# Shapes each figure must have at least, beyond axes: points, curves, boxes (FIG:SHAPE:MIN).
MINIMUM = {f: (shape, int(least)) for f, shape, least in (spec.split(":") for spec in sys.argv[3].split())}
FIGURES = tuple(MINIMUM)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Figures(HTMLParser):
    """Counts, per figure id, its <svg> elements, their <title>s and the shapes inside."""

    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, figure id or None)
        self.counts = {f: {"svg": 0, "title": 0, **{s: 0 for s in SHAPES}} for f in FIGURES}
        self.scripts = 0

    def current(self):
        for _, fig in reversed(self.stack):
            if fig:
                return fig
        return None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        fig = dict(attrs).get("id") if tag == "figure" else None
        owner = fig if fig in self.counts else self.current()
        if owner and (tag in SHAPES or tag == "svg" or (tag == "title" and any(t == "svg" for t, _ in self.stack))):
            self.counts[owner][tag] += 1
        if tag not in VOID:
            self.stack.append((tag, fig if fig in self.counts else None))

    def handle_startendtag(self, tag, attrs):
        owner = self.current()
        if owner and tag in SHAPES:
            self.counts[owner][tag] += 1

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def check_dom():
    text = open(dom_path, encoding="utf-8").read()
    parser = Figures()
    parser.feed(text)
    problems = []
    if parser.scripts:
        problems.append(f"the DOM has {parser.scripts} <script> element(s)")
    for fig, c in parser.counts.items():
        shape, least = MINIMUM[fig]
        summary = ", ".join(f"{k} {v}" for k, v in c.items())
        print(f"{fig}: {summary}")
        # fig-manifold holds one <svg> per method x colouring (one shown at a time)
        if c["svg"] != 1 and not (fig == "fig-manifold" and c["svg"] > 1):
            problems.append(f"{fig}: expected one <svg>, found {c['svg']}")
        if c["title"] < 1:
            problems.append(f"{fig}: the <svg> has no <title>")
        if c[shape] < least:
            problems.append(f"{fig}: {c[shape]} <{shape}> elements, expected at least {least}")
    return problems


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def png_pixels(path):
    """Width, height and the rows of an 8-bit RGB(A) non-interlaced PNG, unfiltered."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"unexpected PNG layout: depth {depth}, colour type {colour}, interlace {interlace}")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(channels, stride):
                row[i] = (row[i] + row[i - channels]) & 255
        elif kind == 2:
            row = bytearray((a + b) & 255 for a, b in zip(row, prev))
        elif kind == 3:
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                up_left = prev[i - channels] if i >= channels else 0
                row[i] = (row[i] + paeth(left, prev[i], up_left)) & 255
        rows.append(bytes(row))
        prev = row
    return width, height, channels, rows


def check_png():
    import os
    size = os.path.getsize(png_path)
    width, height, channels, rows = png_pixels(png_path)
    colours, inked = set(), 0
    for row in rows[::4]:  # every 4th row and pixel is plenty to tell a blank page from figures
        for x in range(0, width * channels, 4 * channels):
            px = row[x:x + 3]
            colours.add(px)
            inked += px != b"\xff\xff\xff"
    sampled = len(rows[::4]) * len(range(0, width * channels, 4 * channels))
    print(f"screenshot: {width}x{height}, {size} bytes, {len(colours)} distinct colours in the sample, "
          f"{100 * inked / sampled:.1f}% non-white")
    problems = []
    if (width, height) != (1400, 3000):
        problems.append(f"screenshot is {width}x{height}, expected 1400x3000")
    if size < 50_000:
        problems.append(f"screenshot is only {size} bytes")
    if len(colours) < 32:
        problems.append(f"screenshot has only {len(colours)} distinct colours: blank or unstyled")
    if not 0.02 < inked / sampled < 0.9:
        problems.append(f"screenshot is {100 * inked / sampled:.1f}% non-white")
    return problems


problems = check_dom() + check_png()
for p in problems:
    print("FAIL:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "ok: $out/report.png"
