"""Task heads: pooled backbone features -> task outputs."""

from __future__ import annotations

from torch import Tensor, nn


class ClassificationHead(nn.Module):
    """Dropout + linear layer over pooled features (sequence and image classification)."""

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(in_features, num_classes)

    def forward(self, features: Tensor) -> Tensor:
        return self.proj(self.dropout(features))
