"""Rank backbones before fine-tuning: transferability scores on frozen, cached features.

`bakeoff-rank` (app/rank.py) ranks the backbones of a data set by LogME, a kNN and a linear probe
(scores.py, logme.py) on features computed once through the feature cache (features.py);
`--against` scores each score on a finished comparison (against.py); `screen` keeps the top K
configurations for a sweeper (ranking.py). docs/ranking.md says when a score helps.
"""

from __future__ import annotations

from typing import Any


def screen(configurations: Any, score: str = "logme", top_k: int = 3) -> Any:
    """See `bakeoff.rank.ranking.screen`."""
    from bakeoff.rank.ranking import screen as _screen

    return _screen(configurations, score=score, top_k=top_k)
