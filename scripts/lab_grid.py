"""Regenerate the kernel-free lab's data, ``book/results/lab_grid.json`` (chapter 12, issue 14).

Runs every grid point of :data:`classp.viz.lab_grid.LAB_GRID` (every method of the head-to-head on
the three digits sequences; CLASSP's lr x tau x p x decay; EWC's, SI's and MAS's strength; seeds)
on a process pool over every core, writes the file atomically with its provenance header and
prints the wall time. The book build only reads the file.

Usage (from the repository root)::

    python scripts/lab_grid.py                               # the book's grid (a few minutes)
    python scripts/lab_grid.py --out /tmp/g.json --seeds 0 --methods sgd classp --sequences split-digits
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the sources of this checkout, also without `pip install -e .`


def main(argv=None) -> int:
    from classp.viz.lab_grid import GRID_METHODS, GRID_SEQUENCES, make_lab_grid

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="book/results/lab_grid.json", help="the file to write (default: %(default)s)")
    ap.add_argument("--tuned-dir", default="book/results",
                    help="folder of tuned_<sequence>.json, the centres of lr and strength ('none': registry defaults)")
    ap.add_argument("--workers", default=None, help="processes (default: the CPU count)")
    ap.add_argument("--seeds", nargs="+", default=None, help="seeds (default: the grid's)")
    ap.add_argument("--methods", nargs="+", default=None, help=f"methods, of {', '.join(GRID_METHODS)}")
    ap.add_argument("--sequences", nargs="+", default=None, help=f"sequences, of {', '.join(GRID_SEQUENCES)}")
    ap.add_argument("--epochs", default=None, help="passes over each task (default: the grid's)")
    args = ap.parse_args(argv)
    grid = {}
    try:
        if args.seeds is not None:
            grid["seeds"] = [_int("seeds", s) for s in args.seeds]
        if args.epochs is not None:
            grid["epochs"] = _int("epochs", args.epochs)
        for name in ("methods", "sequences"):
            if getattr(args, name) is not None:
                grid[name] = getattr(args, name)
        workers = None if args.workers is None else _int("workers", args.workers)
        tuned = None if args.tuned_dir.lower() == "none" else Path(args.tuned_dir)
        command = shlex.join(["python", "scripts/lab_grid.py", *(sys.argv[1:] if argv is None else argv)])
        t0 = time.perf_counter()
        doc = make_lab_grid(args.out, grid, tuned_dir=tuned, workers=workers, command=command)
    except (ValueError, FileNotFoundError) as exc:
        print(f"lab_grid: error: {exc}", file=sys.stderr)
        return 2
    n_div = sum(r["diverged"] for r in doc["runs"])
    size = Path(args.out).stat().st_size
    print(f"lab_grid: {len(doc['runs'])} runs ({n_div} diverged) in {time.perf_counter() - t0:.1f} s wall "
          f"on {doc['config']['workers']} workers; wrote {args.out} ({size / 1e6:.2f} MB)")
    return 0


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer; got {text!r}") from None


if __name__ == "__main__":
    raise SystemExit(main())
