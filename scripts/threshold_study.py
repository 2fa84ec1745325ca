"""Regenerate ``book/results/threshold_study.json``: why CLASSP's threshold raises forgetting.

Runs :func:`classp.lab.threshold_study.threshold_study` on the three digits sequences, each at the
registry's CLASSP setting (the one chapters 4 and 12 use) and at the setting the tuning chose
(``book/results/tuned_<sequence>.json``, field ``selection.classp.chosen``; its τ is replaced by the
grid), for every τ of the grid and both accumulator rules, on the test seeds 0-9, then writes the
runs, the means of every setting and the paired differences of :data:`FAMILY` (with the number
of comparisons) under the project's provenance header. About 400 runs of under a second: 5-10 minutes here.

Usage (from the repository root)::

    python scripts/threshold_study.py --json book/results/threshold_study.json
    python scripts/threshold_study.py --seeds 0 1 --sequences split-digits --json /tmp/t.json   # quick look
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEQUENCES = ("split-digits", "permuted-digits", "digits-shared-head")
THRESHOLDS = (0.0, 1e-8, 1e-6, 1e-4)
SCHEMA = "classp-threshold-study/1"
#: The family of paired comparisons the book's verdicts belong to: at the registry's setting (the
#: one of chapters 4 and 12), the largest τ against τ = 0, under each accumulator rule.
FAMILY = dict(origin="registry", thresholds=(1e-4,), metrics=("forgetting", "learning_accuracy", "late_step_size"))


def settings(sequence: str, results: Path) -> list[tuple[float, float, str]]:
    """The distinct (lr, power, origin) pairs to run: the registry's and the tuned one."""
    from classp.lab.methods import get_method

    reg = get_method("classp").resolve(sequence=sequence)
    out = [(float(reg[0]), float(reg[1]["power"]), "registry")]
    path = results / f"tuned_{sequence}.json"
    try:
        chosen = json.loads(path.read_text(encoding="utf-8"))["selection"]["classp"]["chosen"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: no tuned CLASSP setting ({exc!r}); run scripts/regenerate_results.py "
                         f"tuned_{sequence}.json first") from None
    tuned = (float(chosen["lr"]), float(chosen["power"]))
    if tuned != out[0][:2]:
        out.append((*tuned, "tuned"))
    return out


def _family(runs: list[dict], summarise) -> dict:
    """The paired differences of :data:`FAMILY` (the registry-setting runs only), with its description."""
    chosen = [r for r in runs if r["origin"] == FAMILY["origin"]]
    out = summarise(chosen, thresholds=FAMILY["thresholds"], metrics=FAMILY["metrics"])
    del out["means"]
    return {"origin": FAMILY["origin"], **out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, help="where to write the results file")
    ap.add_argument("--sequences", nargs="+", default=list(SEQUENCES), choices=SEQUENCES)
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from classp._io import write_json
    from classp._provenance import header
    from classp.lab.threshold_study import ACCUMULATE_RULES, summarise, threshold_study

    t0 = time.perf_counter()
    runs, config = [], []
    try:
        for seq in args.sequences:
            for lr, power, origin in settings(seq, REPO / "book" / "results"):
                config.append({"sequence": seq, "lr": lr, "power": power, "origin": origin})
                for r in threshold_study(seq, lr=lr, power=power, thresholds=THRESHOLDS, seeds=args.seeds,
                                         epochs=args.epochs):
                    runs.append({**r, "origin": origin})
                print(f"{seq} lr={lr:g} p={power:g} ({origin}): {time.perf_counter() - t0:.0f} s", flush=True)
    except ValueError as exc:
        print(f"threshold_study: error: {exc}", file=sys.stderr)
        return 2
    command = "python scripts/threshold_study.py --json " + args.json
    if args.sequences != list(SEQUENCES) or args.seeds != list(range(10)) or args.epochs != 5:
        command += (f" --sequences {' '.join(args.sequences)} --seeds {' '.join(map(str, args.seeds))}"
                    f" --epochs {args.epochs}")
    doc = {**header(SCHEMA, command),
           "config": {"settings": config, "thresholds": list(THRESHOLDS), "accumulate": list(ACCUMULATE_RULES),
                      "seeds": args.seeds, "epochs": args.epochs, "model": "mlp", "batch_size": 32,
                      "wall_s_total": round(time.perf_counter() - t0, 1)},
           "summary": {"means": summarise(runs)["means"], "family": _family(runs, summarise)}, "runs": runs}
    write_json(args.json, doc)
    print(f"wrote {args.json} ({len(runs)} runs, {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
