#!/usr/bin/env bash
# check-report.sh: look at the lab report as a person would, in a real browser.
#
#   scripts/check-report.sh [--page FILE.html] [--out DIR] [-- TOUR FLAGS]
#
# Without --page, runs `oslab tour --html DIR/tour.html` first. Then opens the page in headless
# Chromium (installed from the distribution's packages when missing: apt-get install chromium)
# and writes into DIR (default: a new directory under /tmp):
#   first-screen.png  the top of the page at 1280×1000, as a projector shows it
#   page.pdf          the whole page printed, as a student hands it in
#   page-N.png        the first pages of that print, when pdftoppm (poppler-utils) is there
#   dom.html          the page as the browser parsed it
# and prints what it found: sections, inline pictures, any reference to the network (there must
# be none), and the files. Look at the PNGs. Keep this out of `cargo test`: it needs a browser.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

page="" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --page) page=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-report.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
out=${out:-$(mktemp -d /tmp/oslab-report-XXXXXX)}
mkdir -p "$out"

if [ -z "$page" ]; then
  bin=$(oslab_bin_dir)
  page="$out/tour.html"
  echo "check-report.sh: running oslab tour --html $page $*" >&2
  "$bin/oslab" tour --html "$page" "$@" >"$out/tour.txt" || echo "check-report.sh: the tour exited $? (see $out/tour.txt)" >&2
fi
[ -s "$page" ] || { echo "check-report.sh: no page at $page" >&2; exit 1; }

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "check-report.sh: installing chromium (apt-get install -y chromium) ..." >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "check-report.sh: not root: install chromium yourself (sudo apt-get install chromium)" >&2
    exit 1
  fi
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
  browser=$(command -v chromium)
fi

profile=$(mktemp -d /tmp/oslab-chromium-XXXXXX)
trap 'rm -rf "$profile"' EXIT
url="file://$(realpath "$page")"
# The flags a closed network needs: no background connections, no first-run, a fresh profile.
chrome=("$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --hide-scrollbars --user-data-dir="$profile")
"${chrome[@]}" --window-size=1280,1000 --screenshot="$out/first-screen.png" "$url" 2>/dev/null
"${chrome[@]}" --no-pdf-header-footer --print-to-pdf="$out/page.pdf" "$url" 2>/dev/null
"${chrome[@]}" --dump-dom "$url" >"$out/dom.html" 2>/dev/null

count() { { grep -o "$1" "$2" || true; } | wc -l; }
sections=$(count '<section class="demo"' "$out/dom.html")
tables=$(count '<table' "$out/dom.html")
svgs=$(count '<svg' "$out/dom.html")
network=$(grep -Eo '(src|href)="(https?:)?//[^"]*"' "$page" | sort -u || true)
echo "page:      $page ($(wc -c <"$page") bytes)"
echo "browser:   $("$browser" --version 2>/dev/null)"
echo "parsed:    $sections demo sections, $tables tables, $svgs inline pictures, title: $({ grep -o '<title>[^<]*' "$out/dom.html" || true; } | head -1 | sed 's/<title>//')"
if [ -n "$network" ]; then
  echo "network:   the page refers to the network (it must not):"; echo "$network" | sed 's/^/  /'
  status=1
else
  echo "network:   none (no external script, style, font or image)"
  status=0
fi
echo "screen:    $out/first-screen.png"
if command -v pdfinfo >/dev/null; then
  echo "print:     $out/page.pdf ($(pdfinfo "$out/page.pdf" | awk '/^Pages:/ {print $2}') pages)"
else
  echo "print:     $out/page.pdf"
fi
if command -v pdftoppm >/dev/null; then
  rm -f "$out"/page-*.png
  pdftoppm -png -r 60 -f 1 -l 3 "$out/page.pdf" "$out/page"
  echo "pages:     $(ls "$out"/page-*.png | tr '\n' ' ')"
fi
exit $status
