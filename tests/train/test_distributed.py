"""Data-parallel training: launch variables and sharding; then 2 processes against one: `codelens train` under
torchrun (weights, resume) and the summed gradients of single steps whose slices are uneven or empty."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from codelens.core import TASKS
from codelens.errors import ConfigError
from codelens.train.distributed import World, detect, device_for, dropout_seed, shard, shard_backward, shard_step
from codelens.train.trainer import train
from codelens.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.7",
            "MASTER_PORT": "29500", "TORCHELASTIC_RUN_ID": "none"}
"""What torchrun gives the second process of the second machine of a 2 x 2 launch."""


def test_detect_reads_torchrun_and_accelerate_variables():
    assert detect({}) is None
    assert detect({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}) is None  # torchrun --nproc_per_node 1
    world = detect(TORCHRUN)
    assert world == World(rank=3, size=4, local_rank=1) and not world.main
    # accelerate launch (multi-GPU) runs torchrun's launcher and adds variables of its own
    accelerate = {**TORCHRUN, "RANK": "0", "LOCAL_RANK": "0", "ACCELERATE_MIXED_PRECISION": "no",
                  "ACCELERATE_DYNAMO_BACKEND": "NO", "ACCELERATE_USE_CPU": "False"}
    assert detect(accelerate) == World(0, 4, 0) and detect(accelerate).main


@pytest.mark.parametrize("env, message", [
    ({**TORCHRUN, "MASTER_PORT": ""}, "MASTER_PORT is not set"),
    ({**TORCHRUN, "RANK": "4"}, "do not fit WORLD_SIZE 4"),
    ({**TORCHRUN, "RANK": "one"}, "unreadable launch variables"),
    ({**TORCHRUN, "ACCELERATE_USE_FSDP": "true"}, "asked for FSDP"),
    ({"ACCELERATE_USE_DEEPSPEED": "true"}, "asked for DeepSpeed"),
])
def test_detect_refuses_what_it_cannot_run(env, message):
    with pytest.raises(ConfigError, match=message):
        detect(env)


def test_each_rank_takes_a_contiguous_slice_of_each_task_batch():
    for size in range(1, 5):
        for n in range(10):
            parts = [list(range(n))[shard(n, World(rank, size, 0))] for rank in range(size)]
            assert sum(parts, []) == list(range(n))  # every row once, in rank order
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
    step = [("defect", list("abcde")), ("clone", [("f", "g"), ("h", "i"), ("j", "k")]), ("summary", ["l"])]
    slices = [shard_step(step, World(rank, 2, rank)) for rank in range(2)]
    assert slices[0] == [("defect", list("ab")), ("clone", [("f", "g")]), ("summary", [])]
    assert slices[1] == [("defect", list("cde")), ("clone", [("h", "i"), ("j", "k")]), ("summary", ["l"])]


def test_each_rank_trains_on_the_gpu_of_its_local_rank(monkeypatch):
    import codelens.model.options as options

    world = World(rank=3, size=4, local_rank=1)
    assert device_for(world, "cpu") == "cpu"
    monkeypatch.setattr(options, "device_name", lambda device: "cuda:0")
    assert device_for(world, "auto") == device_for(world, "cuda") == "cuda:1"
    monkeypatch.setattr(options, "device_name", lambda device: "cpu")
    assert device_for(world, "auto") == "cpu"
    with pytest.raises(ConfigError, match="every rank on one GPU"):
        device_for(world, "cuda:1")


def test_dropout_seeds_differ_by_rank_and_step_and_repeat():
    seeds = {dropout_seed(0, step, rank) for step in range(3) for rank in range(4)}
    assert len(seeds) == 12 and dropout_seed(0, 2, 1) == dropout_seed(0, 2, 1) != dropout_seed(1, 2, 1)


# The 2-process runs. Dropout is off: its masks depend on the batch's shape, so they differ between a rank's
# slice and the whole batch, and no data-parallel run could match then.
SETTINGS = dict(max_steps=4, batch_size=4, lora_r=4, lora_alpha=8, lora_dropout=0.0, head_hidden=16, clone_dim=8,
                device="cpu", dtype="float32", bugs_per_function=1, clone_variants=1, max_code_tokens=96,
                max_eval_summaries=2, threads=1, checkpoint_every=2)
LORA_ATOL, HEADS_ATOL = 1e-6, 2e-5
"""Rounding differs between the runs: each rank sums over its own rows and padding width, and the all_reduce
adds the ranks' sums. Float32 keeps that near 1e-7 of a gradient. AdamW divides each update by the
gradient's running RMS, so for the elements with the smallest gradients the relative difference passes into
the update at full size. Measured differences after 4 steps: 1e-7 in the LoRA weights and 2.4e-6 in the
heads. The tolerances leave a margin of 8x or more over those, and stay far below how far the 4 steps move
the weights (checked below)."""


def _zero_gradient(key: str, value: torch.Tensor) -> torch.Tensor:
    """Elements whose gradient is zero in exact arithmetic. The site layer's biases and the key bias of the
    defect head's attention add one constant to all logits of a softmax. In any run rounding noise is all
    their gradient, and AdamW turns that noise into steps of about the learning rate. They leave the outputs
    unchanged."""
    mask = torch.zeros_like(value, dtype=torch.bool)
    if key in ("bug.site.0.bias", "bug.site.1.bias"):
        mask[:] = True
    elif key.endswith(".qkv.bias"):  # laid out as query, key, value
        width = len(value) // 3
        mask[width:2 * width] = True
    return mask


def _assert_same_adapter(one: Path, two: Path) -> None:
    for name, atol in (("adapter_model.safetensors", LORA_ATOL), ("heads.safetensors", HEADS_ATOL)):
        a, b = load_file(str(one / name)), load_file(str(two / name))
        assert a.keys() == b.keys()
        for key in a:
            noise = _zero_gradient(key, a[key]) if name == "heads.safetensors" else torch.zeros_like(a[key]).bool()
            torch.testing.assert_close(a[key][~noise], b[key][~noise], atol=atol, rtol=0, msg=f"{name} {key}")
            # each run moved them by at most about the head learning rate per step
            bound = 2 * SETTINGS["max_steps"] * TrainConfig.head_lr
            torch.testing.assert_close(a[key][noise], b[key][noise], atol=bound, rtol=0)
    lora_b = load_file(str(one / "adapter_model.safetensors"))
    moved = max(v.abs().max().item() for k, v in lora_b.items() if "lora_B" in k)  # lora_B starts at zero
    assert moved > 100 * LORA_ATOL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """`codelens train ARGS` under torchrun, 2 gloo processes on loopback. On a timeout the whole process group
    is killed, so no rank is left waiting in a collective."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(_free_port()), "-m", "codelens.cli.main", "train", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"torchrun took more than {timeout} s")
    result = subprocess.CompletedProcess(command, process.returncode, out, err)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _flags(base: Path, corpus: tuple[Path, Path], out: Path, **extra) -> list[str]:
    flags = ["--model", str(base), "--corpus", str(corpus[0]), "--split-by", "subdir", "--manifest", str(corpus[1]),
             "--out", str(out)]
    for name, value in {**SETTINGS, **extra}.items():
        flags += [f"--{name.replace('_', '-')}"] if value is True else [f"--{name.replace('_', '-')}", str(value)]
    return flags


def _config(base: Path, corpus: tuple[Path, Path], out: Path) -> TrainConfig:
    return TrainConfig(model=str(base), corpus=[str(corpus[0])], split_by="subdir", manifest=str(corpus[1]),
                       out=str(out), **SETTINGS)


def _printed_losses(stderr: str) -> list[dict]:
    """The step losses rank 0 printed ("[train] steps 3/4 (eta 2s) clone=0.3723 defect=4.5720 summary=7.5269";
    off a terminal a line per tenth of the run, so every step of a run this short)."""
    return [{k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
            for line in stderr.splitlines() if re.match(r"\[train\] steps \d+/\d+ ", line)]


@pytest.fixture(scope="module")
def one_process(tiny_llama, small_corpus, tmp_path_factory):
    """The single-process run that the 2-process runs must reproduce."""
    out = tmp_path_factory.mktemp("one") / "adapter"
    return out, train(_config(tiny_llama, small_corpus, out))


@pytest.mark.slow
def test_two_processes_train_the_adapter_one_process_trains(tiny_llama, small_corpus, one_process, tmp_path):
    reference, expected = one_process
    run = _torchrun(_flags(tiny_llama, small_corpus, tmp_path / "adapter"))

    _assert_same_adapter(reference, tmp_path / "adapter")
    printed = _printed_losses(run.stderr)  # rank 0 alone prints progress and the summary
    assert len(printed) == 4 and run.stdout.count("adapter written to") == 1
    for got, want in zip(printed, expected.losses):
        assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 2e-4 for k in want)
    assert run.stderr.count("checkpoint written to") == 1  # by rank 0, at step 2; removed at the end
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]
    training = json.loads((tmp_path / "adapter" / "codelens.json").read_text())["training"]
    assert training["world_size"] == 2 and training["global_batch_size"] == 4
    assert json.loads((reference / "codelens.json").read_text())["training"]["world_size"] == 1


class _Crash(Exception):
    pass


@pytest.mark.slow
def test_two_processes_resume_a_checkpoint(tiny_llama, small_corpus, one_process, tmp_path):
    def crash_at_step_3(event):
        if event.phase == "train" and event.step == 3:
            raise _Crash

    with pytest.raises(_Crash):  # one process writes the step-2 checkpoint, then dies
        train(_config(tiny_llama, small_corpus, tmp_path / "adapter"), crash_at_step_3)
    assert (tmp_path / "adapter.checkpoint" / "checkpoint.pt").is_file()

    run = _torchrun(_flags(tiny_llama, small_corpus, tmp_path / "adapter", resume=True))
    assert run.stderr.count("resumed from") == 1 and len(_printed_losses(run.stderr)) == 2  # steps 3 and 4
    _assert_same_adapter(one_process[0], tmp_path / "adapter")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def _tiny_learner(base: Path):
    """The tiny base with LoRA and small heads, initialised from one seed: the same in every process."""
    import warnings

    from peft import LoraConfig, get_peft_model

    from codelens.model.heads import BugHeadConfig, TaskHeads
    from codelens.model.loading import load_base

    lm, tokenizer = load_base(str(base), device="cpu", dtype="float32")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = get_peft_model(lm, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                                              task_type="CAUSAL_LM"))
    heads = TaskHeads(lm.config.hidden_size, 16, 8, BugHeadConfig(width=32, layers=1, heads=2))
    model.train()
    heads.train()
    params = [p for p in model.parameters() if p.requires_grad] + list(heads.parameters())
    return model, heads, params, tokenizer


def _uneven_steps(corpus: tuple[Path, Path]) -> list[list[tuple[str, list]]]:
    """Global steps whose slices for 2 ranks are uneven or empty: rank 0 gets no summary row, then no clone pair,
    then no row at all."""
    from codelens.train.batches import TaskSampler
    from codelens.train.data.dataset import DataConfig, cached_task_data
    from codelens.train.data.functions import load_manifest

    data_cfg = DataConfig(seed=0, clone_variants=1, bugs_per_function=1, split_by="subdir",
                          manifest=load_manifest(corpus[1]))
    data = cached_task_data([corpus[0]], [], data_cfg, None)
    batches = dict(TaskSampler(data.split("train"), list(TASKS), 6, 0).next())  # 3 clone pairs
    return [[("defect", batches["defect"][:3]), ("clone", batches["clone"]), ("summary", batches["summary"][:1])],
            [("defect", batches["defect"][:2]), ("clone", batches["clone"][:1])],
            [("defect", batches["defect"][:1]), ("clone", batches["clone"][:1])]]


def _step_gradients(model, heads, params, tokenizer, step, world: World | None) -> tuple[dict, list]:
    """(losses by task, gradients) of one step: in one process, or summed over the ranks of ``world``."""
    import contextlib

    from codelens.model.adapter_meta import PromptFormat
    from codelens.train.batches import Encoder, step_losses

    encoder = Encoder(tokenizer, PromptFormat(max_code_tokens=96))
    for p in params:
        p.grad = None
    if world is None:
        losses = step_losses(model, heads, encoder.encode(step), 0.05, torch.device("cpu"), contextlib.nullcontext())
        sum(losses.values()).backward()
        values = {k: float(v.detach()) for k, v in losses.items()}
    else:
        values = shard_backward(model, heads, encoder, step, params, 0.05, 8, torch.device("cpu"),
                                contextlib.nullcontext(), world)
    return values, [None if p.grad is None else p.grad.clone() for p in params]


def _gradient_rank(rank: int, port: int, base: Path, corpus: tuple[Path, Path], out: Path) -> None:
    """One of 2 spawned ranks: the gradients of each uneven step, saved to ``out``."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        model, heads, params, tokenizer = _tiny_learner(base)
        results = [_step_gradients(model, heads, params, tokenizer, step, World(rank, 2, rank))
                   for step in _uneven_steps(corpus)]
        torch.save(results, out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_uneven_and_empty_slices_sum_to_the_whole_step_gradient(tiny_llama, small_corpus, tmp_path):
    """The loss arithmetic itself, one step at a time and before AdamW: the gradients summed over 2 ranks are
    those of one process, within float32 rounding, also where a rank holds no row of a task or none at all."""
    import torch.multiprocessing as mp

    context = mp.start_processes(_gradient_rank, args=(_free_port(), tiny_llama, small_corpus, tmp_path), nprocs=2,
                                 join=False, start_method="spawn")
    deadline = time.monotonic() + 300
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the 2 ranks took more than 300 s")

    model, heads, params, tokenizer = _tiny_learner(tiny_llama)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    unused = 0
    for i, step in enumerate(_uneven_steps(small_corpus)):
        want_values, want = _step_gradients(model, heads, params, tokenizer, step, None)
        (values, got), (_, other) = ranks[0][i], ranks[1][i]
        assert values.keys() == want_values.keys()
        assert all(abs(values[k] - want_values[k]) < 1e-5 * max(1.0, abs(want_values[k])) for k in want_values)
        assert [g is None for g in got] == [g is None for g in want]  # a parameter no rank used: no gradient
        unused += sum(g is None for g in want)
        for g, o, w in zip(got, other, want):
            if w is not None:
                assert torch.equal(g, o)  # every rank steps with the same gradient
                # Rounding of sums taken in another order: about 1e-7 of the tensor's largest entry (measured
                # up to 6.6e-7). The floor covers gradients that are rounding noise only (at most 4e-8 here).
                torch.testing.assert_close(g, w, rtol=0, atol=1e-5 * w.abs().max().item() + 1e-7)
    assert unused  # some steps leave parameters unused: that case was checked too
