"""Checks of the built book's HTML (``_build/html``, see the ``book_html`` fixture in conftest.py).

The checks are plain functions that take a parsed page and return a list of problems (empty: the
page is fine). The ``book``-marked tests run them over every page listed in ``_toc.yml``, so a
new chapter is covered as soon as it is in the table of contents. The unmarked tests at the end
feed each check a hand-made broken page and assert that it reports the problem, so none of the
checks can pass whatever the page holds.

Run: ``pytest -m book tests/test_book.py`` (builds the book first if ``_build/html/index.html`` is
missing, or with ``CLASSP_BUILD_BOOK=1``; ``CLASSP_BOOK_HTML`` points at another built copy).
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import unquote, urldefrag

import pytest
import yaml
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf8"))
TOC = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf8"))


# ------------------------------------------------------------------------------ the table of contents
def toc_docnames(toc: dict) -> list[str]:
    """Every document of a jb-book ``_toc.yml``: the root, then parts/chapters/sections in order."""
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [n.removesuffix(".md").removesuffix(".ipynb") for n in names]


def source_of(docname: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (REPO / f"{docname}{suffix}").exists():
            return REPO / f"{docname}{suffix}"
    raise FileNotFoundError(f"_toc.yml lists {docname!r} but neither {docname}.ipynb nor {docname}.md exists")


def is_executed(docname: str) -> bool:
    """True for notebooks and MyST-Markdown notebooks (a ``kernelspec`` in the front matter)."""
    src = source_of(docname)
    if src.suffix == ".ipynb":
        return True
    front = re.match(r"---\n(.*?)\n---", src.read_text(encoding="utf8"), re.S)
    return bool(front and "kernelspec" in front.group(1))


_MATH_SOURCE = re.compile(r"(?<![\\$])\$[^$\s][^$\n]*\$|\$\$|\{math\}|\\begin\{(align|equation)")


def source_has_math(docname: str) -> bool:
    """Whether the page's prose (Markdown; for notebooks the Markdown cells) contains math."""
    src = source_of(docname)
    if src.suffix == ".ipynb":
        nb = json.loads(src.read_text(encoding="utf8"))
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    else:
        text = src.read_text(encoding="utf8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code fences (directives with math stay: {math})
    text = re.sub(r"`[^`\n]*`", "", text)              # inline code
    return bool(_MATH_SOURCE.search(text))


PAGES = toc_docnames(TOC)
EXECUTED = [d for d in PAGES if is_executed(d)]
# Chapters and assignments (.ipynb) carry a figure and the launch buttons; the MyST-Markdown pages
# that execute code (the assignments' index, the teacher's guide) only compute tables and numbers,
# and sphinx-book-theme gives no launch button to a page without an .ipynb source.
NOTEBOOKS = [d for d in EXECUTED if source_of(d).suffix == ".ipynb"]
MATH_PAGES = [d for d in PAGES if source_has_math(d)]


# ------------------------------------------------------------------------------------------ checks
def article(soup: BeautifulSoup):
    """The page's content (without the theme's header, sidebars and footer)."""
    return soup.select_one("article") or soup


def prose_text(node) -> str:
    """Visible text outside code, math and scripts."""
    node = BeautifulSoup(str(node), "html.parser")
    for bad in node.select("pre, code, script, style, .math, .highlight"):
        bad.decompose()
    return node.get_text(" ")


_PNG_OR_JPEG = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _is_embedded_image(src: str) -> bool:
    """A ``data:image/png|jpeg;base64,...`` URI whose payload decodes to a PNG or JPEG file."""
    m = re.match(r"data:image/(png|jpeg);base64,(.+)$", src, re.S)
    if not m:
        return False
    try:
        payload = base64.b64decode(m.group(2), validate=True)
    except ValueError:
        return False
    return payload.startswith(_PNG_OR_JPEG) and len(payload) > 64


def figure_problems(soup: BeautifulSoup, page: Path, require_output_figure: bool) -> list[str]:
    """Every image in the content has a non-empty file and alt text; executed pages have a figure."""
    problems = []
    imgs = article(soup).select("img")
    if require_output_figure and not article(soup).select(".cell_output img"):
        problems.append("no figure (<img>) among the executed cells' outputs")
    for img in imgs:
        src = img.get("src", "")
        if src.startswith("data:"):
            # Self-contained figures (the kernel-free sliders) embed their PNGs in the page.
            if not _is_embedded_image(src):
                problems.append(f"embedded image is empty or not an image: src={src[:40]!r}")
        elif not src:
            problems.append("image without a file: src=''")
        elif not re.match(r"[a-z]+://", src):
            f = (page.parent / unquote(urldefrag(src)[0])).resolve()
            if not f.is_file() or f.stat().st_size == 0:
                problems.append(f"image file missing or empty: {src}")
        alt = (img.get("alt") or "").strip()
        if not alt or alt == src or re.search(r"\.(png|jpe?g|svg|gif)$", alt, re.I):
            problems.append(f"image without alt text: {src}")
    return problems


def error_output_problems(soup: BeautifulSoup) -> list[str]:
    """No tracebacks, error outputs or failed executions in the page."""
    problems = []
    body = article(soup)
    for out in body.select("div.output.traceback, div.output.error, .output_error, .output-error"):
        problems.append(f"error output: {out.get_text(' ')[:200]!r}")
    for out in body.select("div.output.stderr"):
        text = out.get_text(" ")
        if "Traceback" in text or re.search(r"^\s*\w*(Error|Exception)\b.*:", text, re.M):
            problems.append(f"stderr output with an error: {text[:200]!r}")
    if "Executing notebook failed" in soup.get_text(" "):
        problems.append("the page says 'Executing notebook failed'")
    return problems


def citation_problems(soup: BeautifulSoup, page: Path) -> list[str]:
    """Citations resolve to a listed reference, and a page that cites has a bibliography."""
    problems = []
    body = article(soup)
    cites = body.select("span.bibtex-citation")
    ids = {t.get("id") for t in soup.find_all(id=True)}
    for cite in cites:
        links = cite.select("a[href]")
        if not links:
            problems.append(f"unresolved citation: {cite.get_text()!r}")
        for a in links:
            target, frag = urldefrag(a["href"])
            if not target and frag not in ids:
                problems.append(f"citation link to a missing anchor #{frag}")
            elif target and not re.match(r"[a-z]+://", target):
                other = (page.parent / unquote(target)).resolve()
                if not other.is_file() or f'id="{frag}"' not in other.read_text(encoding="utf8"):
                    problems.append(f"citation link to a missing target {a['href']}")
    if cites and not body.select("div.citation"):
        problems.append("the page cites but has no bibliography (no div.citation entries)")
    if "??" in prose_text(body):
        problems.append("unresolved marker '??' in the text")
    return problems


_RAW_ROLE = re.compile(r"\{[a-z][a-z:-]*\}`|```\{|\{glue")


def raw_markup_problems(soup: BeautifulSoup) -> list[str]:
    """No MyST role/directive/glue left as text (e.g. '{glue:text}`x`'); no unresolved references."""
    problems = []
    body = article(soup)
    for m in _RAW_ROLE.finditer(prose_text(body)):
        problems.append(f"raw MyST markup in the text: {prose_text(body)[m.start():m.start() + 60]!r}")
    for xref in body.select("span.xref"):
        if xref.find_parent("a") is None:
            problems.append(f"unresolved reference: {xref.get_text()!r}")
    for pasted in body.select(".pasted-text, .pasted-inline"):
        if not pasted.get_text().strip():
            problems.append("empty glued value")
    return problems


_RAW_MATH = re.compile(r"(?<![\\$])\$[^$\s][^$\n]*\$|\$\$")


def math_problems(soup: BeautifulSoup) -> list[str]:
    """Math was parsed (math elements and a MathJax script exist) and no raw $...$ is left."""
    problems = []
    body = article(soup)
    if not body.select(".math"):
        problems.append("no math element (.math) although the source has math")
    if not any(re.search(r"mathjax|tex-mml|tex-chtml", s.get("src", ""), re.I) for s in soup.select("script[src]")):
        problems.append("no MathJax script on a page with math")
    raw = _RAW_MATH.search(prose_text(body))
    if raw:
        problems.append(f"raw math in the text: {raw.group(0)[:60]!r}")
    return problems


def expected_launch_links(docname: str, config: dict = CONFIG) -> dict[str, str]:
    """The Colab and Binder URLs sphinx-book-theme builds for a notebook page from _config.yml."""
    repo = config["repository"]
    org_repo = re.sub(r"^https://github\.com/", "", repo["url"].rstrip("/"))
    branch = repo.get("branch", "main")
    prefix = (repo.get("path_to_book") or "").strip("/")
    path = f"{prefix}/{docname}.ipynb" if prefix else f"{docname}.ipynb"
    lb = config["launch_buttons"]
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[lb.get("notebook_interface", "classic")]
    links = {}
    if lb.get("colab_url"):
        links["Colab"] = f"{lb['colab_url'].rstrip('/')}/github/{org_repo}/blob/{branch}/{path}"
    if lb.get("binderhub_url"):
        links["Binder"] = f"{lb['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}?urlpath={ui}/{path}"
    return links


def launch_problems(soup: BeautifulSoup, docname: str, config: dict = CONFIG) -> list[str]:
    """A notebook page links to Colab and Binder at the notebook's path, and offers the .ipynb."""
    problems = []
    hrefs = {a.get("href", "") for a in soup.select("a[href]")}
    expected = expected_launch_links(docname, config)
    if not expected:
        problems.append("_config.yml configures no launch button")
    for name, url in expected.items():
        if url not in hrefs:
            problems.append(f"no {name} launch link {url}")
    if not any(h.endswith(f"_sources/{docname}.ipynb") for h in hrefs):
        problems.append(f"no download link to _sources/{docname}.ipynb")
    return problems


# ------------------------------------------------------------------------- tests over the built book
def _page(book_html: Path, docname: str) -> tuple[Path, BeautifulSoup]:
    path = book_html / f"{docname}.html"
    assert path.is_file(), f"{docname} is listed in _toc.yml but {path} was not built"
    return path, BeautifulSoup(path.read_text(encoding="utf8"), "html.parser")


@pytest.mark.book
def test_index_exists(book_html):
    assert (book_html / "index.html").is_file()


@pytest.mark.book
@pytest.mark.parametrize("docname", PAGES)
def test_page_built_without_errors(book_html, docname):
    path, soup = _page(book_html, docname)
    assert article(soup).find("h1"), f"{docname}: no title"
    problems = error_output_problems(soup) + raw_markup_problems(soup) + citation_problems(soup, path)
    problems += figure_problems(soup, path, require_output_figure=False)
    assert not problems, f"{docname}:\n" + "\n".join(problems)


@pytest.mark.book
@pytest.mark.parametrize("docname", EXECUTED)
def test_executed_page(book_html, docname):
    path, soup = _page(book_html, docname)
    assert article(soup).select(".cell_output"), f"{docname}: no cell output: was the notebook executed?"
    if docname in NOTEBOOKS:
        problems = figure_problems(soup, path, require_output_figure=True) + launch_problems(soup, docname)
        assert not problems, f"{docname}:\n" + "\n".join(problems)


@pytest.mark.book
@pytest.mark.parametrize("docname", MATH_PAGES)
def test_math_rendered(book_html, docname):
    _, soup = _page(book_html, docname)
    problems = math_problems(soup)
    assert not problems, f"{docname}:\n" + "\n".join(problems)


@pytest.mark.book
def test_pages_that_cite_have_a_bibliography(book_html):
    citing = [d for d in PAGES if "{cite" in source_of(d).read_text(encoding="utf8")]
    assert citing, "no page cites anything: the book should cite at least the CLASSP paper"
    for docname in citing:
        _, soup = _page(book_html, docname)
        assert article(soup).select("div.citation"), f"{docname} uses {{cite}} but lists no references"


def published_markdown(docname: str) -> str:
    """The page's Markdown as the site shows it: for notebooks, the Markdown cells not tagged
    ``remove-cell`` (the public site drops the assignments' model answers, issue 15)."""
    src = source_of(docname)
    if src.suffix != ".ipynb":
        return src.read_text(encoding="utf8")
    nb = json.loads(src.read_text(encoding="utf8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
                     and "remove-cell" not in c.get("metadata", {}).get("tags", []))


@pytest.mark.book
def test_glued_numbers_rendered(book_html):
    """Every page whose published Markdown glues a value shows it (non-empty) and no raw glue role."""
    for docname in PAGES:
        if "{glue" not in published_markdown(docname):
            continue
        _, soup = _page(book_html, docname)
        assert article(soup).select(".pasted-text, .pasted-inline, .pasted-math"), f"{docname}: no glued value"
        assert not raw_markup_problems(soup), docname


# ---------------------------------------------- the checks themselves, on hand-made pages (no build)
GOOD_IMG = "_images/fig.png"


def _soup(body: str, head: str = "") -> BeautifulSoup:
    return BeautifulSoup(f"<html><head>{head}</head><body><article>{body}</article></body></html>", "html.parser")


@pytest.fixture
def page_dir(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / GOOD_IMG).write_bytes(b"\x89PNG not empty")
    (tmp_path / "_images" / "empty.png").write_bytes(b"")
    return tmp_path


def test_figure_check(page_dir):
    page = page_dir / "page.html"
    good = _soup(f'<div class="cell_output"><img src="{GOOD_IMG}" alt="A line plot."></div>')
    assert figure_problems(good, page, require_output_figure=True) == []
    assert figure_problems(_soup("<p>no figure</p>"), page, True) != []
    assert figure_problems(_soup(f'<div class="cell_output"><img src="{GOOD_IMG}"></div>'), page, True) != []
    assert figure_problems(_soup(f'<div class="cell_output"><img src="{GOOD_IMG}" alt="{GOOD_IMG}"></div>'),
                           page, True) != []
    assert figure_problems(_soup('<div class="cell_output"><img src="_images/none.png" alt="x"></div>'),
                           page, True) != []
    assert figure_problems(_soup('<div class="cell_output"><img src="_images/empty.png" alt="x"></div>'),
                           page, True) != []
    # embedded images (kernel-free sliders): a real PNG passes; an empty or non-image payload fails
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(100)).decode()
    assert figure_problems(_soup(f'<div class="cell_output"><img src="data:image/png;base64,{png}" alt="A map."></div>'),
                           page, True) == []
    for bad in ("data:image/png;base64,", "data:image/png;base64,bm90IGFuIGltYWdl", f"data:text/plain;base64,{png}"):
        assert figure_problems(_soup(f'<div class="cell_output"><img src="{bad}" alt="x"></div>'), page, True) != []


def test_error_output_check():
    assert error_output_problems(_soup('<div class="output stderr"><pre>UserWarning: slow</pre></div>')) == []
    assert error_output_problems(_soup('<div class="output traceback"><pre>ValueError: boom</pre></div>'))
    assert error_output_problems(_soup('<div class="output stderr"><pre>Traceback (most recent call last)'
                                       '</pre></div>'))
    assert error_output_problems(_soup('<div class="output stderr"><pre>RuntimeError: x</pre></div>'))
    assert error_output_problems(_soup("<p>Executing notebook failed: CellExecutionError</p>"))


def test_citation_check(page_dir):
    page = page_dir / "page.html"
    good = _soup('<p><span class="bibtex-citation">[<a class="reference internal" href="#c1">Ludwig, 2024</a>]'
                 '</span></p><div class="citation-list"><div class="citation" id="c1">Ludwig</div></div>')
    assert citation_problems(good, page) == []
    unresolved = _soup('<p><span class="bibtex-citation" id="id1">[]</span></p><div class="citation" id="c"></div>')
    assert citation_problems(unresolved, page)
    no_bibliography = _soup('<p><span class="bibtex-citation">[<a href="#c1">L</a>]</span></p>')
    assert citation_problems(no_bibliography, page)
    assert citation_problems(_soup('<p>as shown in [??]</p>'), page)
    (page_dir / "other.html").write_text('<div class="citation" id="c9"></div>')
    cross = '<p><span class="bibtex-citation">[<a href="{}">L</a>]</span></p><div class="citation" id="x"></div>'
    assert citation_problems(_soup(cross.format("other.html#c9")), page) == []
    assert citation_problems(_soup(cross.format("other.html#nope")), page)


def test_raw_markup_check():
    assert raw_markup_problems(_soup('<p>accuracy <span class="pasted-text">0.97</span>, '
                                     '<a href="g.html#term"><span class="xref std std-term">task</span></a></p>'
                                     '<pre>{glue:text}`kept in code`</pre>')) == []
    assert raw_markup_problems(_soup("<p>accuracy {glue:text}`acc:.2f`</p>"))
    assert raw_markup_problems(_soup("<p>see {cite}`ludwig2024classp`</p>"))
    assert raw_markup_problems(_soup("<p>```{exercise} Title</p>"))
    assert raw_markup_problems(_soup('<p><span class="xref std std-term">nosuchterm</span></p>'))
    assert raw_markup_problems(_soup('<p>value <span class="pasted-text"> </span></p>'))


def test_math_check():
    mathjax = '<script defer src="_static/mathjax/tex-mml-chtml.js"></script>'
    good = _soup('<p>rate <span class="math">\\(\\alpha\\)</span></p>', head=mathjax)
    assert math_problems(good) == []
    assert math_problems(_soup('<p>rate <span class="math">\\(\\alpha\\)</span></p>'))    # no MathJax
    assert math_problems(_soup("<p>rate $\\alpha/(\\epsilon+S)$</p>", head=mathjax))      # not parsed
    assert math_problems(_soup("<p>no math at all</p>", head=mathjax))


def test_launch_check():
    config = {"repository": {"url": "https://github.com/o/r", "branch": "main", "path_to_book": ""},
              "launch_buttons": {"colab_url": "https://colab.research.google.com",
                                 "binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"}}
    links = expected_launch_links("book/01_x", config)
    assert links == {"Colab": "https://colab.research.google.com/github/o/r/blob/main/book/01_x.ipynb",
                     "Binder": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/01_x.ipynb"}
    download = '<a href="../_sources/book/01_x.ipynb">.ipynb</a>'
    good = _soup(download + "".join(f'<a href="{u}">{n}</a>' for n, u in links.items()))
    assert launch_problems(good, "book/01_x", config) == []
    assert launch_problems(_soup(download + f'<a href="{links["Colab"]}">Colab</a>'), "book/01_x", config)
    wrong_path = links["Colab"].replace("book/01_x", "01_x")
    assert launch_problems(_soup(download + f'<a href="{wrong_path}">C</a><a href="{links["Binder"]}">B</a>'),
                           "book/01_x", config)
    assert launch_problems(_soup("".join(f'<a href="{u}">{n}</a>' for n, u in links.items())), "book/01_x", config)


def test_toc_parsing():
    toc = {"format": "jb-book", "root": "book/intro",
           "parts": [{"caption": "I", "chapters": [{"file": "book/01_a", "sections": [{"file": "book/01_b"}]}]},
                     {"caption": "A", "chapters": [{"file": "book/appendix/notation.md"}]}]}
    assert toc_docnames(toc) == ["book/intro", "book/01_a", "book/01_b", "book/appendix/notation"]
    assert PAGES[0] == TOC["root"] and len(PAGES) == len(set(PAGES))
