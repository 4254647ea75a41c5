"""Task heads over the pooled hidden state, and the pooling itself. Shared by runtime and training."""

from __future__ import annotations

import torch
from torch import nn


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


class TaskHeads(nn.Module):
    """Defect classifier and clone projector; both read the same pooled state."""

    def __init__(self, pooled_dim: int, head_hidden: int = 256, clone_dim: int = 128) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(pooled_dim)
        self.defect = nn.Sequential(nn.Linear(pooled_dim, head_hidden), nn.GELU(), nn.Linear(head_hidden, 1))
        self.clone = nn.Sequential(nn.Linear(pooled_dim, head_hidden), nn.GELU(), nn.Linear(head_hidden, clone_dim))

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (defect logits (batch,), L2-normalised clone embeddings (batch, clone_dim))."""
        x = self.norm(pooled.float())
        logits = self.defect(x).squeeze(-1)
        emb = nn.functional.normalize(self.clone(x), dim=-1)
        return logits, emb
