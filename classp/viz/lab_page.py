"""The kernel-free lab: the stability-plasticity lab drawn in the browser from a grid of stored runs.

:func:`kernel_free_lab` reads ``book/results/lab_grid.json`` (:mod:`classp.viz.lab_grid`) and returns
a :class:`KernelFreeLab`, which displays itself (``_repr_html_``) as the lab's four pictures for two
settings side by side, **A** and **B**, each with the live lab's controls (method, task sequence,
learning rate, τ, p, decay, λ, seed), and a table of the exact numbers of both settings and their
difference.  The pictures are Vega-Lite charts (built with Altair): numbers, not screenshots, so
the reader can hover for exact values.  The data of every grid point is in the page; a control
filters it, in the browser, with no kernel and no network.

The page needs the JavaScript of Vega, Vega-Lite and vega-embed.  The book ships them in its
``_static`` folder (``scripts/vendor_js.sh``; ``book/_ext/classp_vega.py`` adds them to the pages
that hold a chart); elsewhere (JupyterLab, Notebook) the output loads them from the jsDelivr CDN.

Why Vega-Lite and not the PNG frames of :mod:`classp.viz.kernel_free`: the lab has eight controls
per setting and about a thousand grid points; a frame per point and picture would weigh tens of MB,
while the runs' numbers fit in about 2 MB and are drawn in a few ms.
"""
from __future__ import annotations

import html
import itertools
import json
import re
from typing import Mapping

from .._validation import check_choice, check_int
from .lab_grid import GRID_METHODS, REGULARISED, check_lab_grid, load_lab_grid
from .plots import PALETTE

__all__ = ["kernel_free_lab", "KernelFreeLab", "lab_spec", "page_rows", "METHOD_LABELS", "VEGA_VERSIONS",
           "VEGA_CDN"]

#: The versions the book vendors (scripts/vendor_js.sh), compatible with Altair's Vega-Lite schema.
VEGA_VERSIONS = {"vega": "6.2.0", "vega-lite": "6.4.1", "vega-embed": "7.0.2"}

#: Where the output loads them from outside the book (Jupyter).
VEGA_CDN = [f"https://cdn.jsdelivr.net/npm/{name}@{v}" for name, v in VEGA_VERSIONS.items()]

#: How the lab names its methods.
METHOD_LABELS = {"classp": "CLASSP", "sgd": "SGD", "sgd-decay": "SGD, decaying lr", "adam": "Adam",
                 "adagrad": "AdaGrad", "ewc": "EWC", "si": "SI", "mas": "MAS", "joint": "joint (upper reference)"}

_MAP_WIDTH = 24
_counter = itertools.count()


def _factor_label(f: float) -> str:
    return "tuned" if f == 1 else f"tuned ×{f:g}"


def page_rows(doc: Mapping) -> list[dict]:
    """One compact row per run, as the page's charts and table read them.

    ``k`` (the grid point's key), ``T`` (tasks), ``acc`` (accuracy matrix, row-major), ``cs``/``cv``
    (curve steps, accuracies step-major), ``tb`` (task boundaries), ``ds``/``dv`` (density block
    length, values), ``mp`` (per-weight map), ``lr``, ``opt`` (options as text), the numbers
    (``avg``, ``fgt``, ``dens``, ``never``, ``last``, ``steps``) and ``div`` (diverged).
    """
    rows = []
    for r in doc["runs"]:
        row = {"k": r["key"], "rm": r["registry_method"], "lr": r["lr"], "div": r["diverged"],
               "opt": ", ".join(f"{k} = {v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool)
                                else f"{k} = {v}" for k, v in sorted(r["options"].items()))}
        if not r["diverged"]:
            acc = r["accuracy_matrix"]
            m = r["metrics"]
            row.update(T=len(acc), acc=[v for line in acc for v in line], cs=r["curve"]["steps"],
                       cv=[v for line in r["curve"]["accuracy"] for v in line], tb=r["task_boundaries"][1:],
                       ds=r["density"]["stride"], dv=r["density"]["values"], mp=r["map"], avg=m["average_accuracy"],
                       fgt=m["forgetting"], dens=m["mean_density"], never=m["never_changed"],
                       last=m["last_task_share"], steps=r["n_steps"])
        rows.append(row)
    return rows


def _params(cfg: Mapping, side: str, element: str, initial: Mapping) -> list:
    """The controls of one setting (Vega-Lite parameters bound to inputs in ``element``)."""
    import altair as alt

    def select(name, options, labels, value, text):
        return alt.param(name=f"{side}_{name}", value=value,
                         bind=alt.binding_select(options=list(options), labels=list(labels), name=text,
                                                 element=element))

    idx = lambda values: list(range(len(values)))  # noqa: E731
    fmt = lambda v: "0" if v == 0 else f"{v:g}"  # noqa: E731
    methods = [m for m in GRID_METHODS if m in cfg["methods"]]
    p = [select("m", methods, [METHOD_LABELS[m] for m in methods], initial["method"], "method "),
         select("s", cfg["sequences"], cfg["sequences"], initial["sequence"], "task sequence "),
         select("lr", idx(cfg["lr_factors"]), [_factor_label(f) for f in cfg["lr_factors"]], initial["lr_i"],
                "learning rate "),
         select("tau", idx(cfg["thresholds"]), [fmt(t) for t in cfg["thresholds"]], initial["tau_i"],
                "CLASSP τ "),
         select("p", idx(cfg["powers"]), [fmt(v) for v in cfg["powers"]], initial["p_i"], "CLASSP p "),
         alt.param(name=f"{side}_decay", value=bool(initial["decay"]),
                   bind=alt.binding_checkbox(name="CLASSP decay ", element=element)),
         select("str", idx(cfg["strength_factors"]), [_factor_label(f) for f in cfg["strength_factors"]],
                initial["strength_i"], "EWC/MAS λ, SI c "),
         select("seed", cfg["seeds"], [str(s) for s in cfg["seeds"]], initial["seed"], "seed ")]
    x = side
    reg = json.dumps(list(REGULARISED))
    key = (f"{x}_m + '|' + {x}_s + '|' + {x}_seed + '|' + {x}_lr + '|' + "
           f"({x}_m == 'classp' ? {x}_tau + '|' + ({x}_decay ? {x}_p : -1) + '|' + ({x}_decay ? 1 : 0) "
           f": '-1|-1|-1') + '|' + (indexof({reg}, {x}_m) >= 0 ? {x}_str : -1)")
    return p + [alt.param(name=f"{x}_key", expr=key)]


def _charts(data, side: str, width: int):
    """The four pictures of one setting."""
    import altair as alt

    S = side.upper()
    base = alt.Chart(data).transform_filter(f"datum.k == {side}_key && !datum.div")
    task_colors = alt.Scale(domain=[f"task {i}" for i in range(1, 6)], range=list(PALETTE[:5]))
    # flatten the array with its positions (n = 1, 2, ...): parallel arrays, no window transform
    flat = lambda field: base.transform_calculate(n=f"sequence(1, length(datum.{field}) + 1)").transform_flatten(  # noqa: E731
        [field, "n"], as_=["v", "n"])
    m = flat("acc").transform_calculate(
        after="floor((datum.n - 1) / datum.T) + 1", task="(datum.n - 1) % datum.T + 1",
        desc=f"'{S}: after task ' + datum.after + ', accuracy on task ' + datum.task + ' = ' + format(datum.v, '.4f')")
    enc = dict(x=alt.X("task:O", title="task evaluated", axis=alt.Axis(labelAngle=0)),
               y=alt.Y("after:O", title="after training task"))
    matrix = alt.layer(
        m.mark_rect().encode(**enc, color=alt.Color("v:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"),
                                                    title="accuracy"),
                             tooltip=[alt.Tooltip("after:O", title="after task"), alt.Tooltip("task:O", title="task"),
                                      alt.Tooltip("v:Q", title="accuracy", format=".4f")],
                             description="desc:N"),
        m.mark_text(fontSize=10, aria=False).encode(**enc, text=alt.Text("v:Q", format=".2f"),
                                                    color=alt.condition("datum.v > 0.6", alt.value("white"),
                                                                        alt.value("black"))),
    ).properties(width=width * 0.7, height=width * 0.6, title=f"{S}: accuracy matrix")
    rules = base.transform_flatten(["tb"], as_=["b"]).mark_rule(strokeDash=[4, 3], color="#888", aria=False).encode(
        x="b:Q")
    c = flat("cv").transform_calculate(
        point="floor((datum.n - 1) / datum.T)", task="'task ' + ((datum.n - 1) % datum.T + 1)",
        step="datum.cs[floor((datum.n - 1) / datum.T)]",
        desc=f"'{S}: ' + datum.task + ' at step ' + datum.step + ': accuracy ' + format(datum.v, '.4f')")
    curves = alt.layer(c.mark_line(point=True).encode(
        x=alt.X("step:Q", title="training step"), y=alt.Y("v:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("task:N", scale=task_colors, title="task", legend=alt.Legend(orient="bottom")),
        description="desc:N",
        tooltip=[alt.Tooltip("task:N"), alt.Tooltip("step:Q"), alt.Tooltip("v:Q", title="accuracy", format=".4f")]),
        rules).properties(width=width, height=width * 0.5, title=f"{S}: accuracy over time (dashed: task boundaries)")
    d = flat("dv").transform_calculate(
        step="(datum.n - 1) * datum.ds", end="datum.n * datum.ds - 1",
        desc=f"'{S}: steps ' + datum.step + '-' + datum.end + ': mean update density ' + format(datum.v, '.4f')")
    density = alt.layer(d.mark_line(point=True, color=PALETTE[0]).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("v:Q", title="share of weights changed", scale=alt.Scale(domain=[0, 1])), description="desc:N",
        tooltip=[alt.Tooltip("step:Q", title="from step"), alt.Tooltip("end:Q", title="to step"),
                 alt.Tooltip("v:Q", title="mean density", format=".4f")]),
        rules).properties(width=width, height=width * 0.4, title=f"{S}: update density per step")
    labels = ["never changed"] + [f"task {i}" for i in range(1, 6)]
    w = base.transform_calculate(cells="split(datum.mp, '')", n="sequence(1, length(datum.mp) + 1)").transform_flatten(
        ["cells", "n"], as_=["c", "n"]).transform_calculate(
        col=f"(datum.n - 1) % {_MAP_WIDTH}", row=f"floor((datum.n - 1) / {_MAP_WIDTH})",
        last="datum.c == '.' ? 'never changed' : 'task ' + (toNumber(datum.c) + 1)",
        desc=f"'{S}: weight ' + datum.n + ' of the sample: ' + datum.last")
    wmap = w.mark_rect().encode(
        x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None), description="desc:N",
        color=alt.Color("last:N", title="last changed by", scale=alt.Scale(domain=labels, range=["#d4d4d4", *PALETTE[:5]]),
                        legend=alt.Legend(orient="bottom", columns=3)),
        tooltip=[alt.Tooltip("n:Q", title="weight of the sample"), alt.Tooltip("last:N", title="last changed by")],
    ).properties(width=width * 0.6, height=width * 0.6, title=f"{S}: task that last changed each weight (a sample)")
    return matrix, curves, density, wmap


def lab_spec(doc: Mapping, element_id: str, initial_a: Mapping | None = None, initial_b: Mapping | None = None,
             width: int = 260) -> dict:
    """The Vega-Lite specification (a dict) of the kernel-free lab for the grid ``doc``.

    Parameters
    ----------
    doc : dict
        A lab grid (:func:`classp.viz.lab_grid.load_lab_grid`).
    element_id : str
        The id of the page element that holds the controls (``#<id>-ctl-a``, ``#<id>-ctl-b``).
    initial_a, initial_b : dict, optional
        The first settings shown: ``method``, ``sequence``, ``seed`` and indices ``lr_i``, ``tau_i``,
        ``p_i``, ``decay``, ``strength_i`` (default: CLASSP against SGD on the first sequence).
    width : int, default 260
        Width of one picture in pixels (150..600).
    """
    import altair as alt

    width = check_int("width", width, 150, 600)
    _check_element_id(element_id)
    cfg = doc["config"]
    a = _initial(cfg, initial_a, "classp")
    b = _initial(cfg, initial_b, "sgd" if "sgd" in cfg["methods"] else cfg["methods"][0])
    data = alt.NamedData(name="runs")  # the rows go once into the top-level datasets
    pa, pb = _charts(data, "a", width), _charts(data, "b", width)
    rows = [alt.hconcat(x, y).resolve_scale(color="independent") for x, y in zip(pa, pb)]
    chart = alt.vconcat(*rows).resolve_scale(color="independent").add_params(
        *_params(cfg, "a", f"#{element_id}-ctl-a", a), *_params(cfg, "b", f"#{element_id}-ctl-b", b)
    ).configure_view(stroke=None)
    spec = chart.to_dict()
    spec["datasets"] = {"runs": page_rows(doc)}
    return spec


def _check_element_id(element_id) -> None:
    if not isinstance(element_id, str) or not re.fullmatch(r"[A-Za-z][\w-]{0,99}", element_id):
        raise ValueError(f"element_id must be a str of letters, digits, '-' and '_' starting with a letter; "
                         f"got {element_id!r}")


_ID = "classpLabStandInId"  # replaced by each display's own id


def _initial(cfg: Mapping, given: Mapping | None, method: str) -> dict:
    out = {"method": method, "sequence": cfg["sequences"][0], "seed": cfg["seeds"][0],
           "lr_i": _index(cfg["lr_factors"], 1.0), "tau_i": _index(cfg["thresholds"], 1e-6),
           "p_i": _index(cfg["powers"], 1.0), "decay": True, "strength_i": _index(cfg["strength_factors"], 1.0)}
    given = dict(given or {})
    unknown = sorted(set(given) - set(out))
    if unknown:
        raise ValueError(f"initial setting has unknown key(s) {unknown}; accepted: {sorted(out)}")
    out.update(given)
    check_choice("method", out["method"], tuple(cfg["methods"]))
    check_choice("sequence", out["sequence"], tuple(cfg["sequences"]))
    check_choice("seed", out["seed"], tuple(cfg["seeds"]))
    for k, values in (("lr_i", "lr_factors"), ("tau_i", "thresholds"), ("p_i", "powers"),
                      ("strength_i", "strength_factors")):
        out[k] = check_int(k, out[k], 0, len(cfg[values]) - 1)
    return out


def _index(values, v) -> int:
    values = list(values)
    return values.index(v) if v in values else len(values) // 2


class KernelFreeLab:
    """The kernel-free lab of a grid: displays itself as HTML (controls, charts, numbers).

    Attributes
    ----------
    doc : dict
        The grid (as read by :func:`classp.viz.lab_grid.load_lab_grid`).
    n_runs : int
        Grid points in the page.
    """

    def __init__(self, doc: Mapping, initial_a: Mapping | None = None, initial_b: Mapping | None = None,
                 width: int = 260, renderer: str = "canvas"):
        self.doc = check_lab_grid(doc)
        self.renderer = check_choice("renderer", renderer, ("canvas", "svg"))
        self._initial = (initial_a, initial_b)
        self._width = check_int("width", width, 150, 600)
        # built once (Altair takes a second or two), with a stand-in id that html() replaces; this also
        # refuses bad settings now, not when displayed
        self._spec_json = _script_json(lab_spec(self.doc, _ID, *self._initial, width=self._width))
        self.n_runs = len(doc["runs"])

    def spec(self, element_id: str = "classp-lab") -> dict:
        """The Vega-Lite specification (see :func:`lab_spec`), its controls bound into ``#<element_id>-ctl-a/b``."""
        _check_element_id(element_id)
        return json.loads(self._spec_json.replace(_ID, element_id))

    def html(self) -> str:
        """The self-contained HTML: two control panels, the chart's container, the numbers, the script."""
        eid = f"classp-lab-{next(_counter)}"
        head = '<tr><th scope="col">number</th><th scope="col">A</th><th scope="col">B</th><th scope="col">B − A</th></tr>'
        rows = "".join(f'<tr data-field="{f}"><th scope="row">{html.escape(label)}</th>'
                       + "".join(f'<td data-side="{x}" style="text-align:right;padding:0.1em 0.8em"></td>' for x in "abd")
                       + "</tr>" for f, label in _READOUT)
        panel = ('<fieldset id="{eid}-ctl-{x}" class="classp-lab-controls" style="flex:1 1 300px;min-width:0;'
                 'border:1px solid #ccc;padding:0.3em 0.6em"><legend>Setting {X}</legend></fieldset>')
        js = (_JS.replace("__ID__", eid).replace("__RENDERER__", self.renderer).replace("__SPEC__", self._spec_json.replace(_ID, eid))
              .replace("__CDN__", _script_json(VEGA_CDN)))
        return (f'<div id="{eid}" class="classp-vega classp-lab" data-runs="{self.n_runs}" style="max-width:100%">'
                f'<div style="display:flex;flex-wrap:wrap;gap:0.8em">{panel.format(eid=eid, x="a", X="A")}'
                f'{panel.format(eid=eid, x="b", X="B")}</div>'
                f'<p class="classp-lab-status" role="status" style="margin:0.3em 0">Drawing the lab …</p>'
                f'<div style="overflow-x:auto"><table class="classp-lab-numbers" style="font-variant-numeric:tabular-nums">'
                f'<caption style="text-align:left">Exact numbers of settings A and B (from the stored runs)</caption>'
                f'<thead>{head}</thead><tbody>{rows}</tbody></table></div>'
                f'<div id="{eid}-chart" style="overflow-x:auto"></div><script>{js}</script></div>')

    def _repr_html_(self) -> str:
        return self.html()


def _script_json(obj) -> str:
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return s.replace("</", "<\\/").replace("<!--", "<\\!--").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def kernel_free_lab(path="results/lab_grid.json", *, initial_a: Mapping | None = None,
                    initial_b: Mapping | None = None, width: int = 260, renderer: str = "canvas") -> KernelFreeLab:
    """The kernel-free lab of chapter 12, drawn from the stored grid of runs.

    Parameters
    ----------
    path : str or os.PathLike, default "results/lab_grid.json"
        The grid file (relative paths from the working directory: ``book/`` in the book).
    initial_a, initial_b : dict, optional
        The settings shown first (``method``, ``sequence``, ``seed``, ``lr_i``, ``tau_i``, ``p_i``,
        ``decay``, ``strength_i``); default CLASSP (A) against SGD (B).
    width : int, default 260
        Width of one picture in pixels (150..600).
    renderer : {"canvas", "svg"}, default "canvas"
        How Vega draws. Canvas redraws a change in a few tens of ms on a long book page; SVG gives
        every mark its own ``aria-label`` but updates about 1,500 DOM nodes per change (measured 3-5x
        slower on chapter 12's page). The marks' descriptions stay readable from the view's
        scenegraph either way, and the numbers table holds the exact values.

    Returns
    -------
    KernelFreeLab
        Displays itself in a notebook or a built page.

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing or corrupt grid file (see :func:`classp.viz.lab_grid.load_lab_grid`) or a
        bad initial setting.
    """
    return KernelFreeLab(load_lab_grid(path), initial_a=initial_a, initial_b=initial_b, width=width,
                         renderer=renderer)


#: The rows of the numbers table: (field of a page row, label).
_READOUT = (("rm", "method run"), ("lr", "learning rate"), ("opt", "options"), ("avg", "average accuracy"),
            ("fgt", "forgetting"), ("dens", "mean update density"), ("never", "weights never changed"),
            ("last", "weights last changed by the last task"), ("steps", "steps"))

_JS = r"""
(function () {
  var id = "__ID__", spec = __SPEC__, cdn = __CDN__;
  var me = document.currentScript;
  var root = me && me.parentNode && me.parentNode.id === id ? me.parentNode : document.getElementById(id);
  if (!root) { return; }
  var status = root.querySelector(".classp-lab-status");
  var rows = spec.datasets.runs, byKey = {}, i;
  for (i = 0; i < rows.length; i++) { byKey[rows[i].k] = rows[i]; }
  var NUM = {lr: 1, avg: 1, fgt: 1, dens: 1, never: 1, last: 1, steps: 1};
  function text(f, v) {
    if (v === undefined || v === null) { return "—"; }
    if (f === "lr") { return String(v); }
    if (f === "steps") { return String(v); }
    return NUM[f] ? v.toFixed(4) : String(v);
  }
  function readout(view) {
    var keys = {a: view.signal("a_key"), b: view.signal("b_key")}, r = {a: byKey[keys.a], b: byKey[keys.b]};
    var trs = root.querySelectorAll(".classp-lab-numbers tbody tr"), j, f, s, td, v, msg = [];
    for (j = 0; j < trs.length; j++) {
      f = trs[j].getAttribute("data-field");
      ["a", "b"].forEach(function (x) {
        td = trs[j].querySelector("td[data-side='" + x + "']");
        v = r[x] ? r[x][f] : undefined;
        td.textContent = (r[x] && r[x].div && f === "avg") ? "diverged" : text(f, v);
        td.setAttribute("data-value", v === undefined || v === null ? "" : String(v));
      });
      td = trs[j].querySelector("td[data-side='d']");
      if (NUM[f] && f !== "lr" && f !== "steps" && r.a && r.b && !r.a.div && !r.b.div) {
        v = r.b[f] - r.a[f];
        td.textContent = (v > 0 ? "+" : v < 0 ? "−" : "") + Math.abs(v).toFixed(4);
        td.setAttribute("data-value", String(v));
      } else { td.textContent = ""; td.setAttribute("data-value", ""); }
    }
    ["a", "b"].forEach(function (x) {
      root.setAttribute("data-key-" + x, keys[x]);
      if (!r[x]) { msg.push(x.toUpperCase() + ": this setting is not in the grid"); }
      else if (r[x].div) { msg.push(x.toUpperCase() + ": the loss diverged (no pictures)"); }
      var m = view.signal(x + "_m"), used = {tau: m === "classp", p: m === "classp" && view.signal(x + "_decay"),
        decay: m === "classp", str: ["ewc", "si", "mas"].indexOf(m) >= 0};
      Object.keys(used).forEach(function (k) {
        var el = root.querySelector("#" + id + "-ctl-" + x + " [name='" + x + "_" + k + "']");
        if (el) { var box = el.closest(".vega-bind") || el; box.style.opacity = used[k] ? "1" : "0.45";
                  box.title = used[k] ? "" : "not used by this method"; }
      });
    });
    status.textContent = msg.join("; ");
  }
  function go() {
    vegaEmbed("#" + id + "-chart", spec, {renderer: "__RENDERER__", actions: false}).then(function (res) {
      var view = res.view;
      window.classpLab = window.classpLab || {};
      window.classpLab[id] = view;
      view.addSignalListener("a_key", function () { readout(view); });
      view.addSignalListener("b_key", function () { readout(view); });
      readout(view);
      root.setAttribute("data-ready", "1");
    }).catch(function (e) { status.textContent = "The lab could not be drawn: " + e; });
  }
  function load(urls, done) {
    if (!urls.length) { done(); return; }
    var s = document.createElement("script");
    s.src = urls[0];
    s.onload = function () { load(urls.slice(1), done); };
    s.onerror = function () { status.textContent = "Could not load " + urls[0] + " (Vega is needed to draw the lab)."; };
    document.head.appendChild(s);
  }
  if (window.vegaEmbed) { go(); } else {
    // outside the book (Jupyter): fetch Vega from the CDN, as plain globals even where RequireJS is loaded
    var amd = window.define;
    window.define = undefined;
    load(cdn, function () { window.define = amd; go(); });
  }
})();
"""
