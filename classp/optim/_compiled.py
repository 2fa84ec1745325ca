"""The compiled CLASSP step (``compile=True``): ``torch.compile`` with Inductor, called cheaply.

A call of a ``torch.compile``-d function goes through Dynamo's frame evaluation and guards and
AOTAutograd's wrappers before Inductor's kernel runs. For an optimizer step on the CPU this costs
as much as the update itself: with the 8 tensors of the paper's CNN made tiny, one thread and
cold caches (as in a training loop, where the forward and backward passes evict them), measured
0.5 ms per call through ``torch.compile``, 0.18 ms calling Inductor's function directly, and 0.1
ms for the whole of ``torch._fused_adagrad_``.
:class:`CompiledStep` keeps the function Inductor compiled (through a backend that wraps
Inductor's ``compile_fx``) and calls it directly while the inputs match those it was compiled
for: the same structure and hyper-parameters, and tensors of the same type, dtype, device,
shape, strides and offset, no two starting at the same address (called from
:meth:`CLASSP.step`, always without gradient recording). Anything else goes through
``torch.compile`` as usual (which recompiles when needed), and a recompilation is captured again.
Results are those of ``torch.compile``: the same kernel runs.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

_PLAIN = (Tensor, torch.nn.Parameter)


class CompiledStep:
    """``fn(groups)`` compiled by ``torch.compile``; ``groups`` a list of ``(ws, gs, ss, lr, hp, check)``.

    ``ws``, ``gs``, ``ss`` are lists of tensors, ``lr`` a 0-d tensor, ``hp`` a dict of Python
    constants and ``check`` a bool; ``fn`` returns a tensor or ``None``.
    """

    def __init__(self, fn: Callable):
        try:  # Inductor's entry point (what backend="inductor" calls); without it, plain torch.compile
            from torch._inductor.compile_fx import compile_fx
        except ImportError:  # pragma: no cover - a torch without it
            compile_fx = None
        self._compile_fx = compile_fx
        backend = self._backend if compile_fx is not None else "inductor"
        self._fn = torch.compile(fn, backend=backend, dynamic=False, fullgraph=True)
        self._direct: Optional[tuple] = None  # (compiled graph, input positions, key, returns a tensor)
        self._captured: Optional[tuple] = None

    def _backend(self, gm: torch.fx.GraphModule, example_inputs: list) -> Callable:
        compiled = self._compile_fx(gm, example_inputs)
        self._captured = (compiled, list(example_inputs))
        return compiled

    @staticmethod
    def _key(groups: list, flat: list) -> Optional[tuple]:
        """What the compiled graph depends on; ``None`` when it must go through ``torch.compile``."""
        if len({t.data_ptr() for t in flat}) != len(flat) or any(type(t) not in _PLAIN for t in flat):
            return None
        structure = tuple((len(ws), tuple(hp.items()), check) for ws, gs, ss, lr, hp, check in groups)
        return structure, tuple((t.dtype, t.device, t.shape, t.stride(), t.storage_offset()) for t in flat)

    def __call__(self, groups: list) -> Optional[Tensor]:
        if torch.compiler.is_compiling():  # traced by an outer torch.compile: let Dynamo inline it
            return self._fn(groups)
        flat = [t for ws, gs, ss, lr, hp, check in groups for t in (*ws, *gs, *ss, lr)]
        key = self._key(groups, flat)
        direct = self._direct
        if key is not None and direct is not None and direct[2] == key:
            out = direct[0](*[flat[i] for i in direct[1]])
            return out[0] if direct[3] else None
        self._captured = None
        result = self._fn(groups)
        if self._captured is not None:  # (re)compiled: where do the graph's inputs come from?
            compiled, examples = self._captured
            self._captured = None
            where = {id(t): i for i, t in enumerate(flat)}
            positions = [where.get(id(t)) for t in examples]
            self._direct = None
            if key is not None and None not in positions and (result is None or isinstance(result, Tensor)):
                self._direct = (compiled, positions, key, result is not None)
        return result
