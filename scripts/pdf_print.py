"""Print the single-page HTML build of the CLASSP book to one PDF with headless Debian Chromium.

Usage (scripts/pdf.sh runs it after the ``--builder singlehtml`` build)::

    python scripts/pdf_print.py _build/singlehtml/classp-book.html _build/pdf/classp-book.pdf

Drives ``/usr/bin/chromium`` (or ``CLASSP_CHROMIUM``) through Playwright; never downloads a browser
and aborts every request that is not a local file, so the PDF is built offline. Before printing it
waits until MathJax has typeset every equation and every image has loaded, and fails (exit 1)
if math is left untypeset or an image is broken.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

CHROMIUM = Path(os.environ.get("CLASSP_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]

WAIT_READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  if (window.MathJax && MathJax.typesetPromise) { await MathJax.typesetPromise(); }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(r => { img.onload = img.onerror = r; })));
  // open folded cells and answers so the print edition shows them
  document.querySelectorAll("details").forEach(d => d.open = true);
  return {
    math: document.querySelectorAll("mjx-container").length,
    raw: [...document.querySelectorAll(".math")].filter(e => !e.querySelector("mjx-container")).length,
    images: document.images.length,
    broken: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
  };
}"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path, help="the singlehtml build's page, at the build root (scripts/pdf.sh copies book/intro.html there)")
    ap.add_argument("pdf", type=Path, help="where to write the PDF")
    args = ap.parse_args(argv)
    if not args.html.is_file():
        print(f"pdf_print: {args.html} not found; build it first (scripts/pdf.sh)", file=sys.stderr)
        return 1
    if not CHROMIUM.exists():
        print(f"pdf_print: {CHROMIUM} is absent: apt-get install -y chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    blocked: list[str] = []
    args.pdf.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        ctx = browser.new_context(viewport={"width": 1000, "height": 1400}, service_workers="block")

        def route(r):
            if r.request.url.startswith(("file:", "data:", "blob:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.set_default_timeout(300_000)
        page.goto(args.html.resolve().as_uri(), wait_until="load")
        state = page.evaluate(WAIT_READY)
        page.emulate_media(media="print")
        page.pdf(path=str(args.pdf), format="A4", print_background=True,
                 margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                 display_header_footer=True, header_template="<span></span>",
                 footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                 '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
        browser.close()
    size = args.pdf.stat().st_size
    print(f"pdf_print: {args.pdf} ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s; "
          f"{state['math']} equations typeset, {state['images']} images, {len(blocked)} network requests blocked")
    if state["raw"] or state["broken"]:
        print(f"pdf_print: {state['raw']} math blocks untypeset, broken images: {state['broken']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
