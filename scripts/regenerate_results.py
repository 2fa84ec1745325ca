"""Regenerate every file of ``book/results/`` with the command it records, and say how long it takes.

Every results file records the ``command`` that regenerates it (``classp._provenance.header``), so
this script needs no list of its own: it reads each file's command, runs it from the repository
root with this Python, and reports the wall time of each. ``--dry-run`` only prints the commands,
in the order they would run, with the time the file's own runs recorded (the sum of ``wall_s``, or
the protocol's ``wall_s_total``): an estimate of the time here before spending it.

Usage (from the repository root)::

    python scripts/regenerate_results.py --dry-run          # the commands and the estimated time
    python scripts/regenerate_results.py                    # all of book/results/
    python scripts/regenerate_results.py head_to_head_split-digits.json timings.json

The book build only reads these files; nothing here runs at build time. ``timings.json`` runs last
(it executes every chapter, which reads the other files). ``--report FILE`` writes the measured
times as JSON (schema ``classp-regeneration/1``, with the provenance header).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "book" / "results"
LAST = ("timings.json",)  # reads the chapters, which read the other files


def recorded(path: Path) -> dict:
    """The file's ``command`` and the wall time its runs recorded (seconds, an estimate for a rerun)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from None
    command = doc.get("command") if isinstance(doc, dict) else None
    if not isinstance(command, str) or not command.strip():
        raise ValueError(f"{path}: records no 'command' to regenerate it")
    total = (doc.get("config") or {}).get("wall_s_total")
    if total is None:
        runs = doc.get("runs") if isinstance(doc.get("runs"), list) else []
        total = sum(float(r.get("wall_s", 0.0)) for r in runs if isinstance(r, dict))
    if doc.get("schema", "").startswith("classp-timings"):
        total = sum(float(v.get("exec_s", 0.0)) for v in (doc.get("notebooks") or {}).values())
    return {"file": path.name, "command": command, "recorded_s": round(float(total), 1)}


def plan(names: list[str] | None = None) -> list[dict]:
    """The files to regenerate (all of ``book/results/*.json`` by default), ``timings.json`` last."""
    if names:
        paths = []
        for n in names:
            p = RESULTS / Path(n).name
            if not p.is_file():
                raise ValueError(f"{n}: no such file in {RESULTS}")
            paths.append(p)
    else:
        paths = sorted(RESULTS.glob("*.json"))
    paths.sort(key=lambda p: (p.name in LAST, p.name))
    return [recorded(p) for p in paths]


def _argv(command: str) -> list[str]:
    """The recorded command with ``python`` replaced by this interpreter."""
    argv = shlex.split(command)
    if argv and Path(argv[0]).name.startswith("python"):
        argv[0] = sys.executable
    return argv


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="file names in book/results/ (default: all)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands and the recorded times only")
    ap.add_argument("--report", default=None, help="write the measured times here (JSON)")
    args = ap.parse_args(argv)
    try:
        steps = plan(args.files)
    except ValueError as exc:
        print(f"regenerate_results: error: {exc}", file=sys.stderr)
        return 2
    total = sum(s["recorded_s"] for s in steps)
    for s in steps:
        print(f"{s['recorded_s']:>8.0f} s recorded  {s['file']}\n            {s['command']}")
    print(f"{total:>8.0f} s recorded in all ({total / 3600:.1f} h), before this machine's own load")
    if args.dry_run:
        return 0
    done = []
    for s in steps:
        t0 = time.perf_counter()
        proc = subprocess.run(_argv(s["command"]), cwd=REPO)
        s = {**s, "measured_s": round(time.perf_counter() - t0, 1), "returncode": proc.returncode}
        done.append(s)
        print(f"{s['file']}: {s['measured_s']:.0f} s, exit {proc.returncode}", flush=True)
        if proc.returncode != 0:
            print(f"regenerate_results: error: {s['command']} failed; the files before it are regenerated",
                  file=sys.stderr)
            break
    print(f"measured {sum(d['measured_s'] for d in done):.0f} s for {len(done)} file(s)")
    if args.report:
        sys.path.insert(0, str(REPO))
        from classp._io import write_json
        from classp._provenance import header

        write_json(args.report, {**header("classp-regeneration/1", "python scripts/regenerate_results.py"),
                                 "steps": done})
    return 0 if all(d["returncode"] == 0 for d in done) else 1


if __name__ == "__main__":
    sys.exit(main())
