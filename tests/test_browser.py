"""The book in a real browser: Debian's Chromium, headless, driven by Playwright for Python.

Every page is opened from ``file://`` with every request that leaves the disk aborted (and
recorded), so these tests also prove that the site works with the network off.

* A standalone kernel-free slider page (made here, needs no book build): moving a slider with the
  keyboard shows exactly the precomputed frame and numbers of the new grid point.
* The built book (fixture ``book_html`` of tests/conftest.py: ``CLASSP_BOOK_HTML``, default
  ``_build/html``), which must be the offline build (``scripts/vendor_js.sh``, then
  ``--config book/_vendor/_config_offline.yml``):
  - the lab chapter: the kernel-free slider changes the figure and the printed numbers; the
    kernel-free lab draws (tests/test_browser_lab.py moves all its controls); math is typeset by
    MathJax; every image loads;
  - every notebook page has its Colab and Binder launch buttons.

Screenshots of the tested pages go to ``artifacts/screenshots/`` (git-ignored).  Never downloads a
browser: the tests use ``/usr/bin/chromium`` (``apt-get install -y chromium``) and are skipped,
with that reason, only when it is absent.
"""
from __future__ import annotations

import base64
import itertools
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CLASSP_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
LAB_PAGE = "book/12_lab.html"
SLIDERS_PAGE = "book/appendix/kernel_free_sliders.html"  # the example slider (was chapter 12 §5)

# Page errors that are not ours and do no harm: Jupyter Book 1.0.4's theme writes sphinx-thebe's
# inline configuration script (``const THEBE_JS_URL = ...``) twice into every page, and the second
# copy fails to redeclare the constant.
KNOWN_PAGE_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

pytestmark = [
    pytest.mark.book,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} is absent: install Debian's Chromium with `apt-get update && "
                              "apt-get install -y chromium` (the browser tests never download a browser)"),
]


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


class OfflinePage:
    """A page whose requests other than file:// and data: are aborted and recorded."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: Path):
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        return self.page

    def close(self):
        self.context.close()

    @property
    def our_errors(self) -> list[str]:
        """Uncaught JavaScript errors, without the known harmless ones."""
        return [e for e in self.errors if e not in KNOWN_PAGE_ERRORS]


@pytest.fixture
def offline(browser):
    pages = []

    def make():
        p = OfflinePage(browser)
        pages.append(p)
        return p

    yield make
    for p in pages:
        p.close()


@pytest.fixture(scope="module")
def site(book_html) -> Path:
    """The built book's HTML folder (tests/conftest.py: ``CLASSP_BOOK_HTML``, default
    ``<repo>/_build/html``), which must be the offline build."""
    if not (book_html / "_static" / "mathjax").is_dir():
        pytest.fail(f"{book_html} was built without the offline option (no _static/mathjax), so math and "
                    "widgets would need a CDN. Build it with `bash scripts/vendor_js.sh && jupyter-book build . "
                    "--config book/_vendor/_config_offline.yml --all -W --keep-going` (or set "
                    "CLASSP_BOOK_CONFIG=book/_vendor/_config_offline.yml CLASSP_BUILD_BOOK=1)", pytrace=False)
    return book_html


def shot(target, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    target.screenshot(path=str(path))
    return path


def slider_state(page, root: str) -> dict:
    return page.evaluate(
        """(root) => {
            const r = document.querySelector(root);
            const img = r.querySelector("img");
            return {frame: r.getAttribute("data-frame"), src: img.getAttribute("src"), alt: img.alt,
                    loaded: img.complete && img.naturalWidth > 0,
                    values: [...r.querySelectorAll("input[type=range] + output")].map(o => o.textContent),
                    numbers: [...r.querySelectorAll("table output")].map(o => o.textContent)};
        }""", root)


# ------------------------------------------------------------------------------------------ standalone
def test_standalone_slider_shows_the_precomputed_frame(tmp_path, offline):
    from matplotlib.figure import Figure

    from classp.viz.kernel_free import KernelFreeSlider

    params = {"τ": [0.0, 1e-6, 1e-4], "p": [1, 2]}

    def frame(tau, p):
        fig = Figure(figsize=(3, 1.5))
        ax = fig.add_subplot()
        ax.bar([0], [p + tau * 1e4], color="C0" if p == 1 else "C3")
        ax.set_ylim(0, 3)
        ax.set_title(f"τ = {tau:g}, p = {p}")
        return fig, {"sum": tau * 1e4 + p, "label": f"frame {tau:g}/{p}"}

    s = KernelFreeSlider.from_function(frame, params, title="Standalone test slider", number_format=".2f",
                                       alt="Bar for {values}")
    expected = {key: ("data:image/png;base64," + base64.b64encode(png).decode(), s.number_text[k], s.alts[k])
                for k, (key, png) in enumerate(zip(s.keys, s.pngs))}
    path = tmp_path / "slider.html"
    s.save(path)
    op = offline()
    page = op.open(path)
    root = ".classp-slider"
    st = slider_state(page, root)
    assert st["frame"] == "0" and st["values"] == ["0", "1"] and st["loaded"]
    assert (st["src"], st["numbers"], st["alt"]) == expected[(0.0, 1)]
    shot(page.locator(root), "standalone_slider_before.png")
    seen = {st["src"]}
    # walk the whole grid with the keyboard, as a reader would
    taus, ps = page.locator(f"{root} input[type=range]").all()
    for i, j in itertools.product(range(3), range(2)):
        taus.focus()
        page.keyboard.press("Home")
        for _ in range(i):
            page.keyboard.press("ArrowRight")
        ps.focus()
        page.keyboard.press("Home")
        for _ in range(j):
            page.keyboard.press("ArrowRight")
        key = (params["τ"][i], params["p"][j])
        st = slider_state(page, root)
        assert st["frame"] == str(2 * i + j)
        assert (st["src"], st["numbers"], st["alt"]) == expected[key], key
        assert st["values"] == [s.value_labels[0][i], s.value_labels[1][j]]
        assert st["loaded"]
        assert taus.get_attribute("aria-valuetext") == s.value_labels[0][i]
        seen.add(st["src"])
    assert len(seen) == 6
    shot(page.locator(root), "standalone_slider_after.png")
    assert op.blocked == [] and op.errors == []


def test_slider_works_when_inserted_like_jupyterlab_does(tmp_path, offline):
    """JupyterLab sets an output's innerHTML on a detached node, re-creates its <script> elements
    and attaches the node later; the slider must still find its elements."""
    from classp.viz.kernel_free import KernelFreeSlider

    s = KernelFreeSlider({1: (_png(0.2), {"n": "one"}), 2: (_png(0.6), {"n": "two"})}, {"k": [1, 2]})
    fragment = s.html()
    (tmp_path / "empty.html").write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    op = offline()
    page = op.open(tmp_path / "empty.html")
    page.evaluate(
        """(html) => {
            const host = document.createElement("div");
            host.innerHTML = html;                       // scripts set via innerHTML do not run
            for (const old of host.querySelectorAll("script")) {
                const s = document.createElement("script");
                s.textContent = old.textContent;
                old.parentNode.replaceChild(s, old);     // runs once the node is connected
            }
            document.body.appendChild(host);
        }""", fragment)
    root = ".classp-slider"
    assert slider_state(page, root)["numbers"] == ["one"]
    page.locator(f"{root} input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    st = slider_state(page, root)
    assert st["numbers"] == ["two"] and st["values"] == ["2"] and st["frame"] == "1"
    assert base64.b64decode(st["src"].split(",", 1)[1]) == s.pngs[1]
    assert op.our_errors == [] and op.blocked == []


def _png(grey: float) -> bytes:
    from matplotlib.figure import Figure

    from classp.viz.kernel_free import figure_to_png

    fig = Figure(figsize=(1, 1))
    fig.patch.set_facecolor(str(grey))
    return figure_to_png(fig, dpi=20)


# ------------------------------------------------------------------------------------------ the book
def test_lab_page_slider_changes_figure_and_numbers_offline(site, offline):
    op = offline()
    page = op.open(site / LAB_PAGE)
    sliders = page.locator(".classp-slider")
    assert sliders.count() >= 1, "the lab chapter shows the τ x p slider"
    root = "#" + sliders.first.get_attribute("id")
    grid = page.locator(root)
    grid.scroll_into_view_if_needed()
    before = slider_state(page, root)
    assert before["loaded"] and before["values"] == ["1e-06", "1"]
    assert len(before["numbers"]) == 4
    shot(grid, "lab_slider_before.png")
    png_before = grid.locator("img").screenshot()
    tau = grid.locator("input[type=range]").first
    tau.focus()
    page.keyboard.press("ArrowRight")  # τ: 1e-06 -> 1e-05
    after = slider_state(page, root)
    assert after["values"] == ["1e-05", "1"]
    assert after["src"] != before["src"] and after["loaded"]
    assert "τ = 1e-05" in after["alt"] and "τ = 1e-06" in before["alt"]
    assert after["numbers"] != before["numbers"]
    # the mean density (first number) falls when τ rises
    assert float(after["numbers"][0]) < float(before["numbers"][0])
    assert grid.locator("img").screenshot() != png_before, "the figure on screen changed"
    shot(grid, "lab_slider_after.png")
    # another slider on the page (if any) is independent of the first
    for k in range(1, sliders.count()):
        other = "#" + sliders.nth(k).get_attribute("id")
        assert slider_state(page, other)["frame"] == page.locator(other).get_attribute("data-frame")
    assert op.blocked == [], f"the page requested external URLs: {op.blocked}"
    assert op.our_errors == [], op.our_errors


def test_lab_page_math_lab_and_images_render_offline(site, offline):
    op = offline()
    page = op.open(site / LAB_PAGE)
    # MathJax (vendored) typesets the chapter's math
    page.wait_for_selector("mjx-container", state="attached", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 5", timeout=30_000)
    text = page.locator("main").inner_text()
    assert "\\(" not in text and "\\)" not in text, "raw TeX delimiters left on the page"
    # the kernel-free lab draws (Vega, vendored) instead of a dead copy of the live widget
    page.wait_for_selector(".classp-lab[data-ready='1']", timeout=60_000)
    assert page.locator(".jupyter-widgets").count() == 0, "a dead ipywidgets copy is on the page"
    lab = page.locator(".classp-lab").first
    assert lab.locator("select").count() == 14 and lab.locator("input[type=checkbox]").count() == 2
    assert lab.locator("canvas").count() >= 1
    # every image of the page loaded
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.src.slice(0, 80))")
    assert broken == [], broken
    # the section 4 slider's frame and the launch buttons' logos (the lab draws on canvases)
    assert page.evaluate("() => document.images.length") >= 3
    assert page.evaluate("() => document.querySelectorAll('.classp-lab canvas').length") >= 1
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "lab_top.png")
    lab.scroll_into_view_if_needed()
    shot(page, "lab_kernel_free.png")
    assert op.blocked == [], f"the page requested external URLs: {op.blocked}"
    assert op.our_errors == [], op.our_errors


def notebook_pages(site: Path) -> list[Path]:
    """Built pages whose source in the repository is an ``.ipynb`` (they carry the launch buttons).

    MyST-Markdown pages that execute code (the assignments' index, the teacher's guide) also leave
    an ``.ipynb`` under ``_sources/``, but sphinx-book-theme gives them no launch button.
    """
    pages = []
    for p in (site / "_sources").rglob("*.ipynb"):
        rel = p.relative_to(site / "_sources")
        if (REPO / rel).is_file():
            pages.append(site / rel.with_suffix(".html"))
    return sorted(pages)


def test_every_notebook_page_has_colab_and_binder_buttons(site, offline):
    pages = notebook_pages(site)
    assert site / LAB_PAGE in pages
    op = offline()
    missing = []
    for path in pages:
        page = op.open(path)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        nb = path.relative_to(site).with_suffix(".ipynb").as_posix()
        colab = [h for h in hrefs if h.startswith("https://colab.research.google.com/") and h.endswith(nb)]
        binder = [h for h in hrefs if h.startswith("https://mybinder.org/") and nb in h]
        if not colab or not binder:
            missing.append((path.relative_to(site).as_posix(), bool(colab), bool(binder)))
    assert missing == [], f"pages without (colab, binder) launch links: {missing}"
    page = op.open(site / LAB_PAGE)
    page.locator(".dropdown-launch-buttons button").first.click()
    shot(page, "lab_launch_buttons.png")


def test_slider_html_in_page_is_not_mangled(site):
    """The build kept the slider's inline script and its data verbatim (no browser needed, cheap)."""
    total = 0
    for page in (LAB_PAGE, SLIDERS_PAGE):
        html = (site / page).read_text(encoding="utf-8")
        roots = re.findall(r'<div class="classp-slider" id="([^"]+)"', html)
        assert roots and len(set(roots)) == len(roots), page
        total += len(roots)
        for r in roots:
            assert f'var id = "{r}", D = ' in html
    assert total >= 2, "the lab's τ x p slider and the appendix's example slider"
