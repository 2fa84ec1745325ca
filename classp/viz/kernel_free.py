"""Kernel-free sliders: precomputed figures that a reader explores on the static website.

A :class:`KernelFreeSlider` holds a grid of precomputed frames (one PNG figure plus a few numbers per
combination of parameter values) and renders, through ``_repr_html_``, as a self-contained block of
HTML: one ``<input type="range">`` per parameter, the figure as a base64 ``data:`` URI, the numbers in
a ``<table>`` of ``<output>`` elements, and a few lines of inline vanilla JavaScript that swap the
figure and the numbers when a slider moves.  No kernel, no network, no library: it works in a built
Jupyter Book page (MyST-NB keeps a cell's ``text/html`` output verbatim, inline ``<script>``
included), from ``file://``, in JupyterLab/Notebook (trusted outputs), Colab and VS Code.  Where
scripts do not run, the initial frame and its numbers are still shown.

Every chapter makes its interactive figures the same way::

    from classp.viz.kernel_free import KernelFreeSlider

    def frame(tau, p):                      # one grid point -> (Figure, numbers)
        fig = matplotlib.figure.Figure(figsize=(6, 2.5))
        ...
        return fig, {"mean density": d, "forgetting": f}

    KernelFreeSlider.from_function(frame, {"τ": [0, 1e-6, 1e-4], "p": [1, 2]},
                                   title="Density against τ and p",
                                   alt="Update density per step for {values}")

(:func:`slider_figure` does the same from a ready ``{(tau, p): (figure, numbers)}`` dict.)  Keep
frames light: the defaults (100 dpi, a 256-colour palette) give PNGs of 10-20 kB for figures of
about 7 x 2.7 inches; a slider refuses to exceed ``max_bytes`` (4 MB).

This module is the machinery alone: it needs numpy, and matplotlib and Pillow only when it renders a
figure.  The ready-made sliders of the chapters (:func:`classp.viz.sliders.effective_lr_slider`,
:func:`classp.viz.sliders.density_slider`) are built on it in :mod:`classp.viz.sliders`.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import math
import numbers as _numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_bool, check_int, check_number

__all__ = ["KernelFreeSlider", "slider_figure", "figure_to_png", "format_value", "DEFAULT_DPI", "DEFAULT_MAX_BYTES"]

#: Resolution of frames made from matplotlib figures.
DEFAULT_DPI = 100

#: Largest HTML a slider may produce by default (bytes); raise it or lower ``dpi`` for bigger grids.
DEFAULT_MAX_BYTES = 4_000_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_instance_counter = itertools.count()


# ------------------------------------------------------------------------------------------ helpers
def figure_to_png(fig, dpi: int = DEFAULT_DPI, close: bool = True, colors: int | None = 256) -> bytes:
    """Render a matplotlib figure (or the figure of an Axes) to PNG bytes.

    The PNG carries no software/version metadata, so a given figure gives the same bytes across
    matplotlib versions that draw it identically.  By default the image is reduced to a palette of
    256 colours (Pillow's median cut, no dithering): indistinguishable for plots, and about a third
    of the size of the full RGBA file (transparency is dropped: figures are drawn on their
    facecolor).

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes
        What to render (for an Axes, its whole figure).
    dpi : float, default 100
        Resolution (10 to 600).
    close : bool, default True
        Close the figure in pyplot afterwards (a no-op for figures pyplot does not manage), so a
        notebook does not also display it and memory is released.
    colors : int or None, default 256
        Palette size (2 to 256); None keeps matplotlib's full RGBA PNG.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    ValueError
        If ``fig`` has no ``savefig`` (and no ``figure``), ``dpi`` is outside 10..600, ``colors``
        is not None or an integer in 2..256, or ``close`` is not a bool.
    """
    if not hasattr(fig, "savefig") and hasattr(fig, "figure"):
        fig = fig.figure
    if not hasattr(fig, "savefig"):
        raise ValueError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    dpi, colors, _ = _check_render_options(dpi, colors, None)
    close = check_bool("close", close)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    if colors is None:
        return buf.getvalue()
    from PIL import Image

    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    pal = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _check_render_options(dpi, colors, max_bytes) -> tuple[float, int | None, int | None]:
    """``dpi``, ``colors`` and ``max_bytes`` checked (the arguments every renderer here shares)."""
    return (check_number("dpi", dpi, 10, 600), check_int("colors", colors, 2, 256, allow_none=True),
            check_int("max_bytes", max_bytes, 1, allow_none=True))


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def format_value(v: Any) -> str:
    """A parameter value as a short label: ``"0"``, ``"1e-06"``, ``"2"``, ``"on"``/``"off"`` for bools.

    Integers (Python or numpy) print as integers, other real numbers with ``g``; anything else as
    ``str``.  Slider labels, alt texts and the widgets' options all use it.

    >>> [format_value(v) for v in (0.0, 1e-6, 2, 2.5, True, "a")]
    ['0', '1e-06', '2', '2.5', 'on', 'a']
    """
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, _numbers.Integral):
        return str(int(v))
    if isinstance(v, _numbers.Real):
        return "0" if v == 0 else f"{float(v):g}"
    return str(v)


def _format_number(v: Any, spec: str | Callable | None) -> str:
    if isinstance(v, str):
        return v
    if callable(spec):
        return str(spec(v))
    if spec is None:
        if isinstance(v, _numbers.Integral) and not isinstance(v, bool):
            return f"{int(v):,}"
        if isinstance(v, _numbers.Real):
            return "nan" if math.isnan(v) else f"{float(v):.4g}"
        return str(v)
    return format(v, spec)


def _js_literal(obj: Any) -> str:
    """JSON that is safe inside an inline <script> element."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return s.replace("</", "<\\/").replace("<!--", "<\\!--").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# ------------------------------------------------------------------------------------------ reading the arguments
def _read_params(params) -> tuple[list[str], list[list]]:
    """The slider labels and their value lists, checked (non-empty, no value twice)."""
    if not isinstance(params, Mapping) or not params:
        raise ValueError("params must be a non-empty dict {label: [values...]}")
    names: list[str] = [str(k) for k in params]
    value_lists: list[list] = []
    for name, values in params.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ValueError(f"params[{name!r}] must be a list of values; got {values!r}")
        values = list(values)
        if not values:
            raise ValueError(f"params[{name!r}] must hold at least one value")
        if len(set(map(_hashable, values))) != len(values):
            raise ValueError(f"params[{name!r}] holds a value twice: {values!r}")
        value_lists.append(values)
    return names, value_lists


def _value_labels(names: list[str], value_lists: list[list], value_format: Mapping | None) -> list[list[str]]:
    """How each slider prints each of its values (``value_format`` by label, else :func:`format_value`)."""
    vf = dict(value_format or {})
    unknown = sorted(set(vf) - set(names))
    if unknown:
        raise ValueError(f"value_format names unknown parameter(s) {unknown}; parameters: {names}")
    return [[format_value(v) if vf.get(n) is None else (str(vf[n](v)) if callable(vf[n]) else format(v, vf[n]))
             for v in vals] for n, vals in zip(names, value_lists)]


def _initial_index(names: list[str], value_lists: list[list], initial: Mapping | None) -> list[int]:
    """The position of the first frame's value on every slider (0 unless ``initial`` names it)."""
    init = dict(initial or {})
    unknown = sorted(set(init) - set(names))
    if unknown:
        raise ValueError(f"initial names unknown parameter(s) {unknown}; parameters: {names}")
    index = []
    for n, vals in zip(names, value_lists):
        hv = [_hashable(v) for v in vals]
        if n in init and _hashable(init[n]) not in hv:
            raise ValueError(f"initial[{n!r}] = {init[n]!r} is not one of params[{n!r}] = {vals!r}")
        index.append(hv.index(_hashable(init[n])) if n in init else 0)
    return index


def _read_frames(frames, names: list[str], grid: list[tuple], dpi: float,
                 colors: int | None) -> tuple[list[bytes], list[dict], list[str]]:
    """The PNG and the numbers of every grid point, in grid order, and the number labels.

    Checks that ``frames`` covers the grid exactly, that every frame is a figure or a PNG, and that
    every frame has the same number labels; figures are rendered (and closed) here.
    """
    if not isinstance(frames, Mapping):
        raise ValueError("frames must be a dict {(value, ...): figure | png | (figure | png, numbers)}")
    given = {}
    for key, val in frames.items():
        k = tuple(key) if isinstance(key, tuple) else (key,)
        if len(k) != len(names):
            raise ValueError(f"frames key {key!r} has {len(k)} values; params has {len(names)} ({', '.join(names)})")
        given[tuple(map(_hashable, k))] = (k, val)
    wanted = {tuple(map(_hashable, k)) for k in grid}
    missing = [k for k in grid if tuple(map(_hashable, k)) not in given]
    extra = [given[h][0] for h in given if h not in wanted]
    if missing:
        raise ValueError(f"frames is missing {len(missing)} of the {len(grid)} grid points, e.g. {missing[:3]}")
    if extra:
        raise ValueError(f"frames has {len(extra)} keys outside the params grid, e.g. {extra[:3]}")

    pngs: list[bytes] = []
    numbers: list[dict] = []
    labels = None
    for k in grid:
        val = given[tuple(map(_hashable, k))][1]
        fig, nums = (val[0], val[1]) if isinstance(val, tuple) and len(val) == 2 else (val, None)
        if nums is not None and not isinstance(nums, Mapping):
            raise ValueError(f"the numbers of frame {k!r} must be a dict {{label: value}}; got {type(nums).__name__}")
        nums = dict(nums or {})
        if labels is None:
            labels = list(nums)
        elif list(nums) != labels:
            raise ValueError(f"frame {k!r} has numbers {list(nums)}; the first frame has {labels}")
        if isinstance(fig, (bytes, bytearray, memoryview)):
            png = bytes(fig)
            if not png.startswith(_PNG_SIGNATURE):
                raise ValueError(f"frame {k!r}: bytes are not a PNG file")
        else:
            try:
                png = figure_to_png(fig, dpi=dpi, colors=colors)
            except ValueError as e:
                raise ValueError(f"frame {k!r}: {e}") from None
        pngs.append(png)
        numbers.append(nums)
    return pngs, numbers, [str(s) for s in (labels or [])]


def _number_text(numbers: list[dict], labels: list[str], number_format) -> list[list[str]]:
    """Every frame's numbers as the strings shown (``number_format``: one spec, or a dict by label)."""
    if isinstance(number_format, Mapping):
        unknown = sorted(set(number_format) - set(labels))
        if unknown:
            raise ValueError(f"number_format names unknown number(s) {unknown}; numbers: {labels}")
        specs = [number_format.get(lab) for lab in labels]
    else:
        specs = [number_format] * len(labels)
    return [[_format_number(nums[lab], spec) for lab, spec in zip(labels, specs)] for nums in numbers]


# ------------------------------------------------------------------------------------------ the slider
class KernelFreeSlider:
    """A grid of precomputed frames, explored with range sliders in plain HTML + inline JavaScript.

    Parameters
    ----------
    frames : dict
        One entry per grid point.  Key: a tuple of parameter values, in the order of ``params``
        (a bare value when there is one parameter).  Value: a matplotlib Figure (or Axes), PNG bytes,
        or a pair ``(figure or PNG, numbers)`` where ``numbers`` is a dict ``{label: value}`` of the
        figures's numbers; every frame must then have the same labels.  Figures are rendered at
        ``dpi`` and closed.
    params : dict
        ``{label: [values...]}``: the sliders, in order; labels are shown to the reader (``"τ"``,
        ``"EWC λ"``) and values are matched exactly against the keys of ``frames``.  Every
        combination must have a frame.
    title : str, optional
        Heading shown above the sliders (also the accessible name of the group).
    caption : str, optional
        Text under the figure.
    alt : str or callable, optional
        Alt text of the figure for each grid point: a callable ``alt(key) -> str`` or a template
        with ``{values}`` (e.g. ``"τ = 1e-06, p = 2"``) and ``{0}``, ``{1}``, ... (the formatted
        value of each parameter).  Default: ``"{title}: {values}"``.
    initial : dict, optional
        ``{label: value}`` of the grid point shown first (default: the first value of each).
    value_format : dict, optional
        ``{label: format spec or callable}`` for how slider values are printed (default ``g``).
    number_format : str, callable or dict, optional
        Format spec (``".3f"``) or callable for the numbers, or a dict of them by number label
        (default: 4 significant digits, integers with thousands separators; strings as given).
    dpi : int, default 100
        Resolution of frames given as figures.
    colors : int or None, default 256
        Palette size of frames given as figures (see :func:`figure_to_png`; None: full RGBA).
    max_bytes : int or None, default 4,000,000
        Refuse to build a slider whose HTML is larger (None: no limit).

    Raises
    ------
    ValueError
        If ``params`` is empty or has an empty or repeated value list, a frame is missing or extra,
        a frame is not a figure or PNG, the number labels differ between frames, ``initial`` names
        an unknown parameter or value, or the HTML exceeds ``max_bytes``.

    Notes
    -----
    Identical frames are stored once.  Every call of :meth:`_repr_html_` uses fresh element ids
    (``kfs-<content hash>-<counter>``), so the same slider can be shown twice on one page.
    """

    def __init__(self, frames: Mapping, params: Mapping[str, Sequence], *, title: str = "", caption: str = "",
                 alt: str | Callable | None = None, initial: Mapping | None = None,
                 value_format: Mapping | None = None, number_format: str | Callable | Mapping | None = None,
                 dpi: int = DEFAULT_DPI, colors: int | None = 256, max_bytes: int | None = DEFAULT_MAX_BYTES):
        dpi, colors, max_bytes = _check_render_options(dpi, colors, max_bytes)
        self.param_names, self.param_values = _read_params(params)
        self.shape = tuple(len(v) for v in self.param_values)
        self.title, self.caption = str(title), str(caption)
        self.keys: list[tuple] = list(itertools.product(*self.param_values))
        self.dpi = dpi
        self.value_labels = _value_labels(self.param_names, self.param_values, value_format)
        self.initial_index: list[int] = _initial_index(self.param_names, self.param_values, initial)
        self.alts = [self._alt(alt, k) for k in self.keys]
        # the checks above are cheap; rendering the frames is not
        self.pngs, self.numbers, self.number_labels = _read_frames(frames, self.param_names, self.keys, dpi, colors)
        self.number_text = _number_text(self.numbers, self.number_labels, number_format)

        # unique images
        self._unique: list[bytes] = []
        seen: dict[bytes, int] = {}
        self._frame_image: list[int] = []
        for png in self.pngs:
            h = hashlib.sha1(png).digest()
            if h not in seen:
                seen[h] = len(self._unique)
                self._unique.append(png)
            self._frame_image.append(seen[h])
        self._digest = hashlib.sha1(b"".join(hashlib.sha1(p).digest() for p in self.pngs)
                                    + _js_literal([self.param_names, self.value_labels, self.number_text]).encode()
                                    ).hexdigest()[:8]
        if max_bytes is not None:
            size = len(self.html())
            if size > max_bytes:
                raise ValueError(f"the slider's HTML is {size:,} bytes, more than max_bytes={max_bytes:,}; "
                                 "lower dpi, make the figures smaller, use fewer grid points, or raise max_bytes")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_function(cls, fn: Callable, params: Mapping[str, Sequence], *, progress: bool = False,
                      **kwargs) -> "KernelFreeSlider":
        """Build the frames by calling ``fn(*values)`` at every grid point.

        Parameters
        ----------
        fn : callable
            ``fn(v0, v1, ...)`` with one value per parameter (in the order of ``params``) returns a
            figure, PNG bytes, or ``(figure or PNG, numbers)``.
        params : dict
            ``{label: [values...]}``, as for the constructor.
        progress : bool, default False
            Show a tqdm bar over the grid points.
        **kwargs
            Passed to the constructor (``title``, ``alt``, ``dpi``, ...).

        Returns
        -------
        KernelFreeSlider
        """
        if not callable(fn):
            raise ValueError(f"fn must be callable; got {type(fn).__name__}")
        # check what can be checked before the (slow) frames are computed
        names, value_lists = _read_params(params)
        _value_labels(names, value_lists, kwargs.get("value_format"))
        _initial_index(names, value_lists, kwargs.get("initial"))
        dpi, colors, _ = _check_render_options(kwargs.get("dpi", DEFAULT_DPI), kwargs.get("colors", 256),
                                               kwargs.get("max_bytes"))
        grid = list(itertools.product(*value_lists))
        if check_bool("progress", progress):
            from tqdm.auto import tqdm

            grid = tqdm(grid, desc="precomputing frames", leave=False)
        frames, described = {}, {}
        for key in grid:
            out = fn(*key)
            # render now, so at most one figure is open at a time; describe it first (alt text)
            if isinstance(out, tuple) and len(out) == 2 and not isinstance(out[0], (bytes, bytearray)):
                described[key] = _describe(out[0])
                out = (figure_to_png(out[0], dpi=dpi, colors=colors), out[1])
            elif not isinstance(out, (bytes, bytearray, tuple)):
                described[key] = _describe(out)
                out = figure_to_png(out, dpi=dpi, colors=colors)
            frames[key] = out
        if kwargs.get("alt") is None and len(described) == len(frames):
            # default alt text: the grid point and what its figure draws (classp.viz.plots.describe)
            kwargs["alt"] = lambda key: (", ".join(f"{n} = {format_value(v)}" for n, v in zip(names, key))
                                         + ". " + described[key])
        return cls(frames, params, **kwargs)

    # ------------------------------------------------------------------ properties
    @property
    def n_frames(self) -> int:
        """Number of grid points (frames)."""
        return len(self.keys)

    @property
    def n_images(self) -> int:
        """Number of distinct PNG images stored (identical frames are stored once)."""
        return len(self._unique)

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) in pixels of the initial frame."""
        return _png_size(self.pngs[self._flat(self.initial_index)])

    def frame(self, *values) -> tuple[bytes, dict]:
        """The PNG and the numbers of one grid point.

        Parameters
        ----------
        *values
            One value per parameter.

        Returns
        -------
        (bytes, dict)
        """
        if len(values) != len(self.param_names):
            raise ValueError(f"frame() needs {len(self.param_names)} values ({', '.join(self.param_names)}); "
                             f"got {len(values)}")
        idx = []
        for n, vals, v in zip(self.param_names, self.param_values, values):
            hv = [_hashable(x) for x in vals]
            if _hashable(v) not in hv:
                raise ValueError(f"{n} = {v!r} is not one of {vals!r}")
            idx.append(hv.index(_hashable(v)))
        k = self._flat(idx)
        return self.pngs[k], dict(self.numbers[k])

    def _flat(self, idx: Sequence[int]) -> int:
        k = 0
        for i, n in zip(idx, self.shape):
            k = k * n + i
        return k

    def _alt(self, alt, key) -> str:
        labels = [format_value(v) for v in key]
        values = ", ".join(f"{n} = {s}" for n, s in zip(self.param_names, labels))
        if alt is None:
            return f"{self.title or 'Figure'}: {values}"
        if callable(alt):
            return str(alt(key))
        if not isinstance(alt, str):
            raise ValueError(f"alt must be None, a str template or a callable; got {type(alt).__name__}")
        try:
            return alt.format(*labels, values=values, title=self.title)
        except (KeyError, IndexError) as e:
            raise ValueError(f"alt template {alt!r}: unknown field {e}; use {{values}}, {{title}} or "
                             f"{{0}}..{{{len(labels) - 1}}}") from None

    # ------------------------------------------------------------------ HTML
    def html(self, element_id: str | None = None) -> str:
        """The slider as an HTML fragment (a ``<div>`` with an inline ``<script>``).

        Parameters
        ----------
        element_id : str, optional
            Id of the outer ``<div>``, the prefix of every other id; default: a fresh
            ``kfs-<hash>-<n>``.

        Returns
        -------
        str
        """
        uid = element_id or f"kfs-{self._digest}-{next(_instance_counter)}"
        if not uid.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"element_id must hold only letters, digits, '-' and '_'; got {element_id!r}")
        e = html.escape
        k0 = self._flat(self.initial_index)
        img0 = self._frame_image[k0]
        uris = ["data:image/png;base64," + base64.b64encode(p).decode("ascii") for p in self._unique]
        w, h = _png_size(self.pngs[k0])
        parts = [f'<div class="classp-slider" id="{uid}" role="group"'
                 + (f' aria-labelledby="{uid}-title"' if self.title else ' aria-label="interactive figure"')
                 + f' data-frame="{k0}" style="border:1px solid #ccc;border-radius:6px;padding:0.6em 0.8em;'
                 'margin:0.8em 0;max-width:100%;overflow-x:auto">']
        if self.title:
            parts.append(f'<p id="{uid}-title" style="margin:0 0 0.4em 0;font-weight:bold">{e(self.title)}</p>')
        parts.append('<div class="classp-slider-controls" style="display:flex;flex-wrap:wrap;gap:0.4em 1.6em">')
        for i, (name, labels) in enumerate(zip(self.param_names, self.value_labels)):
            j = self.initial_index[i]
            parts.append(
                f'<div style="white-space:nowrap"><label for="{uid}-p{i}" style="margin-right:0.4em">{e(name)}</label>'
                f'<input type="range" id="{uid}-p{i}" name="{e(name)}" min="0" max="{len(labels) - 1}" step="1" '
                f'value="{j}" aria-valuetext="{e(labels[j])}"'
                + (' disabled' if len(labels) == 1 else '')
                + f' style="vertical-align:middle"> <output id="{uid}-p{i}-value" for="{uid}-p{i}" '
                f'style="display:inline-block;min-width:4em;font-family:monospace">{e(labels[j])}</output></div>')
        parts.append("</div>")
        parts.append(f'<figure style="margin:0.5em 0"><img id="{uid}-img" src="{uris[img0]}" alt="{e(self.alts[k0])}" '
                     f'width="{w}" height="{h}" style="max-width:100%;height:auto">')
        if self.caption:
            parts.append(f'<figcaption style="font-size:0.9em">{e(self.caption)}</figcaption>')
        parts.append("</figure>")
        if self.number_labels:
            parts.append(f'<table id="{uid}-numbers" aria-live="polite" style="border-collapse:collapse;font-size:0.9em">'
                         '<caption style="text-align:left;font-size:0.9em">Numbers for the chosen setting</caption>'
                         '<tbody>')
            for j, lab in enumerate(self.number_labels):
                parts.append(f'<tr><th scope="row" style="text-align:left;padding:0 1em 0 0;font-weight:normal">{e(lab)}'
                             f'</th><td style="text-align:right;font-family:monospace">'
                             f'<output id="{uid}-n{j}">{e(self.number_text[k0][j])}</output></td></tr>')
            parts.append("</tbody></table>")
        data = {"shape": list(self.shape), "labels": self.value_labels, "frame": self._frame_image,
                "imgs": [None if i == img0 else u for i, u in enumerate(uris)], "img0": img0,
                "alts": self.alts, "nums": self.number_text}
        parts.append("<script>" + _JS.replace("__ID__", uid).replace("__DATA__", _js_literal(data)) + "</script>")
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.html()

    def to_page(self, title: str | None = None) -> str:
        """A complete, standalone HTML page holding the slider (for ``file://`` viewing and tests).

        Parameters
        ----------
        title : str, optional
            The page's ``<title>`` (default: the slider's title).

        Returns
        -------
        str
        """
        t = html.escape(title or self.title or "Kernel-free slider")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title></head>'
                f'<body style="font-family:sans-serif">\n{self.html()}\n</body></html>\n')

    def save(self, path) -> None:
        """Write :meth:`to_page` to ``path`` (UTF-8).

        Parameters
        ----------
        path : str or os.PathLike
        """
        from pathlib import Path

        Path(path).write_text(self.to_page(), encoding="utf-8")

    def __repr__(self) -> str:
        grid = " x ".join(f"{n}[{len(v)}]" for n, v in zip(self.param_names, self.param_values))
        return (f"KernelFreeSlider({grid}, {self.n_frames} frames, {self.n_images} images, "
                f"{sum(map(len, self._unique)):,} PNG bytes)")


def _hashable(v):
    """A dict key for a parameter value (numpy scalars -> Python scalars; 0 == 0.0 == -0.0)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, list):
        return tuple(v)
    return v


# The whole client side.  ES5, no library; __ID__ and __DATA__ are substituted per instance.
_JS = """
(function () {
  var id = "__ID__", D = __DATA__;
  // The script is the last child of its slider; look elements up from there, so the slider also
  // works when a frontend runs the script before the output is attached to the document.
  var me = document.currentScript;
  var root = me && me.parentNode && me.parentNode.id === id ? me.parentNode : document.getElementById(id);
  if (!root) { return; }
  function el(suffix) { return root.querySelector("[id='" + id + suffix + "']"); }
  var img = el("-img");
  if (D.imgs[D.img0] === null) { D.imgs[D.img0] = img.getAttribute("src"); }
  var inputs = [], outs = [], nums = [], i;
  for (i = 0; i < D.shape.length; i++) {
    inputs.push(el("-p" + i));
    outs.push(el("-p" + i + "-value"));
  }
  for (i = 0; i < (D.nums.length ? D.nums[0].length : 0); i++) {
    nums.push(el("-n" + i));
  }
  function show() {
    var k = 0, i, v;
    for (i = 0; i < inputs.length; i++) {
      v = parseInt(inputs[i].value, 10);
      k = k * D.shape[i] + v;
      outs[i].textContent = D.labels[i][v];
      inputs[i].setAttribute("aria-valuetext", D.labels[i][v]);
    }
    img.setAttribute("src", D.imgs[D.frame[k]]);
    img.setAttribute("alt", D.alts[k]);
    for (i = 0; i < nums.length; i++) { nums[i].textContent = D.nums[k][i]; }
    root.setAttribute("data-frame", String(k));
  }
  for (i = 0; i < inputs.length; i++) {
    inputs[i].addEventListener("input", show);
    inputs[i].addEventListener("change", show);
  }
  show();
})();
"""


def slider_figure(frames: Mapping, params: Mapping[str, Sequence], **kwargs) -> KernelFreeSlider:
    """A :class:`KernelFreeSlider` from precomputed frames (the functional spelling).

    Parameters
    ----------
    frames : dict
        ``{(value, ...): figure | png | (figure | png, {label: number})}``, one per grid point.
    params : dict
        ``{label: [values...]}``, the sliders in order.
    **kwargs
        ``title``, ``caption``, ``alt``, ``initial``, ``value_format``, ``number_format``, ``dpi``,
        ``colors``, ``max_bytes``: see :class:`KernelFreeSlider`.

    Returns
    -------
    KernelFreeSlider
        Displays itself in a notebook (``_repr_html_``).
    """
    return KernelFreeSlider(frames, params, **kwargs)


def _describe(fig) -> str:
    """Alt text computed from a frame's figure (issue 13 §3); see :func:`classp.viz.plots.describe`."""
    from .plots import describe

    return describe(fig)
