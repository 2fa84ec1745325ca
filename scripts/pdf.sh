#!/usr/bin/env bash
# The print edition of the CLASSP book: one PDF of the whole book, built offline.
#
#   bash scripts/pdf.sh            # -> _build/pdf/classp-book.pdf
#
# 1. scripts/vendor_js.sh: MathJax and the widget manager served from the build (no CDN);
# 2. Jupyter Book's single-page HTML build with that offline config (executes every chapter);
# 3. scripts/pdf_print.py prints it with headless Debian Chromium (/usr/bin/chromium, via
#    Playwright; `apt-get install -y chromium`) after MathJax has finished and every image loaded.
# Jupyter Book's own `--builder pdfhtml` is not used: it needs pyppeteer, which downloads a browser.
# Set SKIP_BUILD=1 to re-print an existing _build/singlehtml. Checked by tests/test_pdf.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$root/.venv/bin/python" ]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
JB="${JB:-$(dirname "$PYTHON")/jupyter-book}"
out="${CLASSP_PDF:-$root/_build/pdf/classp-book.pdf}"
start=$(date +%s)
if [ -z "${SKIP_BUILD:-}" ]; then
  PYTHON="$PYTHON" bash scripts/vendor_js.sh
  PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$JB" build . --builder singlehtml \
    --config book/_vendor/_config_offline.yml -W --keep-going
fi
# Sphinx writes the single page as book/intro.html (the root document) but with links relative to
# the build root (_static/, _images/), so print a copy placed at the root.
cp _build/singlehtml/book/intro.html _build/singlehtml/classp-book.html
"$PYTHON" scripts/pdf_print.py _build/singlehtml/classp-book.html "$out"
echo "pdf.sh: $out in $(( $(date +%s) - start )) s"
