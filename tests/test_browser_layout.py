"""The built book on a phone and in dark mode (issue 13 §3), in Debian's Chromium via Playwright.

* Phones: one page per part of the book (the root page and the first chapter of every part in
  ``_toc.yml``) opened 390 px wide: the document does not scroll sideways, and no element of the
  article sticks out of the viewport except inside a box that scrolls horizontally itself (long
  display equations, tables and code: ``book/_ext/static/classp-access.css``).
* Dark mode: a chapter's figures sit on an opaque white card (their edge pixels are light while the
  page around them is dark), so black axes and labels stay legible.
* Alt text: every figure of those pages has an alt text that is a description, not a file name.

Same launch set-up as tests/test_browser.py: ``/usr/bin/chromium`` (``CLASSP_CHROMIUM``), never a
downloaded browser, every request that is not a local file aborted. Needs the offline build
(fixture ``book_html``). Screenshots go to ``artifacts/screenshots/`` (git-ignored).
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CLASSP_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.book,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} is absent: install Debian's Chromium with `apt-get update && "
                              "apt-get install -y chromium` (the browser tests never download a browser)"),
]


def part_pages() -> list[tuple[str, str]]:
    """(part caption, page) for the root page and the first chapter of every part of ``_toc.yml``."""
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    pages = [("root", toc["root"])]
    for part in toc.get("parts", []):
        pages.append((part.get("caption", "?"), part["chapters"][0]["file"]))
    return pages


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(book_html) -> Path:
    if not (book_html / "_static" / "mathjax").is_dir():
        pytest.fail(f"{book_html} was built without the offline option (no _static/mathjax). Build it with "
                    "`bash scripts/vendor_js.sh && jupyter-book build . --config book/_vendor/_config_offline.yml "
                    "--all -W --keep-going`", pytrace=False)
    if not (book_html / "_static" / "classp-access.css").is_file():
        pytest.fail(f"{book_html} lacks _static/classp-access.css: rebuild the book (book/_ext/classp_access.py "
                    "is in _config.yml's local_extensions)", pytrace=False)
    return book_html


def open_offline(browser, path: Path, **context):
    ctx = browser.new_context(service_workers="block", **context)
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.evaluate("""async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
        await Promise.all([...document.images].map(i => i.complete ? null :
            new Promise(r => { i.onload = i.onerror = r; })));
    }""")
    return ctx, page, blocked


# Visible elements of the page whose right edge passes the viewport and that are not inside a box
# that scrolls (or clips) horizontally. Hidden elements and the theme's off-canvas drawers (a
# `position: fixed` ancestor, e.g. the "On this page" sidebar, which waits off-screen with
# `visibility: hidden` until its button opens it) are not part of the page a reader scrolls.
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  const clips = el => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if ((ox === "auto" || ox === "scroll" || ox === "hidden" || ox === "clip") &&
          a.getBoundingClientRect().right <= vw + 1) return true; } return false; };
  const offCanvas = el => { for (let a = el; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).position === "fixed") return true; } return false; };
  const bad = [];
  for (const el of document.querySelectorAll("main *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    if (getComputedStyle(el).visibility !== "visible" || offCanvas(el)) continue;
    if (!clips(el)) bad.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")} right=${Math.round(r.right)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: vw, bad: bad.slice(0, 10),
          nbad: bad.length, math: document.querySelectorAll("mjx-container[display=true]").length};
}"""


@pytest.mark.parametrize("caption,doc", part_pages(), ids=lambda v: re.sub(r"\W+", "_", str(v)).strip("_"))
def test_nothing_overflows_a_phone_screen(browser, site, caption, doc):
    path = site / f"{doc}.html"
    assert path.is_file(), f"{path} not built"
    ctx, page, blocked = open_offline(browser, path, viewport=PHONE, device_scale_factor=1, is_mobile=True)
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"phone_{Path(doc).name}.png"), full_page=False)
        st = page.evaluate(OVERFLOW)
        assert st["scrollWidth"] <= st["clientWidth"], f"{doc}: the page scrolls sideways on a phone: {st}"
        assert st["nbad"] == 0, f"{doc}: elements wider than the 390-px screen outside a scroll box: {st['bad']}"
        assert blocked == [], blocked
    finally:
        ctx.close()


def test_long_display_equations_scroll_in_their_own_box(browser, site):
    root = yaml_root()
    ctx, page, _ = open_offline(browser, site / f"{root}.html", viewport=PHONE, is_mobile=True)
    try:
        ox = page.evaluate("""() => [...document.querySelectorAll("mjx-container[display=true]")]
                                      .map(m => getComputedStyle(m).overflowX)""")
        assert ox, "no display equation typeset on the root page"
        assert set(ox) == {"auto"}, ox
    finally:
        ctx.close()


def yaml_root() -> str:
    return part_pages()[0][1]


def _first_chapter_with_figures(site: Path) -> Path:
    for _, doc in part_pages()[1:]:
        path = site / f"{doc}.html"
        if path.is_file() and "<img" in path.read_text(encoding="utf-8"):
            return path
    pytest.fail("no part's first chapter has a figure")


def test_figures_are_legible_in_dark_mode(browser, site):
    import matplotlib.image as mpimg
    import numpy as np

    path = _first_chapter_with_figures(site)
    ctx, page, blocked = open_offline(browser, path, viewport={"width": 1280, "height": 900}, color_scheme="dark")
    try:
        page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; document.documentElement.dataset.mode = 'dark'; }")
        page.wait_for_timeout(200)
        body_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        rgb = [int(v) for v in re.findall(r"\d+", body_bg)[:3]]
        assert sum(rgb) / 3 < 80, f"the page is not dark in dark mode: {body_bg}"
        imgs = page.locator(".bd-article .cell_output img, .bd-article img.classp-figure")
        n = imgs.count()
        assert n > 0, f"no figure on {path.name}"
        styles = page.evaluate("""() => [...document.querySelectorAll(".bd-article .cell_output img, .bd-article img.classp-figure")]
                                   .map(i => getComputedStyle(i).backgroundColor)""")
        assert set(styles) == {"rgb(255, 255, 255)"}, styles
        fig = imgs.first
        fig.scroll_into_view_if_needed()
        png = fig.screenshot(path=str(SCREENSHOTS / f"dark_{path.stem}_figure.png"))
        page.screenshot(path=str(SCREENSHOTS / f"dark_{path.stem}.png"))
        # an element at a fractional position is captured with one row or column of the page around it
        px = mpimg.imread(io.BytesIO(png), format="png")[1:-1, 1:-1, :3]
        edge = np.concatenate([px[:3].reshape(-1, 3), px[-3:].reshape(-1, 3), px[:, :3].reshape(-1, 3),
                               px[:, -3:].reshape(-1, 3)])
        assert edge.mean() > 0.9, f"the figure's edge is dark (mean {edge.mean():.2f}): black labels would vanish"
        assert px.min() < 0.3, "the figure shows no dark ink at all"
        assert blocked == [], blocked
    finally:
        ctx.close()


@pytest.mark.parametrize("caption,doc", part_pages()[1:], ids=lambda v: re.sub(r"\W+", "_", str(v)).strip("_"))
def test_every_figure_has_a_real_alt_text(browser, site, caption, doc):
    path = site / f"{doc}.html"
    ctx, page, _ = open_offline(browser, path, viewport={"width": 1280, "height": 900})
    try:
        alts = page.evaluate("""() => [...document.querySelectorAll(".bd-article img")]
                                 .filter(i => !i.closest(".bd-header, .navbar-brand"))
                                 .map(i => i.getAttribute("alt") || "")""")
        bad = [a for a in alts if len(a) < 20 or re.search(r"\.(png|jpe?g|svg)$|^_images/|^data:", a)]
        assert not bad, f"{doc}: {len(bad)} of {len(alts)} images have no real alt text: {bad[:5]}"
    finally:
        ctx.close()


def test_the_overflow_check_sees_a_wide_element_and_ignores_hidden_drawers(browser, site):
    """The phone check itself: a 600-px box in the article is reported; an off-canvas drawer is not."""
    ctx, page, _ = open_offline(browser, site / f"{yaml_root()}.html", viewport=PHONE, is_mobile=True)
    try:
        page.evaluate("""() => {
            const drawer = document.createElement("div");
            drawer.style.cssText = "position: fixed; left: 390px; width: 300px; visibility: hidden";
            drawer.innerHTML = "<p class='probe-hidden'>a drawer waiting off-screen</p>";
            document.querySelector("main").appendChild(drawer);
        }""")
        assert page.evaluate(OVERFLOW)["nbad"] == 0
        page.evaluate("""() => { const wide = document.createElement("div");
            wide.className = "probe-wide"; wide.style.width = "600px"; wide.textContent = "too wide";
            document.querySelector("main article").appendChild(wide); }""")
        st = page.evaluate(OVERFLOW)
        assert any(b.startswith("div.probe-wide") for b in st["bad"]), st
    finally:
        ctx.close()
