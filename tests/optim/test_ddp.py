"""CLASSP under DistributedDataParallel: two processes (gloo, 127.0.0.1) end where one process on the
full batches ends, and both ranks hold the same parameters (the rule is elementwise: every rank
applies it to the same averaged gradient)."""
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))  # the spawned processes import the worker by name
import ddp_worker

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_match_one_process_on_the_concatenated_batch(tmp_path):
    world = 2
    torch.multiprocessing.spawn(ddp_worker.train, args=(world, _free_port(), str(tmp_path)), nprocs=world,
                                join=True)
    ranks = [torch.load(tmp_path / f"{r}.pt", weights_only=True) for r in range(world)]

    model = ddp_worker.make_model()
    opt = ddp_worker.optimizer(model.parameters())
    for x, y in ddp_worker.data(world):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    single = [p.detach() for p in model.parameters()]
    assert any(not torch.equal(p, q) for p, q in zip(single, ddp_worker.make_model().parameters()))  # it trained
    for a, b in zip(*ranks):
        assert torch.equal(a, b)  # identical on both ranks
    for a, b in zip(ranks[0], single):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # the mean of two halves vs of the whole: rounding
