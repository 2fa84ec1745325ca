"""Stability-plasticity sweeps for chapters 8 (head to head) and 11 (sentiment).

``python -m classp compare`` runs every method at one setting. A fair comparison also needs each
method across its own knob: the learning rate of SGD, Adam, AdaGrad and global-decay SGD, the
strength of EWC (lambda), SI (c) and MAS (lambda), and CLASSP's threshold, power and learning rate. This script runs such a grid over several seeds with
:func:`classp.lab.train.run` and writes one results file (schema ``classp-results/1``, read with
:func:`classp.lab.results.load`). Every run carries ``config["sweep"] = {"method", "knob", "value"}``
and a label such as ``"ewc λ=10"``; the file's ``config["grid"]`` lists the grid and
``config["diverged"]`` the runs whose training loss became NaN or infinite (they are not stored as
runs, because they have no accuracy matrix).

Usage, from the repository root (the commands that made the book's files)::

    python scripts/sweep.py --sequence permuted-digits --seeds 0 1 2 3 4 --epochs 5 \\
        --threads 1 --quiet --out book/results/head_to_head_frontier_permuted-digits.json
    python scripts/sweep.py --sequence digits-shared-head --seeds 0 1 2 3 4 --epochs 5 \\
        --threads 1 --quiet --out book/results/head_to_head_frontier_digits-shared-head.json
    python scripts/sweep.py --sequence sentiment --seeds 0 1 2 --epochs 5 \\
        --threads 1 --quiet --out book/results/sentiment_frontier.json

``--quick`` keeps only the first and last value of every knob, for tests. ``--max-points`` (default
100) caps the stored loss and density curves of each run; the sweeps are read for their accuracy
matrices only, so the files stay small.
A point of a grid that equals another one (e.g. CLASSP's default is on its threshold, power and
learning-rate lines) is trained once and stored once per line, under each line's label.
"""
from __future__ import annotations

import argparse
import copy
import shlex
import sys

KNOB_SYMBOL = {"lr": "α", "lam": "λ", "threshold": "τ", "power": "p", "c": "c"}

# Each line: (method, knob, values, fixed settings). "lr" in the fixed settings is the learning rate,
# everything else a method option. Values not given stay at the method's registry default.
DIGITS_GRID = [
    ("sgd", "lr", [0.01, 0.03, 0.1, 0.3], {}),
    ("adam", "lr", [3e-4, 1e-3, 3e-3, 1e-2], {}),
    ("adagrad", "lr", [0.003, 0.01, 0.03, 0.1], {}),
    ("ewc", "lam", [1.0, 3.0, 10.0, 30.0, 100.0], {}),
    ("si", "c", [0.01, 0.1, 1.0, 10.0, 100.0], {}),
    ("mas", "lam", [0.01, 0.1, 1.0, 10.0, 100.0], {}),
    ("sgd-decay", "lr", [0.1, 0.3, 1.0, 3.0], {}),
    ("classp", "threshold", [0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], {}),
    ("classp", "power", [0.5, 1.0, 1.5, 2.0], {}),
    ("classp", "lr", [0.01, 0.03, 0.1, 0.3], {}),
    ("classp-no-decay", "lr", [0.01, 0.03, 0.1, 0.3], {}),
    ("joint", "lr", [0.1], {}),
]

# The text model's gradients are far smaller and sparser than the MLP's (mean of word embeddings), so
# the useful ranges move: larger learning rates, smaller thresholds (measured with seed 0, 5 epochs).
# EWC runs on SGD at lr 1 (smaller rates barely move the embeddings); lr * lam * max(F) must stay
# below about 2 for the penalty's own dynamics to be stable, which caps lam near 10 here. SGD learns
# this model slowly, so the joint (upper) reference uses Adam at its best rate.
SENTIMENT_GRID = [
    ("sgd", "lr", [0.3, 1.0, 3.0, 10.0], {}),
    ("adam", "lr", [1e-3, 3e-3, 1e-2, 3e-2], {}),
    ("adagrad", "lr", [0.03, 0.1, 0.3, 1.0], {}),
    ("ewc", "lam", [0.1, 0.3, 1.0, 3.0, 10.0], {"lr": 1.0}),
    ("classp", "threshold", [0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6], {"lr": 0.3}),
    ("classp", "power", [0.5, 1.0, 2.0], {"lr": 0.3, "threshold": 1e-9}),
    ("classp", "lr", [0.1, 0.3, 1.0, 3.0], {"threshold": 1e-9}),
    ("classp-no-decay", "lr", [0.3, 1.0, 3.0, 10.0], {"threshold": 1e-9}),
    ("joint", "lr", [3e-3], {"optimizer": "adam"}),
]


def grid_for(sequence: str, quick: bool = False) -> list[dict]:
    """The sweep points for a sequence.

    Parameters
    ----------
    sequence : str
        A sequence name; ``"sentiment"`` has its own ranges, every other name uses the digits grid.
    quick : bool, default False
        Keep only the first and last value of each line.

    Returns
    -------
    list of dict
        One dict per point: ``method``, ``knob``, ``value``, ``lr`` (None = the method's default),
        ``options`` (dict) and ``label``.
    """
    lines = SENTIMENT_GRID if sequence == "sentiment" else DIGITS_GRID
    points = []
    for method, knob, values, fixed in lines:
        if quick and len(values) > 2:
            values = [values[0], values[-1]]
        for v in values:
            settings = dict(fixed)
            settings[knob] = v
            lr = settings.pop("lr", None)
            name = method + (f" ({settings['optimizer']})" if "optimizer" in settings else "")
            label = f"{name} {KNOB_SYMBOL.get(knob, knob)}={v:g}"
            points.append({"method": method, "knob": knob, "value": v, "lr": lr, "options": settings,
                           "label": label})
    return points


def sweep(sequence: str, seeds, epochs: int = 5, quick: bool = False, progress: bool = False,
          sequence_options: dict | None = None):
    """Run the grid of :func:`grid_for` over ``seeds``.

    Parameters
    ----------
    sequence : str
        Sequence name.
    seeds : sequence of int
        One run per point and seed.
    epochs : int, default 5
        Epochs per task.
    quick : bool, default False
        The reduced grid (see :func:`grid_for`).
    progress : bool, default False
        Progress bars.
    sequence_options : dict, optional
        Passed to :func:`classp.data.get_sequence`.

    Returns
    -------
    (list of Result, list of dict, list of dict)
        The runs (labelled, with ``config["sweep"]``), the grid, and the diverged runs.
    """
    from classp.lab.train import run

    points = grid_for(sequence, quick)
    done: dict = {}
    results, diverged = [], []
    for pt in points:
        key_base = (pt["method"], pt["lr"], tuple(sorted(pt["options"].items())))
        for seed in seeds:
            key = key_base + (seed,)
            if key not in done:
                try:
                    done[key] = run(pt["method"], sequence, seed=seed, epochs=epochs, lr=pt["lr"],
                                    options=pt["options"] or None, sequence_options=sequence_options,
                                    progress=progress)
                except FloatingPointError as exc:  # includes classp.NonFiniteGradientError
                    done[key] = str(exc)
            r = done[key]
            if isinstance(r, str):
                diverged.append({"label": pt["label"], "seed": int(seed), "message": r})
                continue
            r = copy.copy(r)
            r.config = dict(r.config)
            r.label = pt["label"]
            r.config["label"] = pt["label"]
            r.config["sweep"] = {"method": pt["method"], "knob": pt["knob"], "value": pt["value"]}
            results.append(r)
    return results, points, diverged


def main(argv=None) -> int:
    """Command line: run a sweep and write a results file (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    p = argparse.ArgumentParser(prog="python scripts/sweep.py",
                                description="Sweep each method's own knob over seeds and write a results file.")
    p.add_argument("--sequence", required=True, help="task sequence name")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default: 0 1 2)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per task (default: 5)")
    p.add_argument("--quick", action="store_true", help="first and last value of each knob only")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--max-points", type=int, default=100,
                   help="longest stored loss/density curve per run (default: 100; the sweeps need only the "
                        "accuracy matrices)")
    p.add_argument("--out", required=True, help="results file to write (JSON)")
    args = p.parse_args(argv)

    import torch

    from classp.lab import results as res
    from classp.lab.tables import format_table, summarize

    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be >= 1; got {args.threads}")
    if args.max_points < 1:
        p.error(f"--max-points must be >= 1; got {args.max_points}")
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1; got {args.epochs}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    runs, points, diverged = sweep(args.sequence, args.seeds, epochs=args.epochs, quick=args.quick,
                                   progress=not args.quiet)
    if not runs:
        print("every run diverged; nothing to write", file=sys.stderr)
        return 1
    first = runs[0].config
    config = {
        "kind": "stability-plasticity sweep",
        "methods": list(dict.fromkeys(r.method for r in runs)),
        "labels": list(dict.fromkeys(r.label for r in runs)),
        "sequences": [args.sequence],
        "seeds": [int(s) for s in args.seeds],
        "epochs": args.epochs,
        "batch_size": first.get("batch_size"),
        "model_name": first.get("model_name"),
        "quick": bool(args.quick),
        "grid": points,
        "diverged": diverged,
    }
    command = shlex.join(["python", "scripts/sweep.py", *argv])
    res.save(args.out, runs, command=command, config=config, max_points=args.max_points)
    print(format_table(summarize(runs), columns=["method", "seeds", "average_accuracy", "forgetting",
                                                 "mean_density"]))
    if diverged:
        print(f"\n{len(diverged)} run(s) diverged: " + ", ".join(f"{d['label']} (seed {d['seed']})" for d in diverged))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
