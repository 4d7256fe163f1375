"""The token cache: a sweep's later jobs read tokenized splits back, never stale ones."""

from __future__ import annotations

import logging

import pytest

from bakeoff.data.token_cache import tokenize

TEXTS = ["a short review", "a much longer review of a tin of tea, which was stale", "ok"]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from bakeoff.models.packaged import hf_local_path

    return AutoTokenizer.from_pretrained(hf_local_path("sentence-transformers/all-MiniLM-L6-v2"))


def test_second_call_reads_what_the_first_wrote(tokenizer, tmp_path):
    first, hit1 = tokenize(tokenizer, TEXTS, None, 8, tmp_path)
    second, hit2 = tokenize(tokenizer, TEXTS, None, 8, tmp_path)
    assert (hit1, hit2) == (False, True)
    assert second == first
    direct = tokenizer(TEXTS, truncation=True, max_length=8)
    assert second["input_ids"] == direct["input_ids"]
    assert max(len(ids) for ids in second["input_ids"]) == 8  # truncated as asked
    assert len(list(tmp_path.glob("*.npz"))) == 1


def test_any_change_of_input_misses(tokenizer, tmp_path):
    tokenize(tokenizer, TEXTS, None, 8, tmp_path)
    _, other_length = tokenize(tokenizer, TEXTS, None, 16, tmp_path)
    _, other_text = tokenize(tokenizer, [*TEXTS[:2], "OK"], None, 8, tmp_path)
    pairs, other_pairs = tokenize(tokenizer, TEXTS, ["x", "y", "z"], 8, tmp_path)
    assert not (other_length or other_text or other_pairs)
    assert pairs["token_type_ids"][0][-2] == 1  # the second segment is there
    assert len(list(tmp_path.glob("*.npz"))) == 4


def test_unreadable_entry_is_tokenized_again(tokenizer, tmp_path, caplog):
    expected, _ = tokenize(tokenizer, TEXTS, None, 8, tmp_path)
    (entry,) = tmp_path.glob("*.npz")
    entry.write_bytes(b"not a numpy file")
    with caplog.at_level(logging.WARNING):
        again, hit = tokenize(tokenizer, TEXTS, None, 8, tmp_path)
    assert not hit and again == expected
    assert "unreadable" in caplog.text
    assert tokenize(tokenizer, TEXTS, None, 8, tmp_path)[1]  # rewritten whole


def test_no_cache_dir_writes_nothing(tokenizer, tmp_path):
    _, hit = tokenize(tokenizer, TEXTS, None, 8, None)
    assert not hit and not list(tmp_path.iterdir())


def test_data_module_reuses_splits(tiny_cfg):
    from bakeoff.runs.assembly import build_data
    from bakeoff.utils.build import build

    cfg = tiny_cfg()
    sizes, cached = [], []
    for _ in range(2):
        backbone = build(cfg.model.backbone)
        dm = build_data(cfg, backbone.preprocessing())
        dm.setup("fit")
        sizes.append(dm.sizes())
        cached.append(dm.cached_splits)
    assert cached == [0, 3] and sizes[0] == sizes[1]
    assert dm.datasets["train"].encodings["input_ids"][0][0] == 101  # [CLS]


def test_a_changed_tokenizer_misses(tokenizer, tmp_path):
    """Same class, texts and max_length, another vocabulary: the old entry is not read back."""
    import copy

    before, _ = tokenize(tokenizer, TEXTS, None, 16, tmp_path)
    changed = copy.deepcopy(tokenizer)
    assert changed.add_tokens(["tin of tea"]) == 1  # one more vocabulary entry, in TEXTS[1]
    new_id = changed.convert_tokens_to_ids("tin of tea")
    assert new_id == tokenizer.vocab_size
    after, hit = tokenize(changed, TEXTS, None, 16, tmp_path)
    assert not hit
    assert after["input_ids"] == changed(TEXTS, truncation=True, max_length=16)["input_ids"]
    assert new_id in after["input_ids"][1] and new_id not in before["input_ids"][1]
    assert len(list(tmp_path.glob("*.npz"))) == 2
    # and the unchanged tokenizer still reads its own entry
    assert tokenize(tokenizer, TEXTS, None, 16, tmp_path) == (before, True)
