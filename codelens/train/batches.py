"""Task-balanced batches for multi-task adapter training, and the three losses over one shared forward.

Each step's batches (one per task with round-robin sampling) are encoded with the runtime's own prompt
code (prompt_for / summary_target_ids / pad_left), stacked into ONE left-padded batch and run
through the decoder once:

  defect rows    code tokens' states -> bug head: cross-entropy over [no bug, tokens] (the bug's tokens, or
                 the no-bug slot), plus cross-entropy over the repair candidates at the bug's site
  clone rows     two members of one class -> clone head -> in-batch InfoNCE both ways, temperature tau; the
                 classes are a function with its transforms, independently written functions (same name
                 and description, overrides), and a function with its docstring (cross-modal)
  summary rows   prompt + " summary\\n" + EOS -> causal LM loss on the target tokens only
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from codelens.choices import Sampling
from codelens.train.data.dataset import TaskData


def clone_groups(data: TaskData) -> dict[str, list[str]]:
    """Clone classes with at least two distinct members: corpus classes and positive benchmark pairs."""
    groups: dict[str, list[str]] = {}
    for example in data.clone:
        members = groups.setdefault(example.group, [])
        if example.code not in members:
            members.append(example.code)
    from codelens.train.data.independent import INDEPENDENT_KINDS

    for i, pair in enumerate(data.clone_pairs):
        # Transform and independent pairs are already members of their classes above; other positives
        # (a function and its docstring, external benchmark pairs) are classes of two.
        if pair.label == 1 and pair.kind != "transform" and pair.kind not in INDEPENDENT_KINDS and pair.a != pair.b:
            groups[f"{pair.kind}:{i}"] = [pair.a, pair.b]
    return {g: m for g, m in groups.items() if len(m) >= 2}


class TaskSampler:
    """Draws each step's batches from the training split; its whole state is one random.Random."""

    def __init__(self, data: TaskData, tasks: list[str], batch_size: int, seed: int,
                 sampling: Sampling = Sampling.ROUND_ROBIN, temperature: float = 2.0) -> None:
        self.batch_size = batch_size
        self.sampling = sampling
        self.temperature = temperature
        self.rng = random.Random(f"sampler:{seed}")
        # Defect batches are drawn by function: one clean and one buggy version of the same function side
        # by side, so what the gradient sees is the bug, not which function it is. Examples without a
        # partner of the other class (external benchmarks) are drawn one by one.
        by_origin: dict[str, tuple[list, list]] = {}
        for example in data.defect:
            by_origin.setdefault(example.origin, ([], []))[example.label].append(example)
        self.defect_units = [v for v in by_origin.values() if v[0] and v[1]]
        self.defect_units += [([e], []) for v in by_origin.values() if not (v[0] and v[1]) for e in v[0] + v[1]]
        self.defect = list(data.defect)
        self.summary = list(data.summary)
        self.groups = clone_groups(data)
        self.group_names = sorted(self.groups)
        origin_path = {c.group: c.path for c in data.clone}
        self.by_path: dict[str, list[str]] = {}
        for name in self.group_names:
            self.by_path.setdefault(origin_path.get(name, name), []).append(name)
        self.group_path = {name: origin_path.get(name, name) for name in self.group_names}
        sizes = {"defect": len(self.defect), "clone": len(self.group_names), "summary": len(self.summary)}
        self.tasks = [t for t in tasks if sizes[t] > (1 if t == "clone" else 0)]
        self.sizes = {t: sizes[t] for t in self.tasks}

    def next(self) -> list[tuple[str, list]]:
        """The batches of one step, as (task, examples) in a fixed task order."""
        if self.sampling == "round_robin":
            chosen = list(self.tasks)
        else:
            weights = [self.sizes[t] ** (1.0 / self.temperature) for t in self.tasks]
            chosen = sorted(self.rng.choices(self.tasks, weights=weights, k=len(self.tasks)), key=self.tasks.index)
        return [(task, self._batch(task)) for task in chosen]

    def _batch(self, task: str) -> list:
        if task == "defect":
            return self._defect_batch()
        if task == "summary":
            return self.rng.sample(self.summary, min(self.batch_size, len(self.summary)))
        return self._clone_batch()

    def _defect_batch(self) -> list:
        batch: list = []
        units = self.rng.sample(self.defect_units, min(self.batch_size, len(self.defect_units)))
        for first, second in units:
            if len(batch) >= self.batch_size:
                break
            batch.append(self.rng.choice(first))
            if second:
                batch.append(self.rng.choice(second))
        return batch

    def _clone_batch(self) -> list[tuple[str, str]]:
        """(a, b) pairs of distinct classes, batch_size rows in all; about half of the classes come from the
        anchor's own file (hard negatives)."""
        size = min(max(2, self.batch_size // 2), len(self.group_names))
        anchor = self.rng.choice(self.group_names)
        near = [g for g in self.by_path[self.group_path[anchor]] if g != anchor]
        self.rng.shuffle(near)
        chosen = [anchor] + near[: max(0, size // 2 - 1)]
        taken = set(chosen)
        rest = [g for g in self.group_names if g not in taken]
        chosen += self.rng.sample(rest, size - len(chosen))
        pairs = []
        for name in chosen:
            a, b = self.rng.sample(self.groups[name], 2)
            pairs.append((a, b))
        return pairs

    def state(self):
        return self.rng.getstate()

    def set_state(self, state) -> None:
        self.rng.setstate(_as_tuple(state))


def _as_tuple(value):
    """random.Random state read back from a checkpoint, where tuples may have become lists."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


@dataclass
class DefectRow:
    """What the defect head learns from one row: where the bug is (or that there is none), and its repair."""

    row: int
    code: str
    prompt: object
    """The row's ``codelens.model.prompt.Prompt``."""
    sites: list[int]
    """Code-token indices of the bug's site; empty for clean code (the target is the no-bug slot)."""
    buggy: bool
    candidates: list[tuple[int, list[int]]] = field(default_factory=list)
    """The repair head's inputs for each candidate at the site (class, variable token indices)."""
    gold: int = -1
    """Index of the right repair among ``candidates`` (-1: no repair target)."""


@dataclass
class StepInputs:
    """One step's rows, left-padded into a single batch."""

    input_ids: object
    attention_mask: object
    position_ids: object
    labels: object
    """LM labels (-100 outside summary targets), aligned with input_ids."""
    defect: list[DefectRow] = field(default_factory=list)
    clone_a: list[int] = field(default_factory=list)
    clone_b: list[int] = field(default_factory=list)
    has_summary: bool = False
    tokens: int = 0

    def targets(self) -> tuple[int, int, int]:
        """(defect rows, repair targets, summary target tokens): what the three losses average over."""
        repairs = sum(1 for r in self.defect if r.buggy and r.gold >= 0)
        summary = int((self.labels[:, 1:] != -100).sum()) if self.has_summary else 0
        return len(self.defect), repairs, summary


class Encoder:
    """Prompts per code string, computed once (the same code recurs across steps)."""

    def __init__(self, tokenizer, fmt) -> None:
        self.tokenizer, self.fmt = tokenizer, fmt
        self._cache: dict[str, object] = {}

    def prompt(self, code: str):
        """The runtime's prompt of ``code`` (``codelens.model.forward.prompt_for``)."""
        from codelens.model.forward import prompt_for

        prompt = self._cache.get(code)
        if prompt is None:
            prompt = self._cache[code] = prompt_for(self.tokenizer, code, self.fmt)
        return prompt

    def defect_row(self, row: int, example) -> DefectRow | None:
        """The targets of one defect example; None for a buggy one whose site the code cut dropped."""
        from codelens.model.repairs import candidate_inputs, token_indices

        prompt = self.prompt(example.code)
        if not example.label:
            return DefectRow(row, example.code, prompt, [], False)
        if example.site is None:
            return None
        sites = token_indices(example.site[0], example.site[1], prompt.offsets)
        if not sites:
            return None
        out = DefectRow(row, example.code, prompt, sites, True)
        if example.candidates and example.repair in example.candidates:
            text = example.code[example.site[0]:example.site[1]]
            out.candidates = candidate_inputs(example.code, example.site_kind, text, example.candidates,
                                              prompt.offsets)
            out.gold = example.candidates.index(example.repair)
        return out

    def encode(self, batches: list[tuple[str, list]]) -> StepInputs:
        import torch

        from codelens.model.prompt import pad_left, summary_target_ids

        rows: list[list[int]] = []
        labels: list[list[int]] = []
        out = StepInputs(None, None, None, None)

        def add(ids: list[int], target: list[int] | None = None) -> int:
            rows.append(ids + (target or []))
            labels.append([-100] * len(ids) + (target or []))
            return len(rows) - 1

        for task, batch in batches:
            if task == "defect":
                for example in batch:
                    row = self.defect_row(len(rows), example)
                    if row is not None:
                        add(row.prompt.ids)
                        out.defect.append(row)
            elif task == "clone":
                for a, b in batch:
                    out.clone_a.append(add(self.prompt(a).ids))
                    out.clone_b.append(add(self.prompt(b).ids))
            else:
                for example in batch:
                    # Whole targets, newline and EOS included, so the model learns where a summary ends;
                    # the cap only guards against runaway benchmark docstrings.
                    target = summary_target_ids(self.tokenizer, example.summary)[: 4 * self.fmt.max_summary_tokens]
                    add(self.prompt(example.code).ids, target)
                    out.has_summary = True
        if not rows:  # one rank's slice of a step can lose all its rows (input_ids stays None)
            return out
        out.input_ids, out.attention_mask, out.position_ids = pad_left(rows, self.tokenizer.pad_token_id)
        width = out.input_ids.shape[1]
        out.labels = torch.tensor([[-100] * (width - len(row)) + row for row in labels], dtype=torch.long)
        out.tokens = sum(len(r) for r in rows)
        return out


def step_losses(model, heads, inputs: StepInputs, clone_temperature: float, device, autocast, shard=None) -> dict:
    """Loss tensors by task for one encoded step (one forward pass through the decoder).

    ``shard`` (a ``codelens.train.distributed.StepShard``) says that ``inputs`` are one rank's slice of a
    global step. Each loss is then this rank's share: a sum over its rows divided by the whole step's count,
    and the clone loss is taken over every rank's pairs. The shares of all ranks, and their gradients, add up
    to the loss of the whole step in one process.
    """
    import torch
    import torch.nn.functional as F

    from codelens.model.generate import decoder_of
    from codelens.model.heads import pool_hidden

    lm, decoder = decoder_of(model)
    ids, mask, pos = (t.to(device) for t in (inputs.input_ids, inputs.attention_mask, inputs.position_ids))
    hidden = decode_by_length(decoder, ids, mask, pos, autocast)
    losses = {}
    if inputs.defect:
        losses["defect"] = defect_loss(heads, hidden, inputs.defect, device, shard)
    n_clone = len(inputs.clone_a)
    if n_clone:
        index = torch.tensor(inputs.clone_a + inputs.clone_b, device=device)
        emb = heads.embed(pool_hidden(hidden[index], mask[index]))
        a, b = emb[:n_clone], emb[n_clone:]
        clone = info_nce if shard is None else shard.clone_loss
        losses["clone"] = clone(a, b, clone_temperature)
    if inputs.has_summary:
        labels = inputs.labels.to(device)
        # Position i predicts token i + 1: only positions followed by a target token go through the LM head.
        wanted = labels[:, 1:] != -100
        with autocast:
            logits = lm.get_output_embeddings()(hidden[:, :-1][wanted])
        if shard is None:
            losses["summary"] = F.cross_entropy(logits.float(), labels[:, 1:][wanted])
        else:
            total = F.cross_entropy(logits.float(), labels[:, 1:][wanted], reduction="sum")
            losses["summary"] = total / shard.summary_tokens
    return losses


CHUNK_OVERHEAD_TOKENS = 2048
"""What one more decoder call costs, in padded tokens (smaller matmuls, one more pass over the weights)."""


def length_chunks(lengths: list[int], max_chunks: int = 4, overhead: int = CHUNK_OVERHEAD_TOKENS) -> list[list[int]]:
    """Rows (indices into ``lengths``) grouped into at most ``max_chunks`` runs of similar length, the runs
    chosen to minimise the padded tokens decoded plus ``overhead`` per run (dynamic programming over the rows
    sorted longest first: each run is padded to its first row)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    n = len(order)
    inf = float("inf")
    # best[k][j]: cost of the first j sorted rows in k runs; cut[k][j]: where the last run starts
    best = [[inf] * (n + 1) for _ in range(max_chunks + 1)]
    cut = [[0] * (n + 1) for _ in range(max_chunks + 1)]
    best[0][0] = 0.0
    for k in range(1, max_chunks + 1):
        for j in range(1, n + 1):
            for i in range(k - 1, j):
                cost = best[k - 1][i] + (j - i) * lengths[order[i]] + overhead
                if cost < best[k][j]:
                    best[k][j], cut[k][j] = cost, i
    k = min(range(1, max_chunks + 1), key=lambda c: best[c][n]) if n else 0
    runs, j = [], n
    while k > 0:
        i = cut[k][j]
        runs.append(order[i:j])
        j, k = i, k - 1
    return runs[::-1]


def decode_by_length(decoder, ids, mask, pos, autocast):
    """The decoder's last hidden states of a left-padded batch, as one call would give them, computed in
    runs of rows of similar length so that short rows are not padded to the longest (a batch of functions
    is mostly short ones: about half the positions of one padded call are padding)."""
    import torch
    import torch.nn.functional as F

    lengths = mask.sum(dim=1).tolist()
    runs = length_chunks(lengths)
    width = ids.shape[1]
    if len(runs) <= 1:
        with autocast:
            return decoder(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).last_hidden_state
    parts, order = [], []
    for rows in runs:
        keep = max(lengths[r] for r in rows)
        index = torch.tensor(rows, device=ids.device)
        with autocast:
            states = decoder(input_ids=ids[index, width - keep:], attention_mask=mask[index, width - keep:],
                             position_ids=pos[index, width - keep:], use_cache=False).last_hidden_state
        parts.append(F.pad(states, (0, 0, width - keep, 0)))  # back to the batch's left padding
        order += rows
    inverse = torch.empty(len(order), dtype=torch.long, device=ids.device)
    inverse[torch.tensor(order, device=ids.device)] = torch.arange(len(order), device=ids.device)
    return torch.cat(parts)[inverse]


def info_nce(a, b, temperature: float):
    """In-batch InfoNCE both ways between the pairs (a[i], b[i]): every other row is a negative."""
    import torch
    import torch.nn.functional as F

    sims = a @ b.T / temperature
    arange = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(sims, arange) + F.cross_entropy(sims.T, arange)) / 2


def defect_loss(heads, hidden, rows: list[DefectRow], device, shard=None):
    """Localisation (the bug's tokens, or the no-bug slot) plus repair (the right candidate at the right site),
    both cross-entropies, averaged over the rows that have each target (of the whole step, with ``shard``)."""
    import torch
    import torch.nn.functional as F

    from codelens.model.heads import defect_inputs

    index = torch.tensor([r.row for r in rows], device=device)
    inputs = defect_inputs([r.code for r in rows], [r.prompt for r in rows], hidden.shape[1], device)
    logits, states = heads.bug(hidden[index], inputs.code_mask, inputs.relations)
    log_probs = F.log_softmax(logits, dim=-1)
    site_terms, queries, gold = [], [], []
    for i, (r, start) in enumerate(zip(rows, inputs.starts)):
        if not r.buggy:
            site_terms.append(-log_probs[i, 0])
            continue
        positions = [start + t for t in r.sites]
        site_terms.append(-torch.logsumexp(log_probs[i, torch.tensor(positions, device=device) + 1], dim=0))
        if r.gold >= 0:
            queries.append((i, positions, [(cls, [start + t for t in tokens]) for cls, tokens in r.candidates]))
            gold.append(r.gold)
    if shard is None:
        loss = torch.stack(site_terms).mean()
    else:
        loss = torch.stack(site_terms).sum() / shard.defect_rows
    if queries:
        scores = heads.bug.repair_logits(states, queries)
        gold_index = torch.tensor(gold, device=device)
        if shard is None:
            loss = loss + F.cross_entropy(scores, gold_index)
        else:
            loss = loss + F.cross_entropy(scores, gold_index, reduction="sum") / shard.repair_targets
    return loss


def lr_at(step: int, max_steps: int, warmup: int, peak: float, floor: float = 0.1) -> float:
    """Linear warm-up to ``peak``, then cosine decay to ``floor * peak`` at ``max_steps``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, max_steps - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
