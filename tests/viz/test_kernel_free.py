"""The kernel-free slider machinery (classp.viz.kernel_free) without a browser: the HTML, the embedded
data, the checks.

The browser side (moving a slider changes the figure and the numbers) is in tests/test_browser.py.
"""
import base64
import itertools
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from classp.viz.kernel_free import KernelFreeSlider, figure_to_png, format_value, slider_figure  # noqa: E402


# ------------------------------------------------------------------------------------------ helpers
def solid_png(value: float, size=(20, 10)) -> bytes:
    """A small PNG of one grey level (distinct values give distinct files)."""
    fig = Figure(figsize=(size[0] / 10, size[1] / 10))
    fig.patch.set_facecolor(str(value))
    return figure_to_png(fig, dpi=10)


class Collector(HTMLParser):
    """Tags, ids, attributes and scripts of an HTML fragment."""

    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.scripts, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.append(a["id"])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def png_size(png: bytes) -> tuple:
    """(width, height) from the PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def parse(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    return c


def embedded_data(html: str) -> dict:
    """The JSON object the inline script works from."""
    m = re.search(r'var id = "([^"]+)", D = (\{.*?\});\n', html, re.S)
    assert m, "the inline script's data literal was not found"
    return json.loads(m.group(2).replace("<\\/", "</"))


PARAMS = {"τ": [0.0, 1e-6, 1e-4], "p": [1, 2]}


def grid_slider(**kw):
    frames = {}
    for i, (tau, p) in enumerate(itertools.product(*PARAMS.values())):
        frames[(tau, p)] = (solid_png(0.1 + 0.12 * i), {"density": 0.5 / (i + 1), "steps": 1000 * i + 7})
    return KernelFreeSlider(frames, PARAMS, title="Density against τ and p", **kw), frames


# ------------------------------------------------------------------------------------------ HTML
def test_frames_count_images_and_sizes():
    s, frames = grid_slider()
    assert s.n_frames == 6 and s.shape == (3, 2)
    assert s.n_images == 6
    assert s.image_size == (20, 10)
    html = s.html()
    # one image in the <img> tag, the other five in the script's data (the first is not repeated)
    assert html.count("data:image/png;base64,") == 6
    assert "<script>" in html and 'addEventListener("input"' in html


def test_every_frame_round_trips_through_the_embedded_data():
    s, frames = grid_slider(number_format={"density": ".3f"})
    html = s.html()
    d = embedded_data(html)
    img_src = parse(html).find("img")[0]["src"]
    imgs = [img_src if u is None else u for u in d["imgs"]]
    assert d["shape"] == [3, 2]
    assert d["labels"] == [["0", "1e-06", "0.0001"], ["1", "2"]]
    # the JS computes k = i_tau * 2 + i_p (last parameter fastest): check every grid point
    for k, (tau, p) in enumerate(itertools.product(*PARAMS.values())):
        png = base64.b64decode(imgs[d["frame"][k]].split(",", 1)[1])
        assert png == frames[(tau, p)][0]
        i = k
        assert d["nums"][k] == [f"{0.5 / (i + 1):.3f}", f"{1000 * i + 7:,}"]
        assert d["alts"][k] == f"Density against τ and p: τ = {format_value(tau)}, p = {p}"


def test_identical_frames_are_stored_once():
    same = solid_png(0.5)
    greys = iter([0.1, 0.3, 0.7, 0.9])
    frames = {(t, p): same if t == 0.0 else solid_png(next(greys)) for t, p in itertools.product(*PARAMS.values())}
    s = KernelFreeSlider(frames, PARAMS)
    assert s.n_frames == 6 and s.n_images == 5
    d = embedded_data(s.html())
    assert d["frame"][0] == d["frame"][1]


def test_ids_are_unique_within_and_across_instances():
    s, _ = grid_slider()
    a, b = s.html(), s.html()
    ids_a, ids_b = parse(a).ids, parse(b).ids
    assert len(ids_a) == len(set(ids_a))
    assert not set(ids_a) & set(ids_b)
    # each script addresses only its own ids
    assert embedded_data(a) == embedded_data(b)
    root_a = parse(a).find("div")[0]["id"]
    assert all(i.startswith(root_a) for i in ids_a)
    assert re.search(r'var id = "([^"]+)"', a).group(1) == root_a


def test_accessible_labels_outputs_and_alt_text():
    s, _ = grid_slider(initial={"τ": 1e-6, "p": 2}, alt="Density curve for {values} (tau label {0})")
    c = parse(s.html())
    inputs = c.find("input")
    assert len(inputs) == 2
    for i, inp in enumerate(inputs):
        assert inp["type"] == "range" and inp["min"] == "0" and inp["step"] == "1"
        assert c.find("label", **{"for": inp["id"]}), "every slider has a <label for=...>"
        assert c.find("output", **{"for": inp["id"]}), "every slider prints its value in an <output>"
    assert [inp["max"] for inp in inputs] == ["2", "1"]
    assert [inp["value"] for inp in inputs] == ["1", "1"]
    assert [inp["aria-valuetext"] for inp in inputs] == ["1e-06", "2"]
    img = c.find("img")[0]
    assert img["alt"] == "Density curve for τ = 1e-06, p = 2 (tau label 1e-06)"
    root = c.find("div")[0]
    assert root["role"] == "group" and root["aria-labelledby"] == root["id"] + "-title"
    table = c.find("table")[0]
    assert table["aria-live"] == "polite"
    assert len(c.find("th", scope="row")) == 2


def test_initial_frame_is_shown_without_javascript():
    s, frames = grid_slider(initial={"τ": 1e-4, "p": 1}, number_format=".2f")
    html = s.html()
    src = parse(html).find("img")[0]["src"]
    assert base64.b64decode(src.split(",", 1)[1]) == frames[(1e-4, 1)][0]
    k = 2 * 2 + 0
    assert f'data-frame="{k}"' in html
    assert f">{0.5 / (k + 1):.2f}</output>" in html


def test_no_external_urls_and_script_is_safe():
    frames = {(v,): (solid_png(0.3 + 0.1 * i), {"note": "</script><b>x</b>"}) for i, v in enumerate([1, 2])}
    s = KernelFreeSlider(frames, {"k": [1, 2]}, title="a <title> & more")
    html = s.html()
    assert not re.search(r"(https?:)?//[a-z0-9]", html.replace("data:image/png;base64,", "")), "no external URL"
    assert "src=\"http" not in html and "href=" not in html
    # the only </script> is the script's own end
    assert html.count("</script>") == 1
    assert "a &lt;title&gt; &amp; more" in html
    assert embedded_data(html)["nums"] == [["</script><b>x</b>"], ["</script><b>x</b>"]]


def test_single_parameter_keys_may_be_bare_values_and_page_is_standalone(tmp_path):
    s = slider_figure({1: solid_png(0.2), 2: solid_png(0.4)}, {"n": [1, 2]})
    assert s.n_frames == 2 and s.number_labels == []
    assert "<table" not in s.html()
    path = tmp_path / "s.html"
    s.save(path)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page and "<meta charset=\"utf-8\">" in page
    assert s.frame(2)[0] == s.pngs[1]


def test_single_value_parameter_is_a_disabled_slider():
    s = slider_figure({(1, "a"): solid_png(0.2), (2, "a"): solid_png(0.4)}, {"n": [1, 2], "mode": ["a"]})
    inputs = parse(s.html()).find("input")
    assert "disabled" not in inputs[0] and "disabled" in inputs[1]


def test_repr_html_is_the_html_and_repr_is_short():
    s, _ = grid_slider()
    h = s._repr_html_()
    assert h.startswith('<div class="classp-slider"') and h.rstrip().endswith("</div>")
    assert repr(s).startswith("KernelFreeSlider(τ[3] x p[2], 6 frames, 6 images")


def test_from_function_calls_once_per_grid_point_in_order():
    calls = []

    def fn(a, b):
        calls.append((a, b))
        fig = Figure(figsize=(1, 1))
        fig.add_subplot().plot([0, a], [0, b])
        return fig, {"a+b": a + b}

    s = KernelFreeSlider.from_function(fn, {"a": [1, 2], "b": [10, 20, 30]})
    assert calls == list(itertools.product([1, 2], [10, 20, 30]))
    assert [n["a+b"] for n in s.numbers] == [11, 21, 31, 12, 22, 32]
    assert s.frame(2, 30)[1] == {"a+b": 32}


def test_figure_to_png_size_and_signature():
    fig = Figure(figsize=(2, 1))
    ax = fig.add_subplot()
    png = figure_to_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(png) == (100, 50)
    assert figure_to_png(ax, dpi=50) == png  # an Axes renders its whole figure, deterministically
    # a 256-colour palette by default (PNG colour type 3), matplotlib's RGBA with colors=None (type 6)
    assert png[25] == 3
    full = figure_to_png(fig, dpi=50, colors=None)
    assert full[25] == 6 and png_size(full) == (100, 50)
    with pytest.raises(ValueError, match=re.escape("colors must be None or an integer in [2, 256]; got 1")):
        figure_to_png(fig, colors=1)
    with pytest.raises(ValueError, match=re.escape("dpi must be a number in [10, 600]; got 5")):
        figure_to_png(fig, dpi=5)
    with pytest.raises(ValueError, match="Figure"):
        figure_to_png("not a figure")


def test_figure_to_png_takes_numpy_numbers_and_refuses_bools():
    fig = Figure(figsize=(2, 1))
    fig.add_subplot()
    png = figure_to_png(fig, dpi=np.int64(50), colors=np.int32(16), close=np.bool_(False))
    assert png_size(png) == (100, 50)
    assert figure_to_png(fig, dpi=np.float32(50.0), colors=16) == png
    with pytest.raises(ValueError, match=re.escape("dpi must be a number in [10, 600]; got True")):
        figure_to_png(fig, dpi=True)
    with pytest.raises(ValueError, match=re.escape("colors must be None or an integer in [2, 256]; got 16.0")):
        figure_to_png(fig, colors=16.0)
    with pytest.raises(ValueError, match="close must be True or False; got 1"):
        figure_to_png(fig, close=1)


def test_format_value_labels():
    assert [format_value(v) for v in (0.0, -0.0, 1e-6, 2, np.int64(2), np.float32(0.5), True, False, "a")] == \
        ["0", "0", "1e-06", "2", "2", "0.5", "on", "off", "a"]


# ------------------------------------------------------------------------------------------ checks
@pytest.mark.parametrize("frames, params, kw, match", [
    ({}, {}, {}, "params must be a non-empty dict"),
    ({}, {"a": []}, {}, "at least one value"),
    ({}, {"a": [1, 1]}, {}, "holds a value twice"),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1, 2]}, {}, "missing 1 of the 2 grid points"),
    ({1: b"\x89PNG\r\n\x1a\nxx", 2: b"\x89PNG\r\n\x1a\nxx", 3: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1, 2]}, {},
     "outside the params grid"),
    ({(1, 2): b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {}, "has 2 values; params has 1"),
    ({1: b"GIF89a"}, {"a": [1]}, {}, "not a PNG"),
    ({1: "figure?"}, {"a": [1]}, {}, "Figure"),
    ({1: (b"\x89PNG\r\n\x1a\nxx", [1])}, {"a": [1]}, {}, "must be a dict"),
    ({1: (b"\x89PNG\r\n\x1a\nxx", {"x": 1}), 2: (b"\x89PNG\r\n\x1a\nxx", {"y": 1})}, {"a": [1, 2]}, {},
     "has numbers"),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"initial": {"a": 3}}, "initial"),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"initial": {"b": 1}}, "unknown parameter"),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"max_bytes": 100}, "max_bytes"),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"max_bytes": True},
     re.escape("max_bytes must be None or an integer >= 1; got True")),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"max_bytes": 1e6},
     re.escape("max_bytes must be None or an integer >= 1; got 1000000.0")),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"dpi": 0}, re.escape("dpi must be a number in [10, 600]; got 0")),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"value_format": {"b": "g"}}, "value_format names unknown"),
    ({1: (b"\x89PNG\r\n\x1a\nxx", {"x": 1})}, {"a": [1]}, {"number_format": {"y": "g"}}, "number_format names"),
    ({1: b"\x89PNG\r\n\x1a\nxx"}, {"a": [1]}, {"alt": "{nope}"}, "alt template"),
])
def test_invalid_arguments_raise_value_error(frames, params, kw, match):
    with pytest.raises(ValueError, match=match):
        KernelFreeSlider(frames, params, **kw)


def test_numpy_values_match_python_keys():
    s = KernelFreeSlider({(0.5,): solid_png(0.2), (1.0,): solid_png(0.4)}, {"p": np.array([0.5, 1.0])},
                         max_bytes=np.int64(100_000))
    assert s.frame(np.float64(1.0))[0] == s.pngs[1]


def test_from_function_checks_its_arguments_before_computing_a_frame():
    calls = []

    def fn(a):
        calls.append(a)
        return solid_png(0.5)

    for kw, match in [({"dpi": 5}, "dpi must be"), ({"colors": 300}, "colors must be"),
                      ({"max_bytes": 0}, "max_bytes must be"), ({"initial": {"a": 3}}, "initial"),
                      ({"progress": "yes"}, "progress must be True or False"), ({}, "at least one value")]:
        params = {"a": []} if not kw else {"a": [1, 2]}
        with pytest.raises(ValueError, match=match):
            KernelFreeSlider.from_function(fn, params, **kw)
    assert calls == []
