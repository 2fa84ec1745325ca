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

    from classp.sliders import KernelFreeSlider

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

Two ready-made sliders are here too, the kernel-free twins of the live widgets in
:mod:`classp.widgets`: :func:`effective_lr_slider` (CLASSP's effective learning rate against the
power p) and :func:`density_slider` (update density and forgetting against the threshold τ and p).
Their frame functions :func:`effective_lr_frame` and :func:`density_frame` are what the widgets draw.
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

__all__ = ["KernelFreeSlider", "slider_figure", "figure_to_png", "torch_threads", "effective_lr_frame", "effective_lr_slider",
           "density_frame", "density_slider", "DEFAULT_DPI", "DEFAULT_MAX_BYTES"]

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
    dpi : int, default 100
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
        If ``fig`` has no ``savefig`` (and no ``figure``), or ``dpi`` is outside 10..600.
    """
    if not hasattr(fig, "savefig") and hasattr(fig, "figure"):
        fig = fig.figure
    if not hasattr(fig, "savefig"):
        raise ValueError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    if isinstance(dpi, bool) or not isinstance(dpi, _numbers.Real) or not 10 <= dpi <= 600:
        raise ValueError(f"dpi must be a number in [10, 600]; got {dpi!r}")
    if colors is not None and (isinstance(colors, bool) or not isinstance(colors, _numbers.Integral)
                               or not 2 <= colors <= 256):
        raise ValueError(f"colors must be None or an int in [2, 256]; got {colors!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    if colors is None:
        return buf.getvalue()
    from PIL import Image

    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    pal = img.quantize(colors=int(colors), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


class torch_threads:
    """Context manager: run torch with ``n`` intra-op threads, then restore the previous number.

    The book's digits models are tiny (about 17,000 weights); for them one thread is faster than
    two, and many times faster when other processes compete for the cores (measured: 0.07 s
    against 1.0 s for a split-digits run on a loaded 2-core machine).

    Parameters
    ----------
    n : int or None, default 1
        Threads (>= 1); None leaves the setting alone.
    """

    def __init__(self, n: int | None = 1):
        if n is not None and (isinstance(n, bool) or not isinstance(n, _numbers.Integral) or n < 1):
            raise ValueError(f"n must be None or an int >= 1; got {n!r}")
        self.n = n
        self._old = None

    def __enter__(self):
        if self.n is not None:
            import torch

            self._old = torch.get_num_threads()
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            import torch

            torch.set_num_threads(self._old)
        return False


def _format_value(v: Any) -> str:
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
        if not isinstance(params, Mapping) or not params:
            raise ValueError("params must be a non-empty dict {label: [values...]}")
        self.param_names: list[str] = [str(k) for k in params]
        self.param_values: list[list] = []
        for name, values in params.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise ValueError(f"params[{name!r}] must be a list of values; got {values!r}")
            values = list(values)
            if not values:
                raise ValueError(f"params[{name!r}] must hold at least one value")
            if len(set(map(_hashable, values))) != len(values):
                raise ValueError(f"params[{name!r}] holds a value twice: {values!r}")
            self.param_values.append(values)
        self.shape = tuple(len(v) for v in self.param_values)
        self.title, self.caption = str(title), str(caption)
        if not isinstance(frames, Mapping):
            raise ValueError("frames must be a dict {(value, ...): figure | png | (figure | png, numbers)}")

        # normalise keys and check the grid is complete
        nd = len(self.param_names)
        given = {}
        for key, val in frames.items():
            k = tuple(key) if isinstance(key, tuple) else (key,)
            if len(k) != nd:
                raise ValueError(f"frames key {key!r} has {len(k)} values; params has {nd} ({', '.join(self.param_names)})")
            given[tuple(map(_hashable, k))] = (k, val)
        grid = list(itertools.product(*self.param_values))
        wanted = {tuple(map(_hashable, k)) for k in grid}
        missing = [k for k in grid if tuple(map(_hashable, k)) not in given]
        extra = [given[h][0] for h in given if h not in wanted]
        if missing:
            raise ValueError(f"frames is missing {len(missing)} of the {len(grid)} grid points, e.g. {missing[:3]}")
        if extra:
            raise ValueError(f"frames has {len(extra)} keys outside the params grid, e.g. {extra[:3]}")

        self.keys: list[tuple] = grid
        self.dpi = dpi
        pngs: list[bytes] = []
        numbers: list[dict] = []
        number_labels = None
        for k in grid:
            val = given[tuple(map(_hashable, k))][1]
            fig, nums = (val[0], val[1]) if isinstance(val, tuple) and len(val) == 2 else (val, None)
            if nums is not None and not isinstance(nums, Mapping):
                raise ValueError(f"the numbers of frame {k!r} must be a dict {{label: value}}; got {type(nums).__name__}")
            nums = dict(nums or {})
            if number_labels is None:
                number_labels = list(nums)
            elif list(nums) != number_labels:
                raise ValueError(f"frame {k!r} has numbers {list(nums)}; the first frame has {number_labels}")
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
        self.number_labels: list[str] = [str(s) for s in (number_labels or [])]
        self.numbers: list[dict] = numbers
        self.pngs: list[bytes] = pngs

        # slider value labels and number strings
        vf = dict(value_format or {})
        unknown = sorted(set(vf) - set(self.param_names))
        if unknown:
            raise ValueError(f"value_format names unknown parameter(s) {unknown}; parameters: {self.param_names}")
        self.value_labels = [[_format_value(v) if vf.get(n) is None else
                              (str(vf[n](v)) if callable(vf[n]) else format(v, vf[n])) for v in vals]
                             for n, vals in zip(self.param_names, self.param_values)]
        if isinstance(number_format, Mapping):
            unknown = sorted(set(number_format) - set(self.number_labels))
            if unknown:
                raise ValueError(f"number_format names unknown number(s) {unknown}; numbers: {self.number_labels}")
            specs = [number_format.get(lab) for lab in self.number_labels]
        else:
            specs = [number_format] * len(self.number_labels)
        self.number_text = [[_format_number(nums[lab], spec) for lab, spec in zip(self.number_labels, specs)]
                            for nums in numbers]

        # alt text per grid point
        self.alts = [self._alt(alt, k) for k in grid]

        # initial grid point
        init = dict(initial or {})
        unknown = sorted(set(init) - set(self.param_names))
        if unknown:
            raise ValueError(f"initial names unknown parameter(s) {unknown}; parameters: {self.param_names}")
        self.initial_index: list[int] = []
        for n, vals in zip(self.param_names, self.param_values):
            if n in init:
                hv = [_hashable(v) for v in vals]
                if _hashable(init[n]) not in hv:
                    raise ValueError(f"initial[{n!r}] = {init[n]!r} is not one of params[{n!r}] = {vals!r}")
                self.initial_index.append(hv.index(_hashable(init[n])))
            else:
                self.initial_index.append(0)

        # unique images
        self._unique: list[bytes] = []
        seen: dict[bytes, int] = {}
        self._frame_image: list[int] = []
        for png in pngs:
            h = hashlib.sha1(png).digest()
            if h not in seen:
                seen[h] = len(self._unique)
                self._unique.append(png)
            self._frame_image.append(seen[h])
        self._digest = hashlib.sha1(b"".join(hashlib.sha1(p).digest() for p in pngs)
                                    + _js_literal([self.param_names, self.value_labels, self.number_text]).encode()
                                    ).hexdigest()[:8]
        if max_bytes is not None:
            if isinstance(max_bytes, bool) or not isinstance(max_bytes, _numbers.Integral) or max_bytes < 1:
                raise ValueError(f"max_bytes must be None or an int >= 1; got {max_bytes!r}")
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
        if not isinstance(params, Mapping) or not params:
            raise ValueError("params must be a non-empty dict {label: [values...]}")
        grid = list(itertools.product(*[list(v) for v in params.values()]))
        if progress:
            from tqdm.auto import tqdm

            grid = tqdm(grid, desc="precomputing frames", leave=False)
        dpi, colors = kwargs.get("dpi", DEFAULT_DPI), kwargs.get("colors", 256)
        frames = {}
        for key in grid:
            out = fn(*key)
            # render now, so at most one figure is open at a time
            if isinstance(out, tuple) and len(out) == 2 and not isinstance(out[0], (bytes, bytearray)):
                out = (figure_to_png(out[0], dpi=dpi, colors=colors), out[1])
            elif not isinstance(out, (bytes, bytearray, tuple)):
                out = figure_to_png(out, dpi=dpi, colors=colors)
            frames[key] = out
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
        labels = [_format_value(v) for v in key]
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


# ------------------------------------------------------------------------------------------ ready-made
def _check_positive(name: str, value, allow_zero: bool = False) -> float:
    ok = isinstance(value, _numbers.Real) and not isinstance(value, bool) and math.isfinite(value) \
        and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}; got {value!r}")
    return float(value)


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, _numbers.Integral) or not 2 <= steps <= 100_000:
        raise ValueError(f"steps must be an int in [2, 100000]; got {steps!r}")
    return int(steps)


def effective_lr_trace(power: float, grad: float = 1.0, lr: float = 0.03, eps: float = 1e-8,
                       steps: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Step sizes of :class:`classp.CLASSP` on one weight that always receives the gradient ``grad``.

    The real optimizer runs (threshold 0, ``accumulate="updated"``); with the accumulator
    ``S_t = t |g|^p`` the effective learning rate is ``lr / (eps + t |g|^p)^(1/p)``.

    Parameters
    ----------
    power : float
        CLASSP's ``power`` p (> 0).
    grad : float, default 1.0
        The constant gradient (its sign does not matter; > 0).
    lr : float, default 0.03
    eps : float, default 1e-8
    steps : int, default 200
        Number of optimizer steps (2..100,000).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``effective_lr[t] = |w_{t+1} - w_t| / |g|`` and ``step[t] = |w_{t+1} - w_t|`` for t = 0..steps-1.
    """
    import torch

    from ..optim import CLASSP

    power = _check_positive("power", power)
    grad = _check_positive("grad", grad)
    lr = _check_positive("lr", lr)
    eps = _check_positive("eps", eps, allow_zero=True)
    steps = _check_steps(steps)
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = CLASSP([w], lr=lr, threshold=0.0, power=power, eps=eps)
    g = torch.full((1,), grad, dtype=torch.float64)
    moves = np.empty(steps)
    for t in range(steps):
        before = float(w.detach())
        w.grad = g.clone()
        opt.step()
        moves[t] = abs(float(w.detach()) - before)
    return moves / grad, moves


def effective_lr_frame(power: float, grad: float = 1.0, *, lr: float = 0.03, eps: float = 1e-8, steps: int = 200,
                       compare: Sequence[float] = (1.0, 2.0), figsize=(7.0, 2.6)):
    """Figure and numbers: CLASSP's effective learning rate and step size against the step, for one p.

    Left: effective learning rate ``lr/(eps + S_t)^(1/p)`` (log-log) for ``power`` and, thin, for
    the powers in ``compare``; right: the distance the weight has travelled, ``sum of |Δw|``.

    Parameters
    ----------
    power : float
        p (> 0).
    grad : float, default 1.0
        The constant gradient |g| the weight receives at every step (> 0).
    lr, eps, steps
        See :func:`effective_lr_trace`.
    compare : sequence of float, default (1, 2)
        Other powers drawn as thin grey references.
    figsize : (float, float), default (7, 2.6)

    Returns
    -------
    (matplotlib.figure.Figure, dict)
        The figure (not managed by pyplot) and the numbers ``effective lr at step 1``, ``... 10``,
        ``... 100`` (when ``steps`` reaches them) and ``distance after N steps``.
    """
    from matplotlib.figure import Figure

    eff, moves = effective_lr_trace(power, grad, lr, eps, steps)
    t = np.arange(1, len(eff) + 1)
    fig = Figure(figsize=figsize, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for q, ls in zip(compare, itertools.cycle(styles)):
        if float(q) != float(power):
            e_q, m_q = effective_lr_trace(q, grad, lr, eps, steps)
            ax1.loglog(t, e_q, color="0.45", lw=1.2, ls=ls, label=f"p = {_format_value(q)}")
            ax2.plot(t, np.cumsum(m_q), color="0.45", lw=1.2, ls=ls, label=f"p = {_format_value(q)}")
    ax1.loglog(t, eff, color="C3", lw=2, label=f"p = {_format_value(power)}")
    ax1.set_xlabel("step t (the weight is updated every step)")
    ax1.set_ylabel("effective learning rate")
    ax1.set_title(f"lr / (ε + S_t)^(1/p), |g| = {_format_value(grad)}", fontsize=10)
    ax1.legend(fontsize=8, frameon=False)
    ax2.plot(t, np.cumsum(moves), color="C3", lw=2, label=f"p = {_format_value(power)}")
    ax2.legend(fontsize=8, frameon=False)
    ax2.set_xlabel("step t")
    ax2.set_ylabel("distance travelled Σ|Δw|")
    ax2.set_title("How far the weight can still move", fontsize=10)
    nums = {}
    for s in (1, 10, 100):
        if s <= len(eff):
            nums[f"effective lr at step {s}"] = float(eff[s - 1])
    nums[f"distance after {len(eff)} steps"] = float(moves.sum())
    return fig, nums


def effective_lr_slider(powers: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
                        grads: Sequence[float] = (0.1, 1.0, 10.0), *, lr: float = 0.03, eps: float = 1e-8,
                        steps: int = 200, dpi: int = DEFAULT_DPI, initial: Mapping | None = None) -> KernelFreeSlider:
    """Kernel-free slider over p x |g| of CLASSP's effective learning rate (twin of
    :func:`classp.widgets.effective_lr_explorer`).

    Parameters
    ----------
    powers : sequence of float
        Values of p on the first slider.
    grads : sequence of float
        Values of the constant gradient |g| on the second slider.
    lr, eps, steps
        See :func:`effective_lr_trace`.
    dpi : int, default 100
    initial : dict, optional
        E.g. ``{"p": 2.0, "|g|": 1.0}``.

    Returns
    -------
    KernelFreeSlider
        One small frame per (p, |g|) pair (18 by default); matplotlib renders each in about half a
        second here, so the default slider takes about ten seconds.
    """
    return KernelFreeSlider.from_function(
        lambda p, g: effective_lr_frame(p, g, lr=lr, eps=eps, steps=steps),
        {"p": list(powers), "|g|": list(grads)},
        title="CLASSP's effective learning rate against the power p",
        caption=f"One weight receiving the same gradient |g| at every step (lr = {lr:g}, ε = {eps:g}, "
                "threshold 0). Grey, dashed and dotted: p = 1 and p = 2 for reference.",
        alt="Log-log plot of CLASSP's effective learning rate against the step, and the distance the weight "
            "has travelled, for {values}",
        initial=initial or {"p": 2.0 if 2.0 in list(powers) else list(powers)[0]},
        number_format=".4g", dpi=dpi)


def density_frame(threshold: float, power: float, *, sequence: str = "split-digits", seed: int = 0, epochs: int = 1,
                  lr: float | None = None, sequence_options: Mapping | None = None, figsize=(7.5, 2.7),
                  result=None, threads: int | None = 1):
    """Figure and numbers: update density per step and the per-weight "last task" map of one CLASSP run.

    Parameters
    ----------
    threshold : float
        CLASSP's τ (>= 0).
    power : float
        CLASSP's p (> 0).
    sequence : str, default "split-digits"
        A sequence name for :func:`classp.train.run`.
    seed : int, default 0
    epochs : int, default 1
    lr : float, optional
        Default: the ``classp`` method's.
    sequence_options : dict, optional
    figsize : (float, float), default (7.5, 2.7)
    result : Result, optional
        Draw this run instead of training (for callers that already ran it).
    threads : int or None, default 1
        Torch threads while training (see :class:`torch_threads`; results do not depend on it).

    Returns
    -------
    (matplotlib.figure.Figure, dict)
        The figure (not managed by pyplot) and the numbers ``mean density``, ``weights never changed``,
        ``forgetting``, ``average accuracy``.
    """
    from matplotlib.figure import Figure

    from . import plots

    if result is None:
        from ..lab.train import run

        _check_positive("threshold", threshold, allow_zero=True)
        _check_positive("power", power)
        with torch_threads(threads):
            result = run("classp", sequence, seed=seed, epochs=epochs, lr=lr,
                         options={"threshold": float(threshold), "power": float(power)},
                         sequence_options=dict(sequence_options or {}) or None, progress=False)
    m = result.metrics()
    fig = Figure(figsize=figsize, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1])
    plots.plot_density(result, ax=ax1, title=f"Update density, τ = {_format_value(threshold)}, p = {_format_value(power)}")
    plots.plot_last_changed(result, ax=ax2, title="Task that last changed each weight")
    for a in (ax1, ax2):
        a.title.set_fontsize(9)
        a.xaxis.label.set_fontsize(8)
        a.yaxis.label.set_fontsize(8)
        a.tick_params(labelsize=7)
    never = float(np.mean(np.asarray(result.last_changed) < 0))
    nums = {"mean density": float(m["mean_density"]), "weights never changed": never,
            "forgetting": float(m["forgetting"]), "average accuracy": float(m["average_accuracy"])}
    return fig, nums


def density_slider(thresholds: Sequence[float] = (0.0, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3),
                   powers: Sequence[float] = (1.0, 2.0, 4.0), *, sequence: str = "split-digits", seed: int = 0,
                   epochs: int = 1, lr: float | None = None, sequence_options: Mapping | None = None,
                   dpi: int = DEFAULT_DPI, initial: Mapping | None = None, progress: bool = False) -> KernelFreeSlider:
    """Kernel-free slider over τ x p of CLASSP's update density and forgetting (one run per grid point;
    twin of :func:`classp.widgets.density_explorer`).

    Parameters
    ----------
    thresholds : sequence of float
        Values of τ (>= 0).
    powers : sequence of float
        Values of p (> 0).
    sequence, seed, epochs, lr, sequence_options
        Passed to :func:`classp.train.run` with method ``"classp"``.
    dpi : int, default 100
    initial : dict, optional
        E.g. ``{"τ": 1e-6, "p": 1.0}`` (default: τ = 1e-6 if present, the first p).
    progress : bool, default False
        A tqdm bar over the grid.

    Returns
    -------
    KernelFreeSlider
        The default 6 x 3 grid on split-digits takes about 10-15 s on 2 CPU cores.
    """
    thresholds, powers = list(thresholds), list(powers)
    for t in thresholds:
        _check_positive("thresholds", t, allow_zero=True)
    for p in powers:
        _check_positive("powers", p)
    seq_label = sequence + (f" ({', '.join(f'{k}={v}' for k, v in sequence_options.items())})" if sequence_options else "")
    if initial is None:
        initial = {"τ": 1e-6 if 1e-6 in thresholds else thresholds[0], "p": powers[0]}
    return KernelFreeSlider.from_function(
        lambda tau, p: density_frame(tau, p, sequence=sequence, seed=seed, epochs=epochs, lr=lr,
                                     sequence_options=sequence_options),
        {"τ": thresholds, "p": powers},
        title=f"Update density and forgetting against τ and p (CLASSP on {seq_label}, seed {seed})",
        caption="Left: fraction of the weights changed by each step (dashed lines: task boundaries). "
                "Right: every weight of the network, coloured by the last task that changed it "
                "(grey: never changed, capacity left for future tasks).",
        alt="Update density per training step and a per-weight map of the task that last changed each weight, "
            "for CLASSP with {values}",
        initial=initial, number_format={"mean density": ".3f", "weights never changed": ".1%",
                                        "forgetting": ".3f", "average accuracy": ".3f"},
        dpi=dpi, progress=progress)
