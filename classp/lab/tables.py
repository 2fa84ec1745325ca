"""Result tables: mean ± std over seeds, one row per method.

* :func:`summarize` -- runs (:class:`~classp.lab.results.Result`) to rows: for each label and
  sequence, the number of seeds, the mean and sample standard deviation of every metric in
  :data:`~classp.lab.results.METRIC_NAMES`, the state bytes and the wall time;
* :func:`format_table` -- those rows as plain text with ``mean ± std`` cells.

>>> print(format_table([{"method": "sgd", "average_accuracy": 0.8, "average_accuracy_std": 0.05}]))
method        avg acc
------  -------------
sgd     0.800 ± 0.050
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from .._validation import check_int
from .results import METRIC_NAMES, Result

__all__ = ["summarize", "format_table"]


def summarize(results: Iterable[Result]) -> list[dict]:
    """Mean and standard deviation over seeds, one row per (label, sequence).

    Parameters
    ----------
    results : iterable of Result
        Runs, e.g. from :func:`classp.lab.train.compare`.  Rows keep the order in which labels first
        appear.

    Returns
    -------
    list of dict
        One dict per row with keys ``method`` (the label), ``sequence``, ``seeds`` (the number of
        runs), for each metric in :data:`METRIC_NAMES` a mean ``<metric>`` and a sample standard
        deviation ``<metric>_std`` (``ddof=1``; ``None`` for a single run), plus ``state_bytes``
        (mean) and ``wall_s`` / ``wall_s_std``.
    """
    groups: dict[tuple, list[Result]] = {}
    for r in results:
        if not isinstance(r, Result):
            raise ValueError(f"results must be Result objects; got {type(r).__name__}")
        groups.setdefault((r.label, r.sequence), []).append(r)
    rows = []
    for (label, seq), rs in groups.items():
        row: dict[str, Any] = {"method": label, "sequence": seq, "seeds": len(rs)}
        ms = [r.metrics() for r in rs]
        for name in METRIC_NAMES:
            row[name], row[name + "_std"] = _mean_std([m[name] for m in ms])
        row["state_bytes"] = int(round(float(np.mean([r.state_bytes for r in rs]))))
        row["wall_s"], row["wall_s_std"] = _mean_std([r.wall_s for r in rs])
        rows.append(row)
    return rows


def _mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if len(v) > 1 else None
    return mean, std


_DEFAULT_COLUMNS = ("method", "sequence", "seeds", "average_accuracy", "forgetting", "backward_transfer",
                    "forward_transfer", "mean_density", "state_bytes", "wall_s")
_HEADERS = {"method": "method", "sequence": "sequence", "seeds": "seeds", "average_accuracy": "avg acc",
            "backward_transfer": "BWT", "forgetting": "forgetting", "forward_transfer": "FWT",
            "mean_density": "density", "state_bytes": "state", "wall_s": "time (s)"}


def _fmt_bytes(n: float) -> str:
    n = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """Render :func:`summarize` rows as a plain-text table with ``mean ± std`` cells.

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`summarize` (or any dicts; a ``<col>_std`` key, when present and not
        None, is shown as ``± std``).
    columns : sequence of str, optional
        Columns to show, in order; by default method, sequence, seeds, the metrics, state bytes
        and time (columns absent from every row are skipped).
    digits : int, default 3
        Decimals for floating-point values (>= 0).

    Returns
    -------
    str
        The table, one line per row under a header line and a rule.
    """
    digits = check_int("digits", digits, 0)
    rows = list(rows)
    cols = list(columns) if columns is not None else [c for c in _DEFAULT_COLUMNS if any(c in r for r in rows)]

    def cell(row, c):
        v = row.get(c, "")
        if c == "state_bytes" and isinstance(v, (int, float)):
            return _fmt_bytes(v)
        if isinstance(v, float):
            prec = 2 if c == "wall_s" else digits
            s = f"{v:.{prec}f}"
            sd = row.get(c + "_std")
            if sd is not None:
                s += f" ± {sd:.{prec}f}"
            return s
        return str(v)

    table = [[_HEADERS.get(c, c) for c in cols]] + [[cell(r, c) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    lines = []
    for k, line in enumerate(table):
        lines.append("  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(line, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
