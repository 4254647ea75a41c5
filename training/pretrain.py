'''Pretrain a codelens base model: a small Llama on the permissive Python corpus, on CPU (or one GPU).

Read top to bottom: config -> data (training/tokens.py) -> model -> schedule -> train loop with checkpoints ->
export.

    python -m training.pretrain --out runs/pretrain --max-tokens 30000000 --d-model 256 --n-layers 4 \\
        --n-heads 4 --batch-size 8 --compile true --site-packages SITE1:SITE2 --export runs/base
    python -m training.pretrain --out runs/pretrain --resume        # continue a stopped run exactly
    python -m training.pretrain --out runs/pretrain --export-only DIR   # export its last checkpoint

Speed on a CPU comes from: the dtype the hardware runs natively (bf16 only with AVX512-BF16 / AMX, else fp32:
emulated bf16 matmuls are several times slower than fp32), full packed windows (no padding), SDPA attention,
``torch.compile``, the fused AdamW, gradient accumulation for large effective batches, and batches made ahead
in a worker thread. Each log row reports the achieved GFLOP/s against the matmul ceiling measured at the start
of the same run.

The schedule is warmup-stable-decay by default: the learning rate stays at its peak until the last
``decay_frac`` of the run, so a run can be extended (resume with a larger budget) or continued from exported
weights (``init_from``) without a restart of its warm-up cosine. models/*/PRETRAINING.md record sweeps,
commands and loss curves.

The run writes ``<out>/log.jsonl`` (one JSON object per log step: step, tokens, train_loss, val_loss, lr,
tok_s, gflops, ceiling_ratio, elapsed) and ``<out>/ckpt.pt`` (model, optimizer, loop state, RNG state, index
of the next batch), replaced atomically every ``ckpt_minutes``.
'''

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from codelens.field_docs import field_docs
from training.tokens import TokenBatches, prepare_data

SCHEDULES = ("wsd", "cosine")
STABLE_CHECKPOINT = "ckpt-stable.pt"
"""A wsd run's checkpoint at the first step of its decay."""


@dataclass
class PretrainConfig:
    """Everything a pretraining run depends on; saved in the checkpoint and in the exported folder."""

    out: str = "runs/pretrain"
    """Run folder: log.jsonl, ckpt.pt, config.json."""
    data_dir: str = "runs/data"
    """Shared cache of the tokenizer and the uint16 token files (train.bin, val.bin); reused across runs."""
    site_packages: str = ""
    """site-packages folders (joined by ':') whose permissive distributions join the stdlib in the corpus
    ('' = stdlib only)."""
    export: str = ""
    """Folder to save the final model + tokenizer to (safetensors); '' = no export."""
    init_from: str = ""
    """A model folder of the same shape to start from (e.g. the shipped base) instead of random weights; a
    resume whose checkpoint is gone starts from it too."""
    minutes: float = 60.0
    """Wall-clock budget of training (evaluation included); 0 = use max_tokens."""
    max_tokens: int = 0
    """Token budget of training; used when minutes is 0."""
    stop_at_step: int = 0
    """Stop (with a checkpoint) after this step without finishing the schedule; 0 = off. For resume tests."""
    vocab_size: int = 8192
    """BPE vocabulary size, special tokens included."""
    max_package_mb: float = 6.0
    """Cap on text tokenised from one package, so torch / transformers do not make up most of the data (0: no
    cap, for a corpus large enough that no package dominates)."""
    tokenizer: str = ""
    """An existing tokenizer folder to use ('' = train one on the corpus's train split)."""
    device: str = "cpu"
    """cpu or cuda: where the model trains (weights and optimizer stay fp32)."""
    dtype: str = "auto"
    """Compute dtype: auto (bf16 autocast where the hardware runs bf16 natively, else fp32), float32 or bfloat16."""
    compile: bool = False
    """torch.compile the model (about a minute to compile; +10-15 % steps on CPU: worth it for runs of 10
    minutes or more)."""
    seq_len: int = 512
    """Training window; covers the 384-token code cut of the adapter prompt plus its summary."""
    batch_size: int = 8
    """Windows per forward pass (micro-batch)."""
    accum: int = 1
    """Micro-batches per optimizer step (effective batch = batch_size x accum windows)."""
    d_model: int = 256
    """Hidden size."""
    n_layers: int = 4
    """Transformer blocks."""
    n_heads: int = 4
    """Attention heads (head size = d_model / n_heads)."""
    ffn_mult: float = 8 / 3
    """SwiGLU inner size = ffn_mult * d_model, rounded up to a multiple of 64."""
    schedule: str = "wsd"
    """wsd: linear warm-up, constant peak, linear decay over the last decay_frac; cosine: warm-up then cosine."""
    decay_frac: float = 0.2
    """Share of the steps the wsd schedule spends decaying to min_lr."""
    lr: float = 1.5e-3
    """Peak learning rate."""
    min_lr: float = 1e-4
    """Learning rate at the end of the decay."""
    warmup_steps: int = 100
    """Linear warm-up steps."""
    weight_decay: float = 0.1
    """AdamW decay, on matrices only (not norms)."""
    beta2: float = 0.95
    """AdamW second-moment decay."""
    grad_clip: float = 1.0
    """Global gradient-norm clip."""
    eval_every: int = 50
    """Steps between validation losses."""
    eval_batches: int = 8
    """Batches of the fixed validation windows per evaluation."""
    log_every: int = 10
    """Steps between train-loss log lines."""
    ckpt_minutes: float = 5.0
    """Minutes between checkpoints."""
    calib_steps: int = 20
    """Steps timed to turn a minutes budget into a step count for the schedule."""
    threads: int = 2
    """torch intra-op threads."""
    prefetch: int = 4
    """Batches made ahead by a worker thread (0: made on the step's own thread)."""
    seed: int = 1234
    """Seeds model init, window sampling and validation windows."""

    def __post_init__(self) -> None:
        from codelens.errors import ConfigError

        if self.minutes <= 0 and self.max_tokens < self.tokens_per_step:
            raise ConfigError("pretraining has no budget", hint="give --minutes N or --max-tokens N")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}",
                              hint="pick --n-heads so that d_model / n_heads is a whole head size (e.g. 64)")
        if self.vocab_size > 65536:
            raise ConfigError(f"vocab_size {self.vocab_size} does not fit the uint16 token files",
                              hint="use --vocab-size 65536 or less")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}", hint=f"use one of {', '.join(SCHEDULES)}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"unknown dtype {self.dtype!r}", hint="use auto, float32 or bfloat16")
        if self.accum < 1 or self.batch_size < 1:
            raise ConfigError("batch_size and accum must be at least 1", hint="e.g. --batch-size 8 --accum 2")

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch_size * self.accum

    @property
    def inner_size(self) -> int:
        return int(math.ceil(self.ffn_mult * self.d_model / 64) * 64)


def flops_per_token(cfg: PretrainConfig) -> float:
    """Training FLOPs per token: 6 x the weights every token is multiplied by (attention and MLP projections and
    the tied output layer; embedding lookups are free) + causal attention, 6 x layers x window x d_model."""
    matmul = cfg.n_layers * (4 * cfg.d_model**2 + 3 * cfg.d_model * cfg.inner_size) + cfg.d_model * cfg.vocab_size
    return 6.0 * matmul + 6.0 * cfg.n_layers * cfg.seq_len * cfg.d_model


# ---------------------------------------------------------------- model


def build_model(cfg: PretrainConfig):
    """A LlamaForCausalLM with tied input/output embeddings, sized by cfg."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.d_model,
        intermediate_size=cfg.inner_size,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_heads,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
        rope_theta=10000.0,
    )
    config._attn_implementation = "sdpa"
    torch.manual_seed(cfg.seed)
    return LlamaForCausalLM(config)


def load_weights(model, folder: str) -> None:
    """Copy the weights of a saved model folder of the same shape into ``model`` (fp32)."""
    from safetensors.torch import load_file

    from codelens.errors import ConfigError

    from codelens.model.packed import PACKED_FILE, is_packed, unpack_state

    path = Path(folder) / "model.safetensors"
    if is_packed(Path(folder)):  # a shipped base: int8 rows with their scales
        import torch

        state = unpack_state(load_file(str(Path(folder) / PACKED_FILE)), torch.float32)
    elif path.is_file():
        state = {k: v.float() for k, v in load_file(str(path)).items()}
    else:
        raise ConfigError(f"{folder} holds no model.safetensors to start from", hint="fix --init-from")
    own = model.state_dict()
    if "lm_head.weight" in own and "lm_head.weight" not in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]  # tied weights are saved once
    wrong = [k for k in own if k not in state or state[k].shape != own[k].shape]
    if wrong:
        raise ConfigError(f"{folder} does not match the configured shape ({len(wrong)} tensors differ, e.g. {wrong[0]})",
                          hint="give --d-model / --n-layers / --n-heads / --vocab-size of that model")
    model.load_state_dict(state, strict=False)


def compute_dtype(cfg: PretrainConfig):
    """The torch dtype of the matmuls: bf16 only where the device runs it natively (or when asked)."""
    import torch

    from codelens.model.options import dtype_name

    return getattr(torch, dtype_name(cfg.dtype, "cuda:0" if cfg.device.startswith("cuda") else "cpu"))


def lr_at(step: int, total_steps: int, cfg: PretrainConfig) -> float:
    """Linear warm-up to cfg.lr, then (wsd) constant and a linear decay to cfg.min_lr over the last decay_frac
    of total_steps, or (cosine) a cosine decay to cfg.min_lr at total_steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "wsd":
        decay_steps = max(1, int(total_steps * cfg.decay_frac))
        left = total_steps - step
        if left >= decay_steps:
            return cfg.lr
        return cfg.min_lr + (cfg.lr - cfg.min_lr) * max(0, left) / decay_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(model, cfg: PretrainConfig):
    import torch

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # One fused kernel for the whole update (CPU and GPU): small models are otherwise bound by per-tensor ops.
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2), eps=1e-8, fused=True)


def loss_of(model, x, y, dtype):
    import torch
    import torch.nn.functional as F

    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        logits = model(input_ids=x).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))


def evaluate(model, val_batches, dtype) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        losses = [loss_of(model, x, y, dtype).item() for x, y in val_batches]
    model.train()
    return sum(losses) / len(losses)


def matmul_ceiling(dtype, device, n: int = 1024, repeat: int = 5) -> float:
    """Best GFLOP/s of an n x n x n product in ``dtype`` on ``device``: the ceiling a step is compared to."""
    import torch

    a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.matmul(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, model, opt, state: dict, batches: TokenBatches) -> None:
    """Write model, optimizer, loop state, RNG state and the batch index to ``path`` atomically."""
    import torch

    blob = {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": dict(state),
            "torch_rng": torch.get_rng_state(), "next_batch": batches.next_index}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, model, opt) -> tuple[dict, int]:
    """(loop state, index of the next batch) of a checkpoint, after loading its weights and optimizer."""
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=False)  # our own file, holds plain Python state
    model.load_state_dict(blob["model"])
    opt.load_state_dict(blob["optimizer"])
    torch.set_rng_state(blob["torch_rng"])
    return blob["state"], blob["next_batch"]


# ---------------------------------------------------------------- train


def _resolve_config(cfg: PretrainConfig, resume: bool) -> PretrainConfig:
    """The run's config: on resume the saved one wins, except where to stop, where to export and the budget
    (a wsd run can be extended)."""
    out = Path(cfg.out)
    if not resume:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1) + "\n")
        return cfg
    if not (out / "config.json").exists():
        from codelens.errors import ConfigError

        raise ConfigError(f"there is no run to resume in {out}", hint="start it without --resume, or fix --out")
    saved = json.loads((out / "config.json").read_text())
    if "bf16" in saved:  # runs from before dtype: bf16 autocast was always on
        saved["dtype"] = "bfloat16" if saved.pop("bf16") else "float32"
    known = {f.name for f in dataclasses.fields(PretrainConfig)}
    saved = {k: v for k, v in saved.items() if k in known}
    return PretrainConfig(**{**saved, "out": cfg.out, "stop_at_step": cfg.stop_at_step,
                             "export": cfg.export or saved.get("export", "")})


def branch(run: Path, out: Path, max_tokens: int, export: str = "") -> PretrainConfig:
    """A new run in ``out`` that continues ``run`` (a finished or stopped wsd run with a token budget) from where
    its decay began, with a larger token budget: the stable phase goes on and the decay comes at the new end.
    ``train(cfg, resume=True)`` then runs it. The tokens already seen count towards ``max_tokens``."""
    import shutil

    from codelens.errors import ConfigError

    run, out = Path(run), Path(out)
    stable = run / STABLE_CHECKPOINT
    if not stable.is_file():
        raise ConfigError(f"{run} has no {STABLE_CHECKPOINT} to branch from (not a wsd run, or it never decayed)",
                          hint="branch from a run trained with --schedule wsd")
    saved = json.loads((run / "config.json").read_text())
    if saved.get("minutes"):
        raise ConfigError(f"{run} ran on a time budget", hint="branch from a run with --minutes 0 --max-tokens N")
    out.mkdir(parents=True, exist_ok=True)
    cfg = PretrainConfig(**{**saved, "out": str(out), "max_tokens": max_tokens, "export": export,
                            "stop_at_step": 0})
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1) + "\n")
    shutil.copyfile(stable, out / "ckpt.pt")
    import torch

    step = torch.load(out / "ckpt.pt", map_location="cpu", weights_only=False)["state"]["step"]
    rows = [line for line in (run / "log.jsonl").read_text().splitlines() if json.loads(line)["step"] <= step]
    (out / "log.jsonl").write_text("".join(r + "\n" for r in rows))
    return cfg


def train(cfg: PretrainConfig, resume: bool = False, packages=None) -> dict:
    """Run (or resume) pretraining; returns the final loop state (step, tokens, val_loss, ...).

    ``packages`` replaces the machine's corpus when the token cache in cfg.data_dir is built (tests).
    """
    import torch

    torch.set_num_threads(cfg.threads)
    cfg = _resolve_config(cfg, resume)
    out = Path(cfg.out)
    ckpt = out / "ckpt.pt"
    data = prepare_data(cfg, packages)
    device = torch.device(cfg.device)
    dtype = compute_dtype(cfg)
    model = build_model(cfg).to(device)
    model.train()
    opt = make_optimizer(model, cfg)
    val = TokenBatches(data / "val.bin", cfg.seq_len, cfg.batch_size, cfg.seed + 1)
    val_batches = [tuple(t.to(device) for t in val.make(i)) for i in range(cfg.eval_batches)]  # fixed for the run

    total = cfg.max_tokens // cfg.tokens_per_step if not cfg.minutes else 0
    state = {"step": 0, "tokens": 0, "elapsed": 0.0, "total_steps": total, "val_loss": None}
    next_batch = 0
    if resume and ckpt.exists():
        state, next_batch = load_checkpoint(ckpt, model, opt)
        if not cfg.minutes:  # the token budget may have grown: the wsd decay moves with it
            state["total_steps"] = total
    elif cfg.init_from:
        load_weights(model, cfg.init_from)
        state["init_from"] = cfg.init_from
    batches = TokenBatches(data / "train.bin", cfg.seq_len, cfg.batch_size, cfg.seed, next_batch, ahead=cfg.prefetch)
    step_model = torch.compile(model) if cfg.compile else model
    ceiling = matmul_ceiling(dtype, device)
    per_token = flops_per_token(cfg)
    log = (out / "log.jsonl").open("a", encoding="utf-8")
    budget_s = cfg.minutes * 60
    start = time.perf_counter() - state["elapsed"]
    last_ckpt = time.perf_counter()
    window_loss, window_n, window_t, window_tok = 0.0, 0, time.perf_counter(), 0

    def done() -> bool:
        if cfg.stop_at_step and state["step"] >= cfg.stop_at_step:
            return True
        if state["total_steps"] and state["step"] >= state["total_steps"]:
            return True
        return bool(budget_s) and state["elapsed"] >= budget_s

    try:
        while not done():
            step = state["step"]
            lr = lr_at(step, state["total_steps"] or 10**9, cfg)
            for g in opt.param_groups:
                g["lr"] = lr
            if (cfg.schedule == "wsd" and step >= cfg.warmup_steps and lr < cfg.lr
                    and not (out / STABLE_CHECKPOINT).exists()):
                # The weights where the decay begins: a longer run branches from here (``branch``).
                save_checkpoint(out / STABLE_CHECKPOINT, model, opt, state, batches)
            opt.zero_grad(set_to_none=True)
            step_loss = 0.0
            for _ in range(cfg.accum):
                x, y = (t.to(device, non_blocking=True) for t in batches.next())
                loss = loss_of(step_model, x, y, dtype) / cfg.accum
                loss.backward()
                step_loss += loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            state["step"] += 1
            state["tokens"] += cfg.tokens_per_step
            window_loss, window_n = window_loss + step_loss, window_n + 1
            window_tok += cfg.tokens_per_step
            state["elapsed"] = time.perf_counter() - start
            _fit_schedule_to_budget(state, cfg, budget_s)

            is_eval = state["step"] % cfg.eval_every == 0 or done()
            if state["step"] % cfg.log_every == 0 or is_eval:
                now = time.perf_counter()
                tok_s = window_tok / (now - window_t)
                row = {"step": state["step"], "tokens": state["tokens"],
                       "train_loss": round(window_loss / window_n, 4), "lr": round(lr, 6), "tok_s": round(tok_s, 1),
                       "gflops": round(tok_s * per_token / 1e9, 1),
                       "ceiling_ratio": round(tok_s * per_token / 1e9 / ceiling, 3),
                       "elapsed": round(state["elapsed"], 1)}
                if is_eval:
                    state["val_loss"] = round(evaluate(step_model, val_batches, dtype), 4)
                    row["val_loss"] = state["val_loss"]
                    state["elapsed"] = time.perf_counter() - start
                log.write(json.dumps(row) + "\n")
                log.flush()
                window_loss, window_n, window_t, window_tok = 0.0, 0, time.perf_counter(), 0
            if time.perf_counter() - last_ckpt >= cfg.ckpt_minutes * 60 or done():
                save_checkpoint(ckpt, model, opt, state, batches)
                last_ckpt = time.perf_counter()
    finally:
        batches.close()
        log.close()
    state["ceiling_gflops"] = round(ceiling, 1)
    finished = not (cfg.stop_at_step and state["step"] >= cfg.stop_at_step and state["step"] != state["total_steps"])
    if cfg.export and finished:
        export(model, data / "tokenizer", Path(cfg.export), cfg, state)
    return state


def _fit_schedule_to_budget(state: dict, cfg: PretrainConfig, budget_s: float) -> None:
    """Turn a time budget into a step count so the schedule ends when the time does (re-estimated in the
    first half, as the machine may be shared). Until an evaluation has been timed, one is taken to cost
    about eval_batches / 3 training steps."""
    if not budget_s:
        return
    if state["step"] == cfg.calib_steps // 2:
        state["calib"] = [state["step"], state["elapsed"]]  # the first steps are slow (compile): time from here
    if state["step"] >= cfg.calib_steps and "calib" in state and (
            not state["total_steps"] or (state["step"] % cfg.eval_every == 0 and state["step"] < state["total_steps"] / 2)):
        per_step = (state["elapsed"] - state["calib"][1]) / (state["step"] - state["calib"][0])
        evals_timed = state["step"] // cfg.eval_every - state["calib"][0] // cfg.eval_every
        eval_share = 1 if evals_timed else 1 + cfg.eval_batches / 3 / cfg.eval_every
        state["total_steps"] = state["step"] + int((budget_s - state["elapsed"]) / (per_step * eval_share))


def export(model, tokenizer_dir: Path, folder: Path, cfg: PretrainConfig, state: dict) -> None:
    """Save the model (bf16 safetensors) and tokenizer so AutoModelForCausalLM / AutoTokenizer load them."""
    import torch
    from transformers import AutoTokenizer

    from training.tokenizer import make_portable

    folder.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu", torch.bfloat16)
    model.config.dtype = torch.bfloat16
    model.save_pretrained(str(folder), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(str(folder))
    make_portable(folder)
    summary = {"config": dataclasses.asdict(cfg), "steps": state["step"], "tokens": state["tokens"],
               "val_loss": state["val_loss"], "train_seconds": round(state["elapsed"], 1),
               "parameters": sum(p.numel() for p in model.parameters()),
               "flops": flops_per_token(cfg) * state["tokens"], "init_from": state.get("init_from", ""),
               "ceiling_gflops": state.get("ceiling_gflops")}
    meta = Path(cfg.data_dir) / "meta.json"
    if meta.is_file() and state["val_loss"] is not None:
        counts = json.loads(meta.read_text())
        if counts.get("bytes", {}).get("val"):
            # nats per token x tokens per byte / ln 2: comparable with a model of another tokenizer
            summary["val_bits_per_byte"] = round(state["val_loss"] * counts["tokens"]["val"] / counts["bytes"]["val"]
                                                 / math.log(2), 4)
    (folder / "pretraining.json").write_text(json.dumps(summary, indent=1) + "\n")


def export_from_checkpoint(run: Path, folder: Path) -> None:
    """Export the model of a run's last checkpoint (e.g. one cut short) to ``folder``."""
    import torch

    cfg = _resolve_config(PretrainConfig(out=str(run)), resume=True)
    model = build_model(cfg)
    blob = torch.load(Path(run) / "ckpt.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(blob["model"])
    export(model, Path(cfg.data_dir) / "tokenizer", Path(folder), cfg, blob["state"])


def parse_args(argv: list[str] | None = None) -> tuple[PretrainConfig, bool, str]:
    """Build a PretrainConfig from ``--field-name value`` flags (one per config field)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--export-only", default="", help="export --out's checkpoint to this folder and stop")
    docs = field_docs(PretrainConfig)
    for f in dataclasses.fields(PretrainConfig):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{docs.get(f.name, '')} (default: {f.default})".replace("%", "%%")
        if f.type == "bool":
            parser.add_argument(flag, type=lambda s: s.lower() in {"1", "true", "yes"}, default=f.default,
                                help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=f.default, help=help_text)
    args = vars(parser.parse_args(argv))
    resume, export_only = args.pop("resume"), args.pop("export_only")
    return PretrainConfig(**args), resume, export_only


def main(argv: list[str] | None = None) -> None:
    cfg, resume, export_only = parse_args(argv)
    os.environ.setdefault("RAYON_NUM_THREADS", str(cfg.threads))  # tokenizers' thread pool
    if export_only:
        export_from_checkpoint(Path(cfg.out), Path(export_only))
        return
    train(cfg, resume=resume)


if __name__ == "__main__":
    main()
