"""Four submissions of every assignment, for the grading tests (issue 15): a right one (the
solutions), a wrong one, an empty one (the stubs) and an alternative one (correct, written
differently: numpy, loops, ``torch.func``, another search, another experiment design).

A submission is ``{first line of a solution cell: the cell's new source}``; the first line of a
solution cell (``def adagrad_step(...)``, ``tau_star = None  # your threshold``) is the same in
the sources, the student edition and otter's student notebook, so one table fills all three.
Expected scores: right and alternative get every point of the checked tasks, wrong and empty 0.
Each wrong answer fails every case of its check (partial credit would otherwise give points).

Not a test module: tests load it by path (``load()``), as the tests load the scripts.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "book" / "assignments"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CASES = ("right", "wrong", "empty", "alternative")


def load():
    """This module, loaded by path (tests use ``--import-mode=importlib``)."""
    spec = importlib.util.spec_from_file_location("classroom_submissions", Path(__file__))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_line(source: str) -> str:
    return source.lstrip("\n").split("\n", 1)[0].rstrip()


def _solution_cells(notebook: str) -> list:
    nb = nbformat.read(str(SRC / notebook), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]


def right(notebook: str) -> dict:
    """The sources' solutions, without nbgrader's markers."""
    return {first_line(c.source): "\n".join(ln for ln in c.source.split("\n") if ln.strip() not in (BEGIN, END))
            for c in _solution_cells(notebook)}


def solution_lines(notebook: str) -> set:
    """The lines between the solution markers (stripped, at least 12 characters, not comments)."""
    out = set()
    for c in _solution_cells(notebook):
        inside = False
        for ln in c.source.split("\n"):
            if ln.strip() in (BEGIN, END):
                inside = ln.strip() == BEGIN
            elif inside and len(ln.strip()) >= 12 and not ln.strip().startswith("#"):
                out.add(ln.strip())
    return out


def _replace(notebook: str, edits: dict) -> dict:
    """The right submission with ``{first line: (old, new)}`` text replacements (each must apply)."""
    out = right(notebook)
    for key, (old, new) in edits.items():
        assert old in out[key], (notebook, key, old)
        out[key] = out[key].replace(old, new)
    return out


# ================================================================================== wrong answers
WRONG = {
    "a1_from_scratch.ipynb": lambda: _replace("a1_from_scratch.ipynb", {
        # a reversed sign: the step climbs the loss
        "def adagrad_step(w, g, grad_sq_sum, lr, eps=1e-10):": ("w - lr", "w + lr"),
        "def classp_step(w, g, grad_sum, lr, threshold, power, eps):": ("w - step", "w + step")}),
    "a2_threshold.ipynb": lambda: _replace("a2_threshold.ipynb", {
        # the mean of g² where a quantile is needed
        "def threshold_for_density(grads, density):": (
            "return float(torch.quantile(squared, 1.0 - density))", "return float(squared.mean())"),
        # the threshold measured at initialisation, not searched over runs
        "tau_star = None  # your threshold": ("tau_star = 10**mid\n", "tau_star = tau_init\n"),
        # "dense" runs with CLASSP's default threshold instead of 0
        "dense_runs, sparse_runs, forgetting_bought = None, None, None": (
            "dense_runs = classp_runs(0.0)",
            "dense_runs = [run('classp', 'permuted-digits', seed=s, progress=False) for s in SEEDS]")}),
    "a3_ewc.ipynb": lambda: dict(right("a3_ewc.ipynb"), **{
        # the square of the batch's mean gradient, not the mean of per-example squares
        "def fisher_diagonal(model, x, y):": '''def fisher_diagonal(model, x, y):
    params = list(model.parameters())
    log_p = torch.log_softmax(model(x), dim=1)[torch.arange(len(y)), y].mean()
    return [g.detach() ** 2 for g in torch.autograd.grad(log_p, params)]''',
        # λ / 2 left out (λ = 0 must give 0)
        "def ewc_penalty(params, fisher, anchor, lam):": '''def ewc_penalty(params, fisher, anchor, lam):
    return sum((f * (p - a) ** 2).sum() for p, f, a in zip(params, fisher, anchor))'''}),
    "a4_frontier.ipynb": lambda: dict(right("a4_frontier.ipynb"), **{
        # the average final accuracy, not forgetting
        "def forgetting(R):": '''def forgetting(R):
    return float(np.mean(np.asarray(R)[-1]))''',
        # the runs' metrics, not the runs
        "results = None  # your list of runs": '''results = None  # your list of runs
results = [run(m, "permuted-digits", seed=0, progress=False).metrics() for m in ("sgd", "classp")]
print(f"{len(results)} runs")'''}),
}

# ================================================================================== alternative answers
ALTERNATIVE = {
    "a1_from_scratch.ipynb": {
        "def adagrad_step(w, g, grad_sq_sum, lr, eps=1e-10):": '''def adagrad_step(w, g, grad_sq_sum, lr, eps=1e-10):
    import numpy as np
    s = grad_sq_sum.numpy() + np.square(g.numpy())
    new_w = w.numpy() - lr * g.numpy() / (np.sqrt(s) + eps)
    return torch.from_numpy(new_w), torch.from_numpy(s)''',
        "def classp_step(w, g, grad_sum, lr, threshold, power, eps):": '''def classp_step(w, g, grad_sum, lr, threshold, power, eps):
    new_w, new_sum = w.clone().flatten(), grad_sum.clone().flatten()
    for i, gi in enumerate(g.flatten().tolist()):
        if gi * gi > threshold:
            new_sum[i] += abs(gi) ** power
            new_w[i] -= lr * gi / (eps + new_sum[i]) ** (1.0 / power)
    return new_w.reshape(w.shape), new_sum.reshape(w.shape)'''},
    "a2_threshold.ipynb": {
        "def threshold_for_density(grads, density):": '''def threshold_for_density(grads, density):
    squares = np.concatenate([g.detach().numpy().ravel() for g in grads]).astype(np.float64) ** 2
    return float(np.quantile(squares, 1 - density))''',
        # a geometric bisection between two thresholds, written as a while loop
        "tau_star = None  # your threshold": '''tau_star = None  # your threshold
low, high = 1e-8, 1e-2
while True:
    tau_star = (low * high) ** 0.5
    density = run("classp", "permuted-digits", seed=SEED, options={"threshold": tau_star},
                  progress=False).metrics()["mean_density"]
    if abs(density - 0.10) < 0.004 or high / low < 1.001:
        break
    if density > 0.10:
        low = tau_star
    else:
        high = tau_star
print(f"tau_star = {tau_star:.3g}")''',
        # the runs in one loop, seeds in another order, sums instead of np.mean
        "dense_runs, sparse_runs, forgetting_bought = None, None, None": '''dense_runs, sparse_runs, forgetting_bought = None, None, None
from classp.lab.metrics import forgetting
dense_runs, sparse_runs = [], []
for s in (2, 1, 0):
    for group, tau in ((dense_runs, 0.0), (sparse_runs, tau_star)):
        group.append(run("classp", "permuted-digits", seed=s, options={"threshold": tau}, progress=False))
forgetting_bought = (sum(forgetting(r.accuracy_matrix) for r in dense_runs)
                     - sum(forgetting(r.accuracy_matrix) for r in sparse_runs)) / len(dense_runs)'''},
    "a3_ewc.ipynb": {
        # per-example gradients with torch.func
        "def fisher_diagonal(model, x, y):": '''def fisher_diagonal(model, x, y):
    from torch.func import functional_call, grad, vmap

    params = {name: p.detach() for name, p in model.named_parameters()}

    def log_p(p, xn, yn):
        logits = functional_call(model, p, (xn.unsqueeze(0),))[0]
        return torch.log_softmax(logits, dim=0).gather(0, yn.reshape(1))[0]

    per_example = vmap(grad(log_p), in_dims=(None, 0, 0))(params, x, y)
    return [(per_example[name] ** 2).mean(dim=0) for name in params]''',
        "def ewc_penalty(params, fisher, anchor, lam):": '''def ewc_penalty(params, fisher, anchor, lam):
    total = torch.zeros(())
    for p, f, a in zip(params, fisher, anchor):
        d = p - a
        total = total + torch.sum(f * d * d)
    return lam * total / 2'''},
    "a4_frontier.ipynb": {
        "def forgetting(R):": '''def forgetting(R):
    rows = [[float(v) for v in row] for row in R]
    T = len(rows)
    if T < 2:
        return 0.0
    total = 0.0
    for j in range(T - 1):
        best = max(rows[l][j] for l in range(j, T - 1))
        total += best - rows[T - 1][j]
    return total / (T - 1)''',
        # another design: AdaGrad and SGD as baselines, other seeds and thresholds
        "results = None  # your list of runs": '''results = None  # your list of runs
results = []
for method, opts in [("sgd", {}), ("adagrad", {})] + [("classp", {"threshold": t}) for t in (1e-6, 3e-5, 3e-4)]:
    for seed in (3, 4, 5):
        results.append(run(method, "permuted-digits", seed=seed, options=opts, progress=False,
                           label=method if method != "classp" else f"CLASSP tau={opts['threshold']:g}"))
print(f"{len(results)} runs")'''},
}


def submission(notebook: str, case: str) -> dict:
    """``{first line of a solution cell: new source}`` of ``case`` (empty: ``{}``, the stubs stay)."""
    if case == "right":
        return right(notebook)
    if case == "wrong":
        return WRONG[notebook]()
    if case == "empty":
        return {}
    if case == "alternative":
        return ALTERNATIVE[notebook]
    raise ValueError(f"case must be one of {', '.join(CASES)}; got {case!r}")


def fill(nb, answers: dict) -> int:
    """Put ``answers`` into the notebook ``nb`` (in place): returns how many cells it changed;
    every answer must find its cell."""
    done = set()
    for cell in nb.cells:
        key = first_line(cell.source) if cell.cell_type == "code" else None
        if key in answers:
            cell.source = answers[key]
            done.add(key)
    missing = set(answers) - done
    assert not missing, f"no cell for {sorted(missing)}"
    return len(done)
