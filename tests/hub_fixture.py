"""A Hugging Face hub cache laid out on disk, offline: tiny random-weight models under the real hub
ids that conf/model/*.yaml name, with their real architectures and tokenizer formats.

`build_hub_cache(root)` writes `<root>/hub/models--<org>--<name>/{refs/main, snapshots/<rev>/...}`,
the layout huggingface_hub reads with `HF_HUB_OFFLINE=1` (`HF_HOME=<root>`, `HF_HUB_CACHE=<root>/hub`):

- `bert-base-uncased`, `bert-base-cased`, `distilbert-base-uncased`: WordPiece (`vocab.txt` and
  the fast tokenizer's `tokenizer.json`, uncased or cased as the real ones);
- `roberta-base`: byte-level BPE trained here with the `tokenizers` library (`vocab.json`,
  `merges.txt`, `tokenizer.json`), the `<s> A </s></s> B </s>` pair template;
- `microsoft/deberta-v3-base`: a SentencePiece Unigram tokenizer (`tokenizer.json`, trained here);
- timm's `timm/<model>.<tag>` repos of the timm configs (`add_timm_models`: `model.safetensors`
  + `config.json` with the `pretrained_cfg`), random weights of the real architecture at its
  full size: `timm.create_model(name, pretrained=True)` resolves the id from its pretrained_cfg
  (`hf_hub_id`) and loads the checkpoint into the default-size model.
"""

from __future__ import annotations

import json
from pathlib import Path

REVISION = "0" * 40  # the snapshot's commit hash (refs/main points at it)
WORDS = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "it",
    "this",
    "that",
    "was",
    "for",
    "on",
    "with",
    "as",
    "but",
    "not",
    "very",
    "good",
    "bad",
    "great",
    "tea",
    "coffee",
    "taste",
    "flavor",
    "product",
    "review",
    "stale",
    "fresh",
    "box",
    "tin",
    "cup",
    "one",
    "two",
    "love",
    "hate",
    "ok",
    "fine",
    "sentence",
    "pair",
    "entails",
    "does",
    "first",
    "second",
    "movie",
    "film",
]
CORPUS = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] * 4
TEXT_MODELS = {
    "bert-base-uncased": ("bert", True),
    "bert-base-cased": ("bert", False),
    "distilbert-base-uncased": ("distilbert", True),
    "roberta-base": ("roberta", False),
    "microsoft/deberta-v3-base": ("deberta-v2", False),
}
SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def snapshot(hub: Path, repo_id: str) -> Path:
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    path = repo / "snapshots" / REVISION
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wordpiece(lowercase: bool):
    """A BERT WordPiece tokenizer (its normalizer, pre-tokenizer and [CLS] A [SEP] B [SEP])."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = WORDS + ([] if lowercase else [w.capitalize() for w in WORDS])
    chars = "abcdefghijklmnopqrstuvwxyz" + ("" if lowercase else "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    vocab = specials + sorted(set(words)) + list(chars + ".,!?'") + [f"##{c}" for c in chars]
    ids = {token: i for i, token in enumerate(dict.fromkeys(vocab))}
    tok = Tokenizer(models.WordPiece(vocab=ids, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece()
    return BertTokenizerFast(
        tokenizer_object=tok,
        do_lower_case=lowercase,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
    )


def _byte_level_bpe():
    """RoBERTa's byte-level BPE, trained here; <s> A </s></s> B </s> for pairs."""
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import RobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=specials)
    tok = bpe._tokenizer
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>"))
    )
    return RobertaTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


def _unigram():
    from tokenizers import SentencePieceUnigramTokenizer
    from transformers import DebertaV2TokenizerFast

    specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    sp = SentencePieceUnigramTokenizer()
    sp.train_from_iterator(CORPUS, vocab_size=300, special_tokens=specials, unk_token="[UNK]")
    from tokenizers.processors import TemplateProcessing

    sp.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[(t, sp.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    return DebertaV2TokenizerFast(
        tokenizer_object=sp,
        bos_token="[CLS]",
        eos_token="[SEP]",
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
    )


def _text_model(hub: Path, repo_id: str, kind: str, lowercase: bool) -> None:
    import torch
    from transformers import AutoConfig, AutoModel

    tokenizer = {
        "bert": lambda: _wordpiece(lowercase),
        "distilbert": lambda: _wordpiece(lowercase),
        "roberta": _byte_level_bpe,
        "deberta-v2": _unigram,
    }[kind]()
    if kind == "distilbert":
        from transformers import DistilBertTokenizerFast

        tokenizer = DistilBertTokenizerFast(
            tokenizer_object=tokenizer.backend_tokenizer, do_lower_case=lowercase
        )
    size = dict(SMALL)
    if kind == "distilbert":
        size = dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    extra = {"pad_token_id": tokenizer.pad_token_id}
    if kind == "roberta":
        extra.update(bos_token_id=0, eos_token_id=2, type_vocab_size=1)
    config = AutoConfig.for_model(
        kind, vocab_size=len(tokenizer), max_position_embeddings=130, **size, **extra
    )
    torch.manual_seed(0)
    model = AutoModel.from_config(config)
    path = snapshot(hub, repo_id)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


# the timm architectures of conf/model/{resnet50,vit_b16,convnext_tiny,efficientnet_b0}.yaml
TIMM_MODELS = ("resnet50", "vit_base_patch16_224", "convnext_tiny", "efficientnet_b0")


def timm_repo(model_name: str) -> tuple[str, str]:
    """(timm architecture, hub repo id) that timm's `create_model(name, pretrained=True)` reads."""
    import timm

    model = timm.create_model(model_name, pretrained=False)
    cfg = model.pretrained_cfg
    return cfg["architecture"], cfg["hf_hub_id"]


def _timm_model(hub: Path, model_name: str, small: dict) -> None:
    import timm
    import torch
    from safetensors.torch import save_file

    arch, repo_id = timm_repo(model_name)
    torch.manual_seed(0)
    model = timm.create_model(model_name, pretrained=False, **small)
    path = snapshot(hub, repo_id)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path / "model.safetensors"))
    config = {
        "architecture": arch,
        "num_classes": model.num_classes,
        "num_features": model.num_features,
        "pretrained_cfg": {k: v for k, v in model.pretrained_cfg.items() if _plain(v)},
        "model_args": small,
    }
    (path / "config.json").write_text(json.dumps(config, indent=2))


def _plain(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, tuple))


def build_hub_cache(root: Path) -> Path:
    """Lay out the text models' cache under `root`; returns the hub dir (HF_HUB_CACHE)."""
    hub = Path(root) / "hub"
    for repo_id, (kind, lowercase) in TEXT_MODELS.items():
        _text_model(hub, repo_id, kind, lowercase)
    return hub


def add_timm_models(hub: Path, names) -> None:
    """timm's hub repos (`timm/<arch>.<tag>`, the id its pretrained_cfg names) of `names`."""
    for name in names:
        _timm_model(hub, name, {})
