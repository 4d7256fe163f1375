"""Tokenized splits kept on disk, so the jobs of a sweep that share data and tokenizer tokenize once.

A sweep over seeds, strategies or learning rates tokenizes the same texts with the same tokenizer
in every job: seconds for Amazon reviews, minutes for GLUE-size data. The first job writes each
split here; the others read it back. The key covers everything the token ids depend on: the
tokenizer's full serialization (vocabulary, normalizer, special-token template), its class and
the transformers version, `max_length`, and the texts themselves, so a changed input never
meets a stale entry. Files are written whole and renamed into place, so parallel jobs (joblib,
SLURM on a shared disk) at worst tokenize twice. Each file carries its key and a checksum
(bakeoff.utils.sealed): a damaged, truncated or swapped file is one warning, then tokenized again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = "bakeoff-tokens-2"  # bump when the file layout changes
# word_ids: for texts given as words (token tasks), each token's word number, -1 for special tokens
KEYS = ("input_ids", "attention_mask", "token_type_ids", "word_ids")


def cache_key(
    tokenizer,
    texts: Sequence[str],
    second: Sequence[str] | None,
    max_length: int | None,
    words: bool = False,
) -> str | None:
    """Hex digest naming this tokenization, or None when the tokenizer cannot be fingerprinted."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow (pure Python) tokenizer has no complete serialization
        return None
    import transformers

    h = hashlib.sha256()
    parts = (FORMAT, type(tokenizer).__name__, transformers.__version__, str(max_length))
    for part in parts + (("words",) if words else ()):
        h.update(part.encode() + b"\0")
    # Truncation and padding are per-call state that the wrapper sets on the backend before
    # each call and leaves there; this call's own settings are `max_length` above. Cleared, so
    # they do not enter the key (the next call sets what it needs again).
    backend.no_truncation()
    backend.no_padding()
    h.update(backend.to_str().encode() + b"\0")
    for seq in (texts, second):
        if seq is None:
            h.update(b"<none>\0")
            continue
        h.update(f"{len(seq)}\0".encode())
        h.update("\x1f".join(map(str, seq)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def tokenize(
    tokenizer,
    texts: Sequence[str],
    second: Sequence[str] | None,
    max_length: int | None,
    cache_dir: str | os.PathLike | None,
    words: bool = False,
) -> tuple[dict[str, list[list[int]]], bool]:
    """Token ids per example (`KEYS` the tokenizer gives), and whether they came from the cache.

    `words`: each text is a list of words (token tasks); the result then has `word_ids`.
    """
    key = cache_key(tokenizer, texts, second, max_length, words) if cache_dir else None
    path = Path(cache_dir) / f"{key}.npz" if key and cache_dir else None
    if path is not None and key is not None and path.exists():
        cached = _read(path, key)
        if cached is not None and all(len(v) == len(texts) for v in cached.values()):
            return cached, True
    enc = tokenizer(
        [list(t) for t in texts] if words else list(texts),
        second,
        truncation=max_length is not None,
        max_length=max_length,
        is_split_into_words=words,
    )
    out = {k: enc[k] for k in KEYS if k in enc}
    if words:
        out["word_ids"] = [
            [-1 if w is None else w for w in enc.word_ids(i)] for i in range(len(texts))
        ]
    if path is not None and key is not None:
        _write(path, key, out)
    return out, False


def _parse(payload: bytes) -> dict[str, list[list[int]]]:
    import io

    with np.load(io.BytesIO(payload)) as z:
        out = {}
        for k in KEYS:
            if f"{k}.flat" in z:
                flat, ends = z[f"{k}.flat"].tolist(), z[f"{k}.ends"].tolist()
                out[k] = [flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    if not out:
        raise ValueError("no token ids inside")
    return out


def _read(path: Path, key: str) -> dict[str, list[list[int]]] | None:
    """The entry, or None after one warning naming the file (then tokenized again, overwritten)."""
    from bakeoff.utils.sealed import read_sealed

    return read_sealed(path, key, "token cache", _parse)


def _write(path: Path, key: str, enc: dict[str, list[list[int]]]) -> None:
    import io

    from bakeoff.utils.sealed import write_sealed

    arrays: dict[str, Any] = {}
    for k, rows in enc.items():
        arrays[f"{k}.flat"] = np.fromiter(
            (t for row in rows for t in row), dtype=np.int32, count=sum(map(len, rows))
        )
        arrays[f"{k}.ends"] = np.cumsum([len(r) for r in rows], dtype=np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_sealed(path, key, buf.getvalue(), "token cache")
