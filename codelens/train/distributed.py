"""Data-parallel `codelens train` under torchrun or accelerate launch: which rank this process is, its slice
of each step, and the few collectives a step needs.

    torchrun --nproc_per_node 4 --no-python codelens train --model ./base --corpus ./repos --batch-size 32

Every rank draws the same global batch (the TaskSampler is seeded alike everywhere), then encodes and runs
only its contiguous slice of each task's examples. Each loss is a sum over the rank's rows divided by the
whole step's count, and the clone loss is taken over every rank's embeddings, so the ranks' gradients add
up to the single-process gradient of the global batch. One all_reduce per step sums them.

Why an explicit all_reduce and not DistributedDataParallel: DDP synchronises the gradients of work done
through its wrapped module's forward, and a step here is not one module's forward: ``step_losses`` calls
the decoder body, three parts of the heads and the LM head separately. Wrapped in one module, they would
still use different parameters on different ranks and steps (the repair head only where a slice holds a
repair target, a task's head only when the step draws that task), so DDP would need
``find_unused_parameters``: a walk over the autograd graph every step. The one all_reduce here also carries
the loss values and which parameters any rank used, so a parameter that no rank used keeps no gradient and
AdamW leaves it alone, as in one process. What DDP would add is overlapping the communication with the
backward pass. Only the LoRA and head gradients travel, which is little next to the frozen base's backward.
Measured on 2 loopback gloo processes of this 2-core machine, with other jobs running:

- codelens-nano's base with the default adapter (r=16, default heads): 1.8 M numbers (7.2 MB). One
  all_reduce took 6.7 ms, against 1.7 s for a one-thread training step at batch size 16.
- a DeepSeek-Coder-1.3B-shaped base at r=16: 17.9 M numbers (72 MB), 66 ms through gloo. NCCL between
  GPUs is faster; that was not measured.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from codelens.errors import CodelensError, ConfigError

TIMEOUT = timedelta(hours=2)
"""How long a rank waits in a collective. The other ranks wait while rank 0 alone builds the data cache,
evaluates and saves, which on a large base can outlast torch's default (10 minutes for NCCL). A crashed
rank does not depend on this: the launcher sees it exit and stops the others."""

_SHARDING = {"ACCELERATE_USE_FSDP": "FSDP", "ACCELERATE_USE_DEEPSPEED": "DeepSpeed",
             "ACCELERATE_USE_MEGATRON_LM": "Megatron-LM"}
"""What accelerate launch sets for a sharding config. codelens does not go through accelerate's prepare(),
so such a config would silently train full replicas: it is refused instead."""


@dataclass(frozen=True)
class World:
    """This process's place in a launch: ``rank`` of ``size`` processes, ``local_rank`` on its machine."""

    rank: int
    size: int
    local_rank: int

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, the adapter and progress."""
        return self.rank == 0


def detect(environ: Mapping[str, str] | None = None) -> World | None:
    """The launch this process belongs to, from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, and
    MASTER_ADDR / MASTER_PORT for the rendezvous). accelerate launch sets the same ones. None for a single
    process, so a plain run never imports torch.distributed. A WORLD_SIZE without torchrun's
    TORCHELASTIC_RUN_ID is a stray environment: a clear error at once, not a rendezvous that never ends."""
    env = os.environ if environ is None else environ
    for name, what in _SHARDING.items():
        if env.get(name, "").lower() == "true":
            raise ConfigError(f"accelerate launch asked for {what}, which codelens train does not do",
                              hint="launch with an accelerate config of distributed_type MULTI_GPU (or "
                                   "torchrun); see 'Distributed training' in docs/scale.md")
    try:
        size = int(env.get("WORLD_SIZE") or 1)
        if size <= 1:
            return None  # a stray MASTER_ADDR / MASTER_PORT alone changes nothing
        if not env.get("TORCHELASTIC_RUN_ID"):
            # Left over in a shell, or set by another tool: joining would wait for ranks that never come (two
            # hours, TIMEOUT). torchrun, and accelerate launch through it, always set TORCHELASTIC_RUN_ID.
            raise ConfigError(f"WORLD_SIZE is {size} in the environment, but this process was not started by "
                              "torchrun or accelerate launch",
                              hint="unset WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT to train in one "
                                   "process, or start the run with torchrun / accelerate launch")
        missing = [n for n in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if not env.get(n)]
        if missing:
            raise ConfigError(f"WORLD_SIZE is {size} but {', '.join(missing)} is not set",
                              hint="start distributed runs with torchrun or accelerate launch, which set them all")
        world = World(int(env["RANK"]), size, int(env["LOCAL_RANK"]))
    except ValueError as exc:
        raise ConfigError(f"unreadable launch variables: {exc}",
                          hint="start the run with torchrun or accelerate launch") from exc
    if not (0 <= world.rank < size and world.local_rank >= 0):
        raise ConfigError(f"RANK {world.rank} / LOCAL_RANK {world.local_rank} do not fit WORLD_SIZE {size}",
                          hint="start the run with torchrun or accelerate launch")
    return world


def device_for(world: World, device: str) -> str:
    """The device one rank trains on: GPU number LOCAL_RANK of its machine (for cuda, or auto where there
    is a GPU), else the CPU."""
    from codelens.model.options import device_name

    if ":" in device:
        raise ConfigError(f"--device {device} would put every rank on one GPU",
                          hint="pass --device cuda or auto (rank n takes GPU LOCAL_RANK); pick the GPUs with "
                               "CUDA_VISIBLE_DEVICES")
    return "cpu" if device_name(device) == "cpu" else f"cuda:{world.local_rank}"


@contextlib.contextmanager
def process_group(world: World | None, device: str):
    """torch.distributed set up for the run (NCCL on GPUs, gloo on the CPU), and torn down after it."""
    if world is None:
        yield
        return
    import torch
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend, timeout=TIMEOUT)
    try:
        yield
    finally:
        dist.destroy_process_group()


def shard(n: int, world: World) -> slice:
    """This rank's contiguous part of ``n`` rows: ranks in order, sizes differing by at most one."""
    return slice(n * world.rank // world.size, n * (world.rank + 1) // world.size)


def shard_step(batches: list[tuple[str, list]], world: World) -> list[tuple[str, list]]:
    """This rank's slice of each task's examples of a global step (the TaskSampler's batches)."""
    return [(task, examples[shard(len(examples), world)]) for task, examples in batches]


def main_first(world: World | None, make):
    """``make()`` on rank 0 first, then on the first rank of every other machine, then on the rest. Rank 0 fills
    a cache that the others read; where a machine does not share it, that machine's first rank fills its own.
    So no two ranks write one cache file at once."""
    if world is None:
        return make()
    import torch.distributed as dist

    value = None
    first_here = world.local_rank == 0 and not world.main
    for turn in (world.main, first_here, not world.main and not first_here):
        if turn:
            value = make()
        dist.barrier()
    return value


def agree(world: World | None, value, what: str, hint: str):
    """``value`` when every rank has the same one; a CodelensError on every rank when they differ."""
    if world is None:
        return value
    import torch.distributed as dist

    values = [None] * world.size
    dist.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        raise CodelensError(f"the ranks disagree on the {what}: {values}", hint=hint)
    return value


def from_main(world: World | None, value):
    """Rank 0's ``value`` on every rank; the others wait here until rank 0 gets here."""
    if world is None:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_parameters(params) -> None:
    """Rank 0's values of ``params`` on every rank (as DDP does when it wraps a model)."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1).float() for p in params])
    dist.broadcast(flat, src=0)
    offset = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def dropout_seed(seed: int, step: int, rank: int) -> int:
    """The torch seed of one rank's step. Ranks need dropout masks of their own, and a resumed run must draw
    the same masks as the interrupted one, so the seed comes from (seed, step, rank), not from a state
    that only rank 0's checkpoint could hold."""
    return random.Random(f"dropout:{seed}:{step}:{rank}").getrandbits(63)


@dataclass
class StepShard:
    """One rank's view of a global step: the whole step's counts, which its losses are divided by, and how
    many clone pairs each rank holds."""

    world: World
    defect_rows: int
    repair_targets: int
    summary_tokens: int
    clone_pairs: list[int]
    """Clone pairs of each rank, in rank order (the global batch's order)."""
    clone_dim: int
    device: object

    @property
    def tasks(self) -> list[str]:
        """The tasks of the global step, in ``step_losses``'s order."""
        counts = (("defect", self.defect_rows), ("clone", sum(self.clone_pairs)), ("summary", self.summary_tokens))
        return [task for task, n in counts if n]

    def clone_loss(self, a, b, temperature: float):
        """This rank's share of the InfoNCE loss over the whole step's pairs (``a``, ``b``: its own pairs'
        embeddings, or None when it holds none).

        The in-batch negatives must be every rank's pairs, as in one process. The embeddings are gathered
        without gradient, and the loss and its gradient with respect to each embedding are computed on every
        rank (batch_size x clone_dim numbers). Each rank then backpropagates the gradient of its own rows
        through its own embeddings, so nothing is communicated in the backward pass. The alternative, every
        rank running the whole clone batch, would add a third of the global step's rows to every rank's step."""
        import torch

        from codelens.train.batches import info_nce

        mine = self._rows()
        every_a, every_b = self._gather(a), self._gather(b)
        with torch.enable_grad():
            every_a.requires_grad_(True)
            every_b.requires_grad_(True)
            loss = info_nce(every_a, every_b, temperature)
            grad_a, grad_b = torch.autograd.grad(loss, (every_a, every_b))
        share = loss.detach() / self.world.size
        if a is None:
            return share
        # Value: the share (the ranks' shares add up to the loss); gradient: that of the loss through this
        # rank's embeddings.
        link = (a * grad_a[mine].to(a.dtype)).sum() + (b * grad_b[mine].to(b.dtype)).sum()
        return share + (link - link.detach())

    def _rows(self) -> slice:
        start = sum(self.clone_pairs[:self.world.rank])
        return slice(start, start + self.clone_pairs[self.world.rank])

    def _gather(self, local):
        """Every rank's rows of ``local`` (or none), concatenated in rank order, without gradient."""
        import torch
        import torch.distributed as dist

        width = max(self.clone_pairs)
        padded = torch.zeros(width, self.clone_dim, dtype=torch.float32, device=self.device)
        if local is not None:
            padded[:len(local)] = local.detach().float()
        parts = [torch.empty_like(padded) for _ in range(self.world.size)]
        dist.all_gather(parts, padded)  # equal shapes: gloo and NCCL both take that
        return torch.cat([part[:n] for part, n in zip(parts, self.clone_pairs)])


def step_shard(world: World, batches: list[tuple[str, list]], inputs, clone_dim: int, device) -> StepShard:
    """The StepShard of this rank's encoded slice ``inputs`` (None: no rows) of the global step ``batches``."""
    import torch
    import torch.distributed as dist

    # Encoding drops buggy rows whose site the code cut lost, so the whole step's counts are summed over
    # the ranks rather than taken from the examples.
    counts = torch.tensor(inputs.targets() if inputs is not None else (0, 0, 0), dtype=torch.long, device=device)
    dist.all_reduce(counts)
    pairs = sum(len(examples) for task, examples in batches if task == "clone")
    per_rank = [len(range(pairs)[shard(pairs, World(r, world.size, 0))]) for r in range(world.size)]
    defect, repair, summary = (int(n) for n in counts.tolist())
    return StepShard(world, defect, repair, summary, per_rank, clone_dim, device)


def shard_backward(model, heads, encoder, batches, params, clone_temperature: float, clone_dim: int, device,
                   autocast, world: World) -> dict[str, float]:
    """Forward and backward of this rank's slice of the global step ``batches``.

    Leaves in each parameter's ``.grad`` the single-process gradient of the whole step (None where no rank
    used the parameter, as in one process) and returns the whole step's losses by task."""
    from codelens.train.batches import step_losses

    local = shard_step(batches, world)
    inputs = encoder.encode(local) if any(examples for _, examples in local) else None
    if inputs is not None and inputs.input_ids is None:
        inputs = None  # every row of this slice was dropped
    step = step_shard(world, batches, inputs, clone_dim, device)
    losses = {} if inputs is None else step_losses(model, heads, inputs, clone_temperature, device, autocast, step)
    if sum(step.clone_pairs) and "clone" not in losses:
        losses["clone"] = step.clone_loss(None, None, clone_temperature)  # the gather needs every rank
    loss = sum(losses.values())
    if getattr(loss, "requires_grad", False):
        loss.backward()
    return _sum_over_ranks(params, losses, step.tasks, device)


def _sum_over_ranks(params, losses: dict, tasks: list[str], device) -> dict[str, float]:
    """Sum the ranks' gradients, the flags of which parameters each used, and the loss shares, in one
    all_reduce."""
    import torch
    import torch.distributed as dist

    grads = [p.grad.detach().reshape(-1).float() if p.grad is not None else torch.zeros(p.numel(), device=device)
             for p in params]
    used = torch.tensor([float(p.grad is not None) for p in params], device=device)
    shares = torch.stack([losses[t].detach().float().reshape(()) if t in losses else torch.zeros((), device=device)
                          for t in tasks]) if tasks else torch.zeros(0, device=device)
    flat = torch.cat([*grads, used, shares])
    dist.all_reduce(flat)
    offset = 0
    flags = flat[len(flat) - len(tasks) - len(params):len(flat) - len(tasks)].tolist()
    for p, flag in zip(params, flags):
        part = flat[offset:offset + p.numel()].view_as(p)
        offset += p.numel()
        # A parameter no rank used keeps no gradient: AdamW then leaves it alone, as in one process.
        p.grad = part.to(p.dtype).clone() if flag else None
    return dict(zip(tasks, flat[len(flat) - len(tasks):].tolist()))
