"""Task heads over the decoder's states, shared by runtime and training.

    clone   pooled state (mean + last token) -> projection -> L2-normalised embedding
    defect  every code token's state -> a small bidirectional block -> one logit per token (the bug is
            here) plus one "no bug" logit; function score = 1 - P(no bug). A repair head then scores
            what could stand at the chosen site (another variable of the function, an operator, ...).

A decoder's token cannot see the code to its right, where a misused variable shows itself; the block
lets every site read the whole function, and an optional bias ties tokens of the same name together
(GREAT's idea, with names standing in for data-flow edges).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import torch
from torch import nn

from codelens.model.repairs import REPAIR_CLASSES

RELATIONS = 2
"""Token relations the block may bias attention with: same occurrence of a word, same name elsewhere."""
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


@dataclass
class BugHeadConfig:
    """Size and shape of the defect block (stored in codelens.json)."""

    width: int = 256
    """Width of the bidirectional block (the decoder's states are projected to it)."""
    layers: int = 2
    """Bidirectional layers over the code tokens."""
    heads: int = 4
    """Attention heads per layer."""
    relation_bias: bool = True
    """Bias attention between tokens of the same name (learned per head and relation)."""

    @classmethod
    def from_dict(cls, data: dict | None) -> "BugHeadConfig":
        return cls(**(data or {}))

    def to_dict(self) -> dict:
        return asdict(self)


def pool_hidden(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Concatenate the masked mean and the last real token's state: (batch, 2 * hidden), float32.

    Works for left and right padding: the last real token is the last position whose mask is 1.
    """
    mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
    hidden = hidden.float()
    mask = mask.float()
    mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    last_idx = (attention_mask.long() * positions).argmax(dim=1)
    last = hidden[torch.arange(hidden.shape[0], device=hidden.device), last_idx]
    return torch.cat([mean, last], dim=-1)


def word_relations(code: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(relation, i, j) between code tokens i != j: 0 = parts of one word, 1 = words of the same name."""
    word_of: list[tuple[int, str] | None] = []
    spans = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(code)]
    k = 0
    for start, end in offsets:
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        word_of.append((k, spans[k][2]) if k < len(spans) and spans[k][0] < end else None)
    by_name: dict[str, list[int]] = {}
    for i, word in enumerate(word_of):
        if word is not None:
            by_name.setdefault(word[1], []).append(i)
    out = []
    for members in by_name.values():
        if len(members) < 2 or len(members) > 64:  # a name on every line says little and costs T^2
            continue
        for i in members:
            for j in members:
                if i != j:
                    out.append((0 if word_of[i][0] == word_of[j][0] else 1, i, j))
    return out


@dataclass
class DefectInputs:
    """What the defect head reads of a left-padded batch besides the decoder's states."""

    starts: list[int]
    """Each row's first code position in the batch (left padding shifts every row)."""
    code_mask: torch.Tensor
    """(B, T): 1 at code tokens."""
    relations: list[list[tuple[int, int, int]]]
    """Each row's ``word_relations`` in batch positions."""


def defect_inputs(codes: list[str], prompts: list, width: int, device) -> DefectInputs:
    """The defect head's inputs for prompts (``codelens.model.prompt.Prompt``) of ``codes`` left-padded to
    ``width``: the one construction scanning, evaluation and the training loss share."""
    starts = [width - len(p.ids) + p.code_start for p in prompts]
    code_mask = torch.zeros(len(prompts), width, dtype=torch.long, device=device)
    for row, (start, prompt) in enumerate(zip(starts, prompts)):
        code_mask[row, start:start + len(prompt.offsets)] = 1
    relations = [[(r, start + i, start + j) for r, i, j in word_relations(code, prompt.offsets)]
                 for code, prompt, start in zip(codes, prompts, starts)]
    return DefectInputs(starts, code_mask, relations)


class _Layer(nn.Module):
    """Pre-norm bidirectional transformer layer with an additive attention bias."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ffn = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        attn = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.out(attn.transpose(1, 2).reshape(b, t, w))
        return x + self.ffn(self.norm2(x))


class BugHead(nn.Module):
    """Where is the bug (a token, or nowhere), and what mends it."""

    def __init__(self, hidden: int, config: BugHeadConfig) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.project = nn.Linear(hidden, width)
        self.nobug = nn.Parameter(torch.zeros(width))
        self.layers = nn.ModuleList(_Layer(width, config.heads) for _ in range(config.layers))
        self.relation = nn.Parameter(torch.zeros(config.layers, RELATIONS, config.heads))
        self.site = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 1))
        self.classes = nn.Embedding(len(REPAIR_CLASSES), width)
        self.repair = nn.Sequential(nn.Linear(3 * width, width), nn.GELU(), nn.Linear(width, 1))

    def forward(self, hidden: torch.Tensor, code_mask: torch.Tensor,
                relations: list[list[tuple[int, int, int]]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits over [no bug, position 0, ..., T-1] of shape (B, 1 + T), block states (B, 1 + T, width)).

        ``code_mask`` (B, T) is 1 at code tokens: only they can be a site, and only they (and the no-bug
        slot) take part in the block. ``relations`` lists (relation, i, j) per row, i and j positions in T.
        """
        b, t, _ = hidden.shape
        x = self.project(hidden.float())
        x = torch.cat([self.nobug.expand(b, 1, -1), x], dim=1)
        keep = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), code_mask.bool()], dim=1)
        base = torch.zeros(b, 1, 1 + t, 1 + t, device=x.device)
        base = base.masked_fill(~keep[:, None, None, :], float("-inf"))
        index = None
        if relations is not None and self.config.relation_bias and any(relations):
            index = torch.tensor([(row, r, i + 1, j + 1) for row, rel in enumerate(relations) for r, i, j in rel],
                                 dtype=torch.long, device=x.device)
        for depth, layer in enumerate(self.layers):
            bias = base.expand(b, self.config.heads, 1 + t, 1 + t)
            if index is not None:
                bias = bias.clone()
                # one learned number per (relation, head), added where two tokens are related
                bias[index[:, 0], :, index[:, 2], index[:, 3]] += self.relation[depth][index[:, 1]]
            x = layer(x, bias)
        logits = self.site(x).squeeze(-1)
        logits = logits.masked_fill(~keep, float("-inf"))
        return logits, x

    def repair_logits(self, states: torch.Tensor, queries: list[tuple[int, list[int], list[tuple[int, list[int]]]]]
                      ) -> torch.Tensor:
        """Scores of the candidate repairs at one site of each of several functions, in one pass.

        ``states``: block states (N, 1 + T, width); each query is (row of ``states``, positions in T of the
        site's tokens, candidates as (repair class, positions in T of the variable it names, or [])).
        Returns (len(queries), most candidates) scores, -inf where a query has fewer candidates.
        """
        device = states.device
        flat = states.reshape(-1, states.shape[-1])
        stride = states.shape[1]
        # Every site and every variable candidate is the mean of some token states: one gather and one
        # index_add over all of them, instead of a small matmul per candidate.
        pick, group = [], []
        sizes = []
        for q, (row, site, _) in enumerate(queries):
            pick += [row * stride + p + 1 for p in site]
            group += [q] * len(site)
        n_sites = len(queries)
        cand_meta = []
        for q, (row, _, candidates) in enumerate(queries):
            for cls, positions in candidates:
                slot = n_sites + len(cand_meta)
                cand_meta.append((q, cls, bool(positions)))
                pick += [row * stride + p + 1 for p in positions]
                group += [slot] * len(positions)
            sizes.append(len(candidates))
        sums = torch.zeros(n_sites + len(cand_meta), flat.shape[-1], device=device, dtype=flat.dtype)
        counts = torch.zeros(n_sites + len(cand_meta), 1, device=device, dtype=flat.dtype)
        if pick:
            index = torch.tensor(group, device=device)
            sums = sums.index_add(0, index, flat[torch.tensor(pick, device=device)])
            counts = counts.index_add(0, index, torch.ones(len(pick), 1, device=device, dtype=flat.dtype))
        means = sums / counts.clamp(min=1)
        sites = means[:n_sites]
        owner = torch.tensor([q for q, _, _ in cand_meta], device=device, dtype=torch.long)
        classes = self.classes(torch.tensor([cls for _, cls, _ in cand_meta], device=device, dtype=torch.long))
        pointed = torch.tensor([p for _, _, p in cand_meta], device=device, dtype=torch.bool)[:, None]
        cand = torch.where(pointed, means[n_sites:], classes)
        here = sites[owner]
        scores = self.repair(torch.cat([here, cand, here * cand], dim=-1)).squeeze(-1)
        out = torch.full((len(queries), max(sizes, default=0)), float("-inf"), device=device, dtype=scores.dtype)
        column = torch.tensor([i for n in sizes for i in range(n)], device=device, dtype=torch.long)
        out[owner, column] = scores
        return out


class TaskHeads(nn.Module):
    """Clone projector over the pooled state, and the defect (site + repair) head over token states."""

    @classmethod
    def for_adapter(cls, meta) -> "TaskHeads":
        """The heads an adapter's codelens.json describes (``AdapterMetadata``)."""
        return cls(meta.pooled_dim // 2, meta.head_hidden, meta.clone_dim, BugHeadConfig.from_dict(meta.bug_head))

    def __init__(self, hidden: int, head_hidden: int = 256, clone_dim: int = 128,
                 bug: BugHeadConfig | None = None) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(2 * hidden)
        self.clone = nn.Sequential(nn.Linear(2 * hidden, head_hidden), nn.GELU(), nn.Linear(head_hidden, clone_dim))
        self.bug = BugHead(hidden, bug or BugHeadConfig())

    def embed(self, pooled: torch.Tensor) -> torch.Tensor:
        """L2-normalised clone embeddings (batch, clone_dim) of pooled states (batch, 2 * hidden)."""
        return nn.functional.normalize(self.clone(self.norm(pooled.float())), dim=-1)


def bug_log_odds(logits: torch.Tensor) -> torch.Tensor:
    """log P(bug) / P(no bug) per row of site logits (B, 1 + T): the defect logit the calibration scales."""
    return torch.logsumexp(logits[:, 1:], dim=-1) - logits[:, 0]
