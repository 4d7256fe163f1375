"""Heads the tasks build: features (pooled per example, or per token) -> task outputs."""

from __future__ import annotations

from torch import Tensor, nn


class LinearHead(nn.Module):
    """Dropout + one linear layer: classes, a scalar, or labels; per example or per token."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(in_features, out_features)

    def forward(self, features: Tensor) -> Tensor:
        return self.proj(self.dropout(features))
