# Sourced by the Chromium checks: sets $browser to Debian's chromium, or exits 77 (ctest:
# skipped) naming what is missing. python3 (standard library only) reads Chromium's output.
browser=""
for candidate in chromium chromium-browser; do
  if command -v "$candidate" >/dev/null 2>&1; then
    browser=$(command -v "$candidate")
    break
  fi
done
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (Debian: apt-get install chromium; scripts/setup.sh installs it)" >&2
  exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: python3 (standard library) is needed to read Chromium's output" >&2
  exit 77
fi
