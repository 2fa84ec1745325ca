"""What the checks do around a student's code: a time limit, a signature test, and a static screen.

- :func:`run_limited` calls the student's function with a time limit (``SIGALRM`` in the main
  thread, where notebooks run their cells; a watched thread elsewhere). A function that never
  returns fails its case after :func:`time_limit_s` seconds (default :data:`DEFAULT_TIMEOUT_S`,
  environment variable :data:`TIMEOUT_ENV`) instead of hanging the check.
- :func:`signature_problem` tells, before any case runs, when the student's function cannot be
  called the way the task says (and states the expected signature).
- :func:`reference_calls` reads the function's source (and the source of the notebook functions
  it calls) and names every use of the implementation the task asks the student to write
  (:data:`REFERENCES`: ``torch.optim.Adagrad`` in an AdaGrad step, ``classp.CLASSP`` in a CLASSP
  step, the package's Fisher diagonal, EWC penalty or forgetting), through any alias or old module
  path (``classp.ewc``, ``classp.metrics``): names are resolved to the objects they denote and
  compared by identity. It also names any use of the checks themselves (``classp.teaching``).
  While a student's function runs, the reference optimizers' constructors are also trapped
  (:func:`reference_trap`), which catches ``getattr`` tricks the static screen cannot see.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import inspect
import os
import signal
import textwrap
import threading
import types
from typing import Callable

#: Seconds a student's function may take for one call of a check.
DEFAULT_TIMEOUT_S = 20.0
#: Environment variable that overrides :data:`DEFAULT_TIMEOUT_S` (seconds, > 0).
TIMEOUT_ENV = "CLASSP_CHECK_TIMEOUT"

#: Per task: the dotted names of the implementations the student is asked to write themselves.
REFERENCES = {
    "1.1": ("torch.optim.Adagrad", "torch.optim.adagrad.adagrad", "torch.optim._functional.adagrad",
            "classp.optim.CLASSP", "classp.optim.functional.classp_update", "classp.optim.reference"),
    "1.2": ("classp.optim.CLASSP", "classp.optim.functional.classp_update", "classp.optim.reference",
            "torch.optim.Adagrad", "torch.optim.adagrad.adagrad"),
    "2.1": (),
    "3.1": ("classp.lab.regularisers.fisher_diagonal", "classp.lab.regularisers.EWC"),
    "3.2": ("classp.lab.regularisers.EWC",),
    "4.1": ("classp.lab.metrics.forgetting", "classp.lab.metrics.backward_transfer", "classp.lab.results.Result"),
}

#: Modules a student's answer may not read (the checks and their helpers).
FORBIDDEN_MODULES = ("classp.teaching",)


class StudentTimeout(BaseException):
    """The student's function ran past its time limit (a BaseException: ``except Exception`` in
    the student's code does not swallow it)."""


class ReferenceUsed(BaseException):
    """The student's function constructed a reference implementation while it ran."""


def time_limit_s() -> float:
    """The time limit of one call, in seconds (:data:`TIMEOUT_ENV` or :data:`DEFAULT_TIMEOUT_S`)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds > 0; got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds > 0 and finite; got {raw!r}")
    return value


def run_limited(fn: Callable, args: tuple, kwargs: dict, seconds: float):
    """``fn(*args, **kwargs)``, raising :class:`StudentTimeout` after ``seconds``."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum, frame):
            raise StudentTimeout()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise StudentTimeout()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ================================================================================== signature
def signature_problem(fn: Callable, expected: str, args: tuple = (), kwargs: tuple = ()) -> str:
    """'' if ``fn`` accepts the call the check makes, else a message stating the expected signature.

    ``args`` are the names passed by position, ``kwargs`` the names passed by keyword.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return ""  # a builtin or C function: let the call tell
    try:
        sig.bind(*[None] * len(args), **{k: None for k in kwargs})
    except TypeError as exc:
        name = getattr(fn, "__name__", "your function")
        return (f"{name}{sig} cannot be called the way the task says ({exc}); the expected signature is "
                f"{expected}")
    return ""


# ================================================================================== static screen
def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None
        return obj
    return None


def _references(task: str) -> dict:
    """{id(object): dotted name} of the task's reference implementations."""
    out = {}
    for dotted in REFERENCES.get(task, ()):
        obj = _resolve(dotted)
        if obj is not None:
            out[id(obj)] = dotted
    return out


def _forbidden_module(obj) -> str:
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        name = getattr(obj, "__module__", None) or ""
        if not isinstance(name, str) or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            return ""
    for m in FORBIDDEN_MODULES:
        if name == m or name.startswith(m + "."):
            return name
    return ""


def _chain(node) -> list | None:
    """['a', 'b', 'c'] for the expression a.b.c, else None."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id] + names[::-1]
    return None


def _source_tree(fn) -> ast.AST | None:
    """The syntax tree of ``fn``'s source; for a lambda, only its lambda expressions (its line may
    hold the call of the check, which is not the student's function)."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(src)
    except (SyntaxError, IndentationError):
        try:
            tree = ast.parse("(" + src.strip().rstrip(",") + ")")
        except (SyntaxError, IndentationError):
            return None
    if fn.__name__ == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        return ast.Module(body=[ast.Expr(value=n) for n in lambdas], type_ignores=[])
    return tree


def reference_calls(fn: Callable, task: str) -> list:
    """What ``fn`` (and the notebook functions it calls) uses of the task's reference
    implementations and of the checks, as a list of messages ('' problems: empty list)."""
    refs = _references(task)
    strings = {d.rsplit(".", 1)[-1] for d in REFERENCES.get(task, ())}
    found: list = []
    seen: set = set()

    def judge(obj, text: str):
        hit = refs.get(id(obj)) or refs.get(id(getattr(obj, "__wrapped__", None)))
        if hit:
            found.append(f"`{text}` is {hit}, the implementation this task asks you to write yourself")
        elif _forbidden_module(obj):
            found.append(f"`{text}` reads {_forbidden_module(obj)}, the checks themselves")

    def visit(f):
        if id(f) in seen or not inspect.isfunction(f):
            return
        seen.add(id(f))
        tree = _source_tree(f)
        if tree is None:
            return
        glob = dict(f.__globals__)
        for var, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            with contextlib.suppress(ValueError):
                glob[var] = cell.cell_contents
        local_imports: dict = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    local_imports[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    local_imports[a.asname or a.name] = f"{node.module}.{a.name}"
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    dotted = (a.name if isinstance(node, ast.Import) else f"{node.module}.{a.name}")
                    obj = _resolve(dotted) if dotted else None
                    if obj is not None:
                        judge(obj, dotted)
            if isinstance(node, ast.Call):
                fname = _chain(node.func)
                if fname and fname[-1] in ("getattr", "__import__", "import_module", "eval", "exec"):
                    for arg in node.args[1:] if fname[-1] == "getattr" else node.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and any(
                                s in arg.value for s in strings | {"teaching", "checks"}):
                            found.append(f"`{fname[-1]}(... {arg.value!r})` reaches a reference implementation "
                                         "or the checks by name")
            if not isinstance(node, (ast.Attribute, ast.Name)) or isinstance(getattr(node, "ctx", None), ast.Store):
                continue
            names = _chain(node)
            if not names:
                continue
            base = names[0]
            if base in local_imports:
                obj = _resolve(local_imports[base])
            elif base in glob:
                obj = glob[base]
            elif hasattr(builtins, base):
                continue
            else:
                continue
            text = base
            judge(obj, text)
            for attr in names[1:]:
                if not (isinstance(obj, types.ModuleType) or inspect.isclass(obj)):
                    break
                try:
                    obj = inspect.getattr_static(obj, attr) if inspect.isclass(obj) else getattr(obj, attr)
                except AttributeError:
                    break
                text += "." + attr
                judge(obj, text)
            if inspect.isfunction(obj) and obj.__globals__ is f.__globals__:
                visit(obj)  # a helper the student wrote in the notebook

    visit(fn)
    return list(dict.fromkeys(found))


@contextlib.contextmanager
def reference_trap(task: str):
    """While the block runs, constructing the task's reference optimizer raises :class:`ReferenceUsed`."""
    classes = [obj for obj in (_resolve(d) for d in REFERENCES.get(task, ())) if inspect.isclass(obj)]
    saved = []
    for cls in classes:
        original = cls.__dict__.get("__init__")

        def trapped(self, *a, _name=f"{cls.__module__}.{cls.__qualname__}", **k):
            raise ReferenceUsed(_name)

        saved.append((cls, original))
        cls.__init__ = trapped
    try:
        yield
    finally:
        for cls, original in saved:
            if original is None:
                del cls.__init__
            else:
                cls.__init__ = original
