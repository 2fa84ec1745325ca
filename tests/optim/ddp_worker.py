"""The worker of test_ddp.py: one rank of a two-process DistributedDataParallel run with CLASSP (gloo, CPU).

A module of its own (not collected by pytest) so that ``torch.multiprocessing.spawn`` can import it
in the child processes.
"""
import os

import torch
import torch.distributed as dist

STEPS, BATCH = 5, 16  # BATCH rows per rank and step


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def data(world_size: int):
    """The full batches of every step: ``world_size * BATCH`` rows each."""
    gen = torch.Generator().manual_seed(1)
    return [(torch.randn(world_size * BATCH, 6, generator=gen), torch.randint(0, 3, (world_size * BATCH,), generator=gen))
            for _ in range(STEPS)]


def optimizer(params):
    from classp import CLASSP

    return CLASSP(params, lr=0.05, threshold=1e-4)


def train(rank: int, world_size: int, port: int, out: str) -> None:
    """Train under DDP on this rank's rows of each batch; save the final parameters to ``out``/rank.pt."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        model = torch.nn.parallel.DistributedDataParallel(make_model())
        opt = optimizer(model.parameters())
        for x, y in data(world_size):
            rows = slice(rank * BATCH, (rank + 1) * BATCH)
            opt.zero_grad()
            # DDP averages the gradients over the ranks: the mean loss of the full batch
            torch.nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
            opt.step()
        torch.save([p.detach() for p in model.module.parameters()], os.path.join(out, f"{rank}.pt"))
    finally:
        dist.destroy_process_group()
