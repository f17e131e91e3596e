#!/usr/bin/env bash
# Renders a benchmark report with `scextract report` and lays it out in headless Chromium
# (Debian's chromium package) at 1,400 px wide: the page must not scroll sideways, every
# table must sit inside a scroll container that fits the page, and the manifold picker
# (radio buttons styled by CSS alone) must show exactly the panel picked for every method x
# colouring. A copy of the page with a measuring script added is what Chromium opens; the
# report itself carries no script. Exits 77 (ctest: skipped) without chromium or python3,
# or when RESULTS.json does not exist (e.g. the bench example has not been run).
#
#   tests/report/report_layout_check.sh SCEXTRACT RESULTS.json OUT_DIR
#   tests/report/report_layout_check.sh SCEXTRACT PAGE.html OUT_DIR expect-overflow
#
# The second form checks the check: PAGE.html (copied, not rendered) must be found to
# overflow, so a probe that measures nothing cannot pass unnoticed.
#
# OUT_DIR keeps report.html, probe.html, layout.json and report-1400.png for a look.
set -euo pipefail

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
  echo "usage: $0 SCEXTRACT RESULTS.json OUT_DIR | $0 SCEXTRACT PAGE.html OUT_DIR expect-overflow" >&2
  exit 2
fi
scx=$1
results=$2
out=$3
expect=${4:-fits}
width=1400

source "$(dirname "$0")/find_chromium.sh"
if [ ! -s "$results" ]; then
  echo "SKIP: $results does not exist (run the bench that writes it first)" >&2
  exit 77
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/report.html" "$out/probe.html" "$out/layout.json" "$out/report-1400.png"
if [[ "$results" == *.html ]]; then
  cp "$results" "$out/report.html"
else
  "$scx" --quiet report --results "$results" --out "$out/report.html"
fi
[ -s "$out/report.html" ] || { echo "FAIL: scextract report wrote no $out/report.html" >&2; exit 1; }

# The measuring script, added before </body> of a copy.
python3 - "$out/report.html" "$out/probe.html" "$width" <<'PY'
import sys
page, probe, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
script = r"""
<script>
(function () {
  const W = %d, res = {width: window.innerWidth, problems: [], tables: 0, scrolling: [], picks: 0};
  function scroller(el) {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return p;
    }
    return null;
  }
  function measure(where) {
    const doc = document.documentElement;
    if (doc.scrollWidth > W) res.problems.push(where + ': page scrollWidth ' + doc.scrollWidth + ' > ' + W);
    document.querySelectorAll('table').forEach(function (t) {
      if (t.getClientRects().length === 0) return; // not displayed (a closed <details>, a hidden panel)
      const box = scroller(t);
      const name = (t.className || 'table') + (t.dataset.method ? '[' + t.dataset.method + '/' + t.dataset.task + ']' : '');
      if (!box) { res.problems.push(where + ': table.' + name + ' has no scroll container'); return; }
      const r = box.getBoundingClientRect();
      if (r.right > W + 0.5) res.problems.push(where + ': container of table.' + name + ' ends at ' + Math.round(r.right));
      if (box.scrollWidth > box.clientWidth + 1 && res.scrolling.indexOf(name) < 0) res.scrolling.push(name);
    });
    document.querySelectorAll('body *').forEach(function (el) {
      if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') return;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= W + 0.5 || scroller(el)) return;
      res.problems.push(where + ': <' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '> ends at ' + Math.round(r.right));
    });
  }
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  res.tables = document.querySelectorAll('table').length;
  measure('page');
  const methods = document.querySelectorAll('input[name=mf-method]');
  const colours = document.querySelectorAll('input[name=mf-colour]');
  methods.forEach(function (m) {
    colours.forEach(function (c) {
      m.checked = true; c.checked = true;
      const want = 'mf-' + m.id.slice(5) + '-' + c.id.slice(5);
      const shown = Array.from(document.querySelectorAll('.mf-panel')).filter(function (p) {
        return getComputedStyle(p).display !== 'none';
      });
      if (shown.length !== 1 || !shown[0].classList.contains(want))
        res.problems.push('picking ' + m.id + ' + ' + c.id + ' shows ' + shown.map(function (p) { return p.className; }).join(', ') +
                          ' instead of ' + want);
      res.picks++;
      measure(want);
    });
  });
  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify(res);
  document.body.appendChild(pre);
})();
</script>
""" % width
html = open(page, encoding="utf-8").read()
if "</body>" not in html:
    sys.exit("FAIL: the report has no </body>")
open(probe, "w", encoding="utf-8").write(html.replace("</body>", script + "</body>", 1))
PY

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check
       --disable-extensions --hide-scrollbars --user-data-dir="$scratch/profile" --window-size=$width,1000)

timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$out/probe.html" >"$scratch/dom.html" 2>"$scratch/dump.log" || {
  echo "FAIL: chromium --dump-dom failed:" >&2
  tail -20 "$scratch/dump.log" >&2
  exit 1
}
timeout 120 "$browser" "${flags[@]/--window-size=$width,1000/--window-size=$width,2400}" \
  --screenshot="$out/report-1400.png" "file://$out/report.html" >"$scratch/shot.log" 2>&1 || true

python3 - "$scratch/dom.html" "$out/layout.json" "$width" "$expect" <<'PY'
import html
import json
import re
import sys
dom, keep, width, expect = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
if not m:
    sys.exit("FAIL: the measuring script left no result (did Chromium run it?)")
res = json.loads(html.unescape(m.group(1)))
open(keep, "w").write(json.dumps(res, indent=1))
print(f"viewport {res['width']} px, {res['tables']} tables, {res['picks']} manifold picks checked; "
      f"tables scrolling inside their container: {', '.join(res['scrolling']) or 'none'}")
problems = list(res["problems"])
if res["width"] != width:
    problems.insert(0, f"viewport is {res['width']} px, expected {width}")
if expect == "expect-overflow":
    found = [p for p in problems if "scrollWidth" in p or "scroll container" in p]
    for p in found[:10]:
        print("found, as expected:", p)
    if not found:
        sys.exit("FAIL: the page was expected to overflow, but the probe found nothing")
    sys.exit(0)
for p in problems[:40]:
    print("FAIL:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
if [ "$expect" = expect-overflow ]; then
  echo "ok: the probe finds the overflow of $results"
else
  echo "ok: no horizontal overflow at ${width} px ($out/layout.json)"
fi
